#include "planner/compose.h"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "query/error.h"
#include "query/printer.h"

namespace pivot::planner {

using query::Expr;
using query::ExprPtr;

bool contains_aggregate(const Expr& e) {
  if (e.kind == Expr::Kind::kAggregate) return true;
  for (const ExprPtr& a : e.args) {
    if (a && contains_aggregate(*a)) return true;
  }
  return false;
}

bool aggregates(const query::Query& q) {
  for (const auto& item : q.select) {
    if (contains_aggregate(*item.expr)) return true;
  }
  return false;
}

namespace {

// Counts an expression's nodes as a tree, each shared node once per use,
// visiting each distinct node once.
class SizeCounter {
 public:
  uint64_t size(const ExprPtr& e) {
    if (!e) return 0;
    if (e->args.empty()) return 1;
    auto [it, fresh] = memo_.try_emplace(e.get(), 0);
    if (!fresh) return it->second;
    uint64_t n = 1;
    for (const ExprPtr& a : e->args) n = add(n, size(a));
    memo_[e.get()] = n;  // `it` may have moved while the arguments were counted
    return n;
  }
  static uint64_t add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

 private:
  std::unordered_map<const Expr*, uint64_t> memo_;
};

}  // namespace

uint64_t query_size(const query::Query& q) {
  SizeCounter c;
  uint64_t n = 1 + q.joins.size();  // the variables
  n = SizeCounter::add(n, c.size(q.where));
  for (const auto& l : q.lets) n = SizeCounter::add(n, c.size(l.expr));
  for (const auto& g : q.group_by) n = SizeCounter::add(n, c.size(g));
  for (const auto& s : q.select) n = SizeCounter::add(n, c.size(s.expr));
  for (const auto& o : q.order_by) n = SizeCounter::add(n, c.size(o.expr));
  return n;
}

namespace {

// Rewritten nodes by original, so that a subtree shared by several uses
// is rewritten once and stays shared (composition would otherwise copy it
// at each use, and the copies double at every level of a chain).
// Each entry keeps its original alive, so that no later node can take its
// address while the memo is in use.
using RewriteMemo = std::unordered_map<const Expr*, std::pair<ExprPtr, ExprPtr>>;

// Rewrites an expression bottom-up; `f` returns a replacement or null.
ExprPtr rewrite(const ExprPtr& e, RewriteMemo& memo, const std::function<ExprPtr(const Expr&)>& f) {
  if (!e) return e;
  if (ExprPtr r = f(*e)) return r;
  if (e->args.empty()) return e;
  if (auto it = memo.find(e.get()); it != memo.end()) return it->second.second;
  auto copy = std::make_shared<Expr>(*e);
  for (ExprPtr& a : copy->args) a = rewrite(a, memo, f);
  memo[e.get()] = {e, copy};
  return copy;
}

ExprPtr conjoin(const ExprPtr& a, const ExprPtr& b) {
  if (!a) return b;
  if (!b) return a;
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kBinary;
  e->op = query::Op::kAnd;
  e->pos = a->pos;
  e->op_pos = b->pos;
  e->args = {a, b};
  return e;
}

struct Output {
  std::string name;
  ExprPtr expr;
};

struct Flattened {
  query::Query query;
  std::vector<Output> outputs;  // only for non-aggregating queries
};

std::string output_name(const query::SelectItem& item) {
  if (!item.alias.empty()) return item.alias;
  if (item.expr->kind == Expr::Kind::kField) return item.expr->field;
  return "";
}

// Gives the source query's variables and Let names fresh names in `q`.
query::Query rename_apart(const query::Query& src, const std::string& prefix, std::set<std::string>& taken) {
  std::map<std::string, std::string> vars, lets;
  auto fresh = [&](const std::string& name) {
    std::string n = taken.count(name) ? prefix + "_" + name : name;
    for (int i = 2; taken.count(n); ++i) n = prefix + "_" + name + std::to_string(i);
    taken.insert(n);
    return n;
  };
  vars[src.var] = fresh(src.var);
  for (const auto& j : src.joins) vars[j.var] = fresh(j.var);
  for (const auto& l : src.lets) lets[l.name] = fresh(l.name);
  RewriteMemo memo;
  auto fix = [&](const ExprPtr& e) {
    return rewrite(e, memo, [&](const Expr& x) -> ExprPtr {
      if (x.kind == Expr::Kind::kField && vars.count(x.var)) {
        auto c = std::make_shared<Expr>(x);
        c->var = vars[x.var];
        return c;
      }
      if (x.kind == Expr::Kind::kName && lets.count(x.name)) {
        auto c = std::make_shared<Expr>(x);
        c->name = lets[x.name];
        return c;
      }
      return nullptr;
    });
  };
  query::Query out = src;
  out.var = vars[src.var];
  for (auto& j : out.joins) {
    j.var = vars[j.var];
    if (vars.count(j.before)) j.before = vars[j.before];
    if (vars.count(j.after)) j.after = vars[j.after];
  }
  out.where = fix(src.where);
  for (auto& l : out.lets) {
    l.name = lets[l.name];
    l.expr = fix(l.expr);
  }
  for (auto& g : out.group_by) g = fix(g);
  for (auto& s : out.select) s.expr = fix(s.expr);
  return out;
}

class Flattener {
 public:
  Flattener(const query::Program& p, const Catalog& c) : program_(p), catalog_(c) {}

  Result<std::vector<FlatQuery>> run() {
    std::vector<FlatQuery> out;
    int index = 0;
    for (const query::Query& q : program_.queries) {
      ++index;
      if (!q.name.empty() && catalog_.find(q.name)) {
        return query::make_error(program_.text, q.pos,
                                 "query name '" + q.name + "' is also a tracepoint; choose another name");
      }
      std::string label = q.name.empty() ? "q" + std::to_string(index) : q.name;
      auto flat = flatten_one(q, label);
      if (!flat) return flat.error();
      if (!q.name.empty()) done_[q.name] = *flat;
      out.push_back({label, flat->query});
    }
    return out;
  }

 private:
  // Which source of `q` names an earlier query, if any.
  const Flattened* query_source(const query::Source& s) const {
    if (s.is_union || s.names.size() != 1) return nullptr;
    auto it = done_.find(s.names[0]);
    return it == done_.end() ? nullptr : &it->second;
  }

  Result<Flattened> flatten_one(const query::Query& q, const std::string& label) {
    query::Query cur = q;
    std::set<std::string> taken;
    taken.insert(q.var);
    for (const auto& j : q.joins) taken.insert(j.var);
    for (const auto& l : q.lets) taken.insert(l.name);

    // Inline each query-valued variable, From first, then the joins.
    std::vector<std::string> query_vars;
    if (query_source(q.source)) query_vars.push_back(q.var);
    for (const auto& j : q.joins) {
      if (query_source(j.source)) query_vars.push_back(j.var);
    }
    for (const std::string& var : query_vars) {
      auto r = inline_var(cur, var, taken, label);
      if (!r) return r.error();
    }
    if (uint64_t size = query_size(cur); size > kMaxQuerySize) {
      return query::make_error(program_.text, q.pos, too_large(label, size, ""));
    }

    Flattened f;
    f.query = std::move(cur);
    if (!aggregates(f.query)) {
      for (const auto& item : f.query.select) f.outputs.push_back({output_name(item), item.expr});
    }
    return f;
  }

  static std::string too_large(const std::string& label, uint64_t size, const std::string& inlined) {
    std::string n = size == UINT64_MAX ? "more than 18446744073709551614" : std::to_string(size);
    std::string out = "query '" + label + "' is too large";
    if (!inlined.empty()) out += " with query '" + inlined + "' inlined";
    out += ": " + n + " nodes (expressions and variables); at most " + std::to_string(kMaxQuerySize);
    if (!inlined.empty()) out += ". Each use of a source query's output copies its expression";
    return out;
  }

  // Inlines the query that `var` reads. The result is measured before
  // anything else is built from it: the expressions share the source's
  // subtrees (rewrite keeps sharing), so even an over-large result costs
  // little here.
  Status inline_var(query::Query& cur, const std::string& var, std::set<std::string>& taken,
                    const std::string& label) {
    const query::Source* source = nullptr;
    query::Join* join = nullptr;
    if (cur.var == var) {
      source = &cur.source;
    } else {
      for (auto& j : cur.joins) {
        if (j.var == var) {
          join = &j;
          source = &j.source;
        }
      }
    }
    const Flattened& inner = *query_source(*source);
    const std::string inner_name = source->names[0];
    const query::Pos source_pos = source->name_pos[0];
    if (!inner.query.order_by.empty() || inner.query.limit != 0) {
      return query::make_error(program_.text, source->name_pos[0],
                               "query '" + inner_name +
                                   "' has OrderBy or Limit, which order and cut printed results; a source "
                                   "query cannot have them");
    }
    if (aggregates(inner.query)) {
      return query::make_error(
          program_.text, source->name_pos[0],
          "query '" + inner_name + "' aggregates; only a query without aggregates can be a source");
    }
    query::Query sub = rename_apart(inner.query, var, taken);
    std::map<std::string, ExprPtr> outputs;
    std::string names;
    for (size_t i = 0; i < sub.select.size(); ++i) {
      std::string n = inner.outputs[i].name;
      if (n.empty()) continue;
      outputs[n] = sub.select[i].expr;
      names += (names.empty() ? "" : ", ") + n;
    }

    // Replace var.x by the source's expression for x.
    std::optional<Error> error;
    RewriteMemo memo;
    auto subst = [&](const ExprPtr& e) {
      return rewrite(e, memo, [&](const Expr& x) -> ExprPtr {
        if (x.kind != Expr::Kind::kField || x.var != var) return nullptr;
        auto it = outputs.find(x.field);
        if (it != outputs.end()) return it->second;
        if (!error) {
          error =
              query::make_error(program_.text, x.field_pos,
                                "query '" + inner_name + "' has no output '" + x.field +
                                    "'; its outputs: " + names + " (name an expression with As to use it)");
        }
        return nullptr;
      });
    };
    cur.where = subst(cur.where);
    for (auto& l : cur.lets) l.expr = subst(l.expr);
    for (auto& g : cur.group_by) g = subst(g);
    for (auto& s : cur.select) s.expr = subst(s.expr);
    for (auto& o : cur.order_by) o.expr = subst(o.expr);
    if (error) return *error;

    // The variable now stands for the source query's emitting event.
    for (auto& j : cur.joins) {
      if (j.before == var) j.before = sub.var;
      if (j.after == var) j.after = sub.var;
    }
    std::vector<query::Join> joins;
    if (join == nullptr) {
      cur.var = sub.var;
      cur.source = sub.source;
      joins = sub.joins;
      joins.insert(joins.end(), cur.joins.begin(), cur.joins.end());
    } else {
      join->var = sub.var;
      join->source = sub.source;
      for (const auto& j : cur.joins) {
        joins.push_back(j);
        if (j.var == sub.var) joins.insert(joins.end(), sub.joins.begin(), sub.joins.end());
      }
    }
    cur.joins = std::move(joins);
    cur.where = conjoin(cur.where, sub.where);
    std::vector<query::Let> lets = sub.lets;
    lets.insert(lets.end(), cur.lets.begin(), cur.lets.end());
    cur.lets = std::move(lets);
    if (uint64_t size = query_size(cur); size > kMaxQuerySize) {
      return query::make_error(program_.text, source_pos, too_large(label, size, inner_name));
    }
    return Status();
  }

  const query::Program& program_;
  const Catalog& catalog_;
  std::map<std::string, Flattened> done_;
};

}  // namespace

Result<std::vector<FlatQuery>> flatten(const query::Program& program, const Catalog& catalog) {
  return Flattener(program, catalog).run();
}

}  // namespace pivot::planner
