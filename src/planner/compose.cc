#include "planner/compose.h"

#include <algorithm>
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

std::string output_name(const query::SelectItem& item) {
  if (!item.alias.empty()) return item.alias;
  if (item.expr->kind == Expr::Kind::kField) return item.expr->field;
  if (item.expr->kind == Expr::Kind::kName) return item.expr->name;
  return "";
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
  // Per Select item; the expressions are inlined from a non-aggregating query only.
  std::vector<Output> outputs;
  std::string from_query;  // as FlatQuery::from_query
};

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
      out.push_back({label, flat->query, flat->from_query});
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

    Flattened f;
    // An aggregating query's rows are read where they exist, at the
    // frontend; every other query source is inlined, From first, then the
    // joins.
    std::vector<std::string> query_vars;
    if (const Flattened* src = query_source(q.source); src && aggregates(src->query)) {
      if (auto s = check_outputs(cur, q.var, *src, q.source.names[0]); !s) return s.error();
      f.from_query = q.source.names[0];
    } else if (src) {
      query_vars.push_back(q.var);
    }
    for (const auto& j : q.joins) {
      if (query_source(j.source)) query_vars.push_back(j.var);
    }
    for (const std::string& var : query_vars) {
      auto r = inline_var(cur, var, taken, label, f.from_query);
      if (!r) return r.error();
    }
    if (!f.from_query.empty() && !q.joins.empty()) {
      return query::make_error(program_.text, q.joins[0].pos,
                               "a query over the rows of aggregating query '" + f.from_query +
                                   "' cannot Join: its rows are merged results, not events that happen "
                                   "before one another");
    }
    if (uint64_t size = query_size(cur); size > kMaxQuerySize) {
      return query::make_error(program_.text, q.pos, too_large(label, size, ""));
    }

    f.query = std::move(cur);
    for (const auto& item : f.query.select) f.outputs.push_back({output_name(item), item.expr});
    return f;
  }

  // The names of a source's outputs, for errors.
  static std::string output_names(const Flattened& inner) {
    std::string names;
    for (const Output& o : inner.outputs) {
      if (!o.name.empty()) names += (names.empty() ? "" : ", ") + o.name;
    }
    return names;
  }

  Error no_output(const Expr& field, const Flattened& inner, const std::string& inner_name) const {
    return query::make_error(program_.text, field.field_pos,
                             "query '" + inner_name + "' has no output '" + field.field + "'; its outputs: " +
                                 output_names(inner) + " (name an expression with As to use it)");
  }

  // Every var.x of `q` names an output of `inner`.
  Status check_outputs(const query::Query& q, const std::string& var, const Flattened& inner,
                       const std::string& inner_name) const {
    std::optional<Error> error;
    std::function<void(const ExprPtr&)> walk = [&](const ExprPtr& e) {
      if (!e || error) return;
      if (e->kind == Expr::Kind::kField && e->var == var &&
          std::none_of(inner.outputs.begin(), inner.outputs.end(),
                       [&](const Output& o) { return !o.name.empty() && o.name == e->field; })) {
        error = no_output(*e, inner, inner_name);
      }
      for (const ExprPtr& a : e->args) walk(a);
    };
    walk(q.where);
    for (const auto& l : q.lets) walk(l.expr);
    for (const auto& g : q.group_by) walk(g);
    for (const auto& s : q.select) walk(s.expr);
    for (const auto& o : q.order_by) walk(o.expr);
    if (error) return *error;
    return Status();
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
  // A source that reads an aggregating query's rows passes that on to the
  // query it is inlined into (`from_query`), as its From only.
  Status inline_var(query::Query& cur, const std::string& var, std::set<std::string>& taken,
                    const std::string& label, std::string& from_query) {
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
    if (join != nullptr && (aggregates(inner.query) || !inner.from_query.empty())) {
      std::string what =
          aggregates(inner.query)
              ? "query '" + inner_name + "' aggregates"
              : "query '" + inner_name + "' reads the rows of aggregating query '" + inner.from_query + "'";
      return query::make_error(program_.text, source_pos,
                               what +
                                   ": its rows exist only once the frontend merges them, so it cannot be "
                                   "joined by happened-before; it can be the From of a query");
    }
    if (!inner.query.order_by.empty() || inner.query.limit != 0) {
      return query::make_error(program_.text, source_pos,
                               "query '" + inner_name +
                                   "' has OrderBy or Limit, which order and cut printed results; a source "
                                   "query without aggregates cannot have them");
    }
    query::Query sub = rename_apart(inner.query, var, taken);
    if (join == nullptr) from_query = inner.from_query;
    std::map<std::string, ExprPtr> outputs;
    for (size_t i = 0; i < sub.select.size(); ++i) {
      const std::string& n = inner.outputs[i].name;
      if (!n.empty()) outputs[n] = sub.select[i].expr;
    }

    // Replace var.x by the source's expression for x.
    std::optional<Error> error;
    RewriteMemo memo;
    auto subst = [&](const ExprPtr& e) {
      return rewrite(e, memo, [&](const Expr& x) -> ExprPtr {
        if (x.kind != Expr::Kind::kField || x.var != var) return nullptr;
        auto it = outputs.find(x.field);
        if (it != outputs.end()) return it->second;
        if (!error) error = no_output(x, inner, inner_name);
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
