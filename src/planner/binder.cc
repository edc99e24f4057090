#include "planner/binder.h"

#include <algorithm>

#include "core/suggest.h"
#include "planner/units.h"
#include "query/error.h"
#include "query/printer.h"

namespace pivot::planner {

using query::Expr;
using query::ExprPtr;
using query::Op;

std::set<int> BoundQuery::refs(const Expr& e) const {
  std::set<int> out;
  if (e.kind == Expr::Kind::kField) {
    int n = node_of(e.var);
    if (n >= 0) out.insert(n);
  } else if (e.kind == Expr::Kind::kName) {
    auto it = lets.find(e.name);
    if (it != lets.end()) out = it->second.nodes;
  }
  for (const ExprPtr& a : e.args) {
    if (!a) continue;
    std::set<int> sub = refs(*a);
    out.insert(sub.begin(), sub.end());
  }
  return out;
}

bool BoundQuery::in_subtree(int n, int root) const {
  for (; n >= 0; n = nodes[n].parent) {
    if (n == root) return true;
  }
  return false;
}

std::vector<int> BoundQuery::deepest_first() const {
  std::vector<int> order;
  for (size_t i = 0; i < nodes.size(); ++i) order.push_back(static_cast<int>(i));
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return nodes[x].depth > nodes[y].depth; });
  return order;
}

namespace {

std::string join_names(const std::vector<std::string>& names, size_t limit = 40) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += ", ... (" + std::to_string(names.size() - limit) + " more)";
  return out;
}

// "did you mean 'x'? " for a misspelt name, or "".
std::string suggestion(const std::string& word, const std::vector<std::string>& names) {
  std::string s = internal::did_you_mean(word, names);
  return s.empty() ? s : s + " ";
}

bool is_number(Type t) { return t == Type::kInt || t == Type::kDouble; }

std::string describe(const Expr& e, Type t) {
  return query::to_string(e) + " is " + std::string(type_name(t));
}

class Binder {
 public:
  Binder(const FlatQuery& q, const Catalog& c, std::string_view text)
      : q_(q.query), catalog_(c), text_(text) {
    b_.flat = &q;
  }

  Result<BoundQuery> run() {
    if (auto s = bind_source(q_.var, q_.var_pos, q_.source, query::JoinMode::kAll, 0, -1, q_.pos); !s)
      return s.error();
    for (const query::Join& j : q_.joins) {
      if (auto s = bind_join(j); !s) return s.error();
    }
    for (const query::Let& l : q_.lets) {
      if (auto s = bind_let(l); !s) return s.error();
    }
    if (q_.where) {
      if (auto s = no_aggregate(*q_.where, "Where"); !s) return s.error();
      auto t = type_of(*q_.where);
      if (!t) return t.error();
      if (*t != Type::kBool && *t != Type::kNull) {
        return error(q_.where->pos, "Where needs a true/false condition, but " + describe(*q_.where, *t));
      }
    }
    if (auto s = bind_output(); !s) return s.error();
    return std::move(b_);
  }

 private:
  Error error(query::Pos pos, const std::string& msg) const { return query::make_error(text_, pos, msg); }

  Status bind_source(const std::string& var, query::Pos var_pos, const query::Source& src,
                     query::JoinMode mode, int64_t n, int parent, query::Pos) {
    if (b_.node_of(var) >= 0)
      return error(var_pos, "variable '" + var + "' is already defined in this query");
    Node node;
    node.var = var;
    node.var_pos = var_pos;
    node.mode = mode;
    node.n = n;
    node.parent = parent;
    for (size_t i = 0; i < src.names.size(); ++i) {
      const TracepointSchema* tp = catalog_.find(src.names[i]);
      if (tp == nullptr) {
        std::vector<std::string> known;
        for (const auto& t : catalog_.tracepoints) known.push_back(t.name);
        std::sort(known.begin(), known.end());
        return error(src.name_pos[i],
                     "unknown tracepoint '" + src.names[i] + "'; " + suggestion(src.names[i], known) +
                         "known tracepoints: " + (known.empty() ? std::string("(none)") : join_names(known)));
      }
      if (std::find(node.tracepoints.begin(), node.tracepoints.end(), tp->name) != node.tracepoints.end())
        continue;
      node.tracepoints.push_back(tp->name);
      std::vector<Field> fields;
      for (const ExportSchema& e : tp->exports) fields.push_back({e.name, e.type, e.is_list, e.unit});
      if (i == 0) {
        node.fields = fields;
      } else {  // Union: the exports common to all
        std::erase_if(node.fields, [&](const Field& f) {
          return std::none_of(fields.begin(), fields.end(), [&](const Field& g) { return g.name == f.name; });
        });
        for (Field& f : node.fields) {  // a unit only when all agree
          auto g =
              std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return x.name == f.name; });
          if (g->unit != f.unit) f.unit = Unit::kNone;
        }
      }
    }
    if (parent >= 0) {
      b_.nodes[parent].children.push_back(static_cast<int>(b_.nodes.size()));
      node.depth = b_.nodes[parent].depth + 1;
    }
    b_.nodes.push_back(std::move(node));
    return Status();
  }

  Status bind_join(const query::Join& j) {
    int before = b_.node_of(j.before), after = b_.node_of(j.after);
    bool before_is_new = j.before == j.var;
    if (!before_is_new && j.after == j.var) {
      return error(j.after_pos, "'" + j.var + "' must happen before: write On " + j.var + " -> " + j.before +
                                    " (the joined variable is on the left of '->')");
    }
    if (!before_is_new) {
      if (before < 0 && after < 0) {
        return error(j.before_pos, "'->' relates unbound variables '" + j.before + "' and '" + j.after +
                                       "'; the left side must be '" + j.var +
                                       "', the variable this Join binds");
      }
      return error(j.before_pos, "the left side of '->' must be '" + j.var +
                                     "', the variable this Join binds; found '" + j.before + "'");
    }
    if (after < 0) {
      return error(j.after_pos, "unknown variable '" + j.after + "' after '->'; " +
                                    suggestion(j.after, bound_var_names()) +
                                    "variables bound before this Join: " + bound_vars());
    }
    return bind_source(j.var, j.var_pos, j.source, j.mode, j.n, after, j.pos);
  }

  std::vector<std::string> bound_var_names() const {
    std::vector<std::string> v;
    for (const Node& n : b_.nodes) v.push_back(n.var);
    return v;
  }
  std::string bound_vars() const { return join_names(bound_var_names()); }

  Status bind_let(const query::Let& l) {
    if (b_.lets.count(l.name)) return error(l.name_pos, "Let '" + l.name + "' is already defined");
    if (b_.node_of(l.name) >= 0) return error(l.name_pos, "Let '" + l.name + "' has the name of a variable");
    if (auto s = no_aggregate(*l.expr, "Let"); !s) return s;
    auto t = type_of(*l.expr);
    if (!t) return t.error();
    LetInfo info;
    info.let = &l;
    info.type = *t;
    info.unit = unit_of(*l.expr);
    info.nodes = b_.refs(*l.expr);
    // A constant is computed at the From variable's advice; what uses it
    // goes there too, not where the constant would read as null.
    if (info.nodes.empty()) info.nodes.insert(0);
    b_.lets[l.name] = std::move(info);
    return Status();
  }

  Status no_aggregate(const Expr& e, const char* clause) const {
    if (e.kind == Expr::Kind::kAggregate) {
      return error(e.pos, "aggregate " + std::string(query::agg_name(e.agg)) + " is not allowed in " +
                              clause + "; aggregates belong in Select");
    }
    for (const ExprPtr& a : e.args) {
      if (a) {
        if (auto s = no_aggregate(*a, clause); !s) return s;
      }
    }
    return Status();
  }

  Result<Type> field_type(const Expr& e) const {
    int n = b_.node_of(e.var);
    if (n < 0) {
      if (b_.lets.count(e.var)) {
        return error(e.pos,
                     "'" + e.var + "' is a Let name, not a variable; write " + e.var + " without a field");
      }
      return error(e.pos, "unknown variable '" + e.var + "'; " + suggestion(e.var, var_names()) +
                              "variables in this query: " + all_vars());
    }
    const Node& node = b_.nodes[n];
    for (const Field& f : node.fields) {
      if (f.name == e.field) return f.type;
    }
    std::vector<std::string> names;
    for (const Field& f : node.fields) names.push_back(f.name);
    std::string where = node.tracepoints.size() == 1 ? "tracepoint '" + node.tracepoints[0] + "'"
                                                     : "the union of " + join_names(node.tracepoints);
    return error(e.field_pos, where + " has no export '" + e.field + "' (variable '" + e.var + "'); " +
                                  suggestion(e.field, names) + "exports: " + join_names(names));
  }

  std::vector<std::string> var_names() const {
    std::vector<std::string> v = bound_var_names();
    for (const query::Join& j : q_.joins) {
      if (b_.node_of(j.var) < 0) v.push_back(j.var);
    }
    return v;
  }
  std::string all_vars() const { return join_names(var_names()); }

  Result<Type> type_of(const Expr& e) const {
    switch (e.kind) {
      case Expr::Kind::kLiteral: return e.literal.type();
      case Expr::Kind::kField: return field_type(e);
      case Expr::Kind::kName: {
        auto it = b_.lets.find(e.name);
        if (it != b_.lets.end()) return it->second.type;
        if (b_.node_of(e.name) >= 0) {
          return error(e.pos,
                       "'" + e.name + "' is a variable; name one of its exports, as in " + e.name + ".field");
        }
        std::vector<std::string> lets;
        for (const auto& [name, info] : b_.lets) lets.push_back(name);
        return error(e.pos, "unknown name '" + e.name + "'; " + suggestion(e.name, lets) +
                                "a bare name must be a Let defined earlier");
      }
      case Expr::Kind::kUnary: {
        auto t = type_of(*e.args[0]);
        if (!t) return t;
        if (e.op == Op::kNot) {
          if (*t != Type::kBool && *t != Type::kNull) {
            return error(e.args[0]->pos, "Not needs a true/false value, but " + describe(*e.args[0], *t));
          }
          return Type::kBool;
        }
        if (!is_number(*t) && *t != Type::kNull) {
          return error(e.args[0]->pos, "'-' needs a number, but " + describe(*e.args[0], *t));
        }
        return *t;
      }
      case Expr::Kind::kBinary: return binary_type(e);
      case Expr::Kind::kAggregate: {
        if (e.args.empty()) return Type::kInt;
        if (contains_nested_aggregate(*e.args[0])) {
          return error(e.args[0]->pos, "aggregates cannot be nested");
        }
        auto t = type_of(*e.args[0]);
        if (!t) return t;
        switch (e.agg) {
          case query::AggFn::kCount:
          case query::AggFn::kCountDistinct: return Type::kInt;
          case query::AggFn::kSum:
          case query::AggFn::kAvg:
          case query::AggFn::kHist:
          case query::AggFn::kLhist:
          case query::AggFn::kQuantile:
            if (!is_number(*t) && *t != Type::kNull) {
              return error(e.args[0]->pos,
                           aggregate_name(e) + " needs numbers, but " + describe(*e.args[0], *t));
            }
            if (e.agg == query::AggFn::kHist || e.agg == query::AggFn::kLhist) return Type::kString;
            return e.agg == query::AggFn::kAvg || e.agg == query::AggFn::kQuantile ? Type::kDouble : *t;
          default: return *t;
        }
      }
    }
    return Type::kNull;
  }

  // "SUM", "P99", "QUANTILE": as the canonical text names it.
  static std::string aggregate_name(const Expr& e) {
    std::string text = query::to_string(e);
    return text.substr(0, text.find('('));
  }

  static bool contains_nested_aggregate(const Expr& e) {
    if (e.kind == Expr::Kind::kAggregate) return true;
    return std::any_of(e.args.begin(), e.args.end(),
                       [](const ExprPtr& a) { return a && contains_nested_aggregate(*a); });
  }

  Result<Type> binary_type(const Expr& e) const {
    auto a = type_of(*e.args[0]);
    if (!a) return a;
    auto b = type_of(*e.args[1]);
    if (!b) return b;
    std::string op(query::op_spelling(e.op));
    switch (e.op) {
      case Op::kAnd:
      case Op::kOr:
        for (int i = 0; i < 2; ++i) {
          Type t = i == 0 ? *a : *b;
          if (t != Type::kBool && t != Type::kNull) {
            return error(e.args[i]->pos, op + " needs true/false values, but " + describe(*e.args[i], t));
          }
        }
        return Type::kBool;
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        bool ok = *a == Type::kNull || *b == Type::kNull || *a == *b || (is_number(*a) && is_number(*b));
        if (!ok) {
          return error(e.op_pos, "cannot compare " + query::to_string(*e.args[0]) + " (" +
                                     std::string(type_name(*a)) + ") with " + query::to_string(*e.args[1]) +
                                     " (" + std::string(type_name(*b)) + ")");
        }
        return Type::kBool;
      }
      default:
        for (int i = 0; i < 2; ++i) {
          Type t = i == 0 ? *a : *b;
          if (!is_number(t) && t != Type::kNull) {
            return error(e.args[i]->pos, "'" + op + "' needs numbers, but " + describe(*e.args[i], t));
          }
        }
        if (*a == Type::kNull || *b == Type::kNull) return Type::kNull;
        return (*a == Type::kInt && *b == Type::kInt) ? Type::kInt : Type::kDouble;
    }
  }

  // The unit of a well-typed expression (units.h).
  Unit unit_of(const Expr& e) const {
    switch (e.kind) {
      case Expr::Kind::kLiteral: return Unit::kNone;
      case Expr::Kind::kField: {
        int n = b_.node_of(e.var);
        for (const Field& f : b_.nodes[n].fields) {
          if (f.name == e.field) return f.unit;
        }
        return Unit::kNone;
      }
      case Expr::Kind::kName: return b_.lets.at(e.name).unit;
      case Expr::Kind::kUnary: return e.op == Op::kNeg ? unit_of(*e.args[0]) : Unit::kNone;
      case Expr::Kind::kBinary: return binary_unit(e.op, unit_of(*e.args[0]), unit_of(*e.args[1]));
      case Expr::Kind::kAggregate:
        return aggregate_unit(e.agg, e.args.empty() ? Unit::kNone : unit_of(*e.args[0]));
    }
    return Unit::kNone;
  }

  Status bind_output() {
    b_.aggregating = aggregates(q_);
    for (const ExprPtr& g : q_.group_by) {
      if (auto s = no_aggregate(*g, "GroupBy"); !s) return s;
      auto t = type_of(*g);
      if (!t) return t.error();
    }
    b_.raw = !b_.aggregating && q_.group_by.empty();
    if (!b_.raw) b_.keys = q_.group_by;
    std::vector<std::string> key_text;
    for (const ExprPtr& k : b_.keys) key_text.push_back(query::to_string(*k));
    for (const query::SelectItem& item : q_.select) {
      auto t = type_of(*item.expr);
      if (!t) return t.error();
      b_.types.push_back(*t);
      b_.units.push_back(unit_of(*item.expr));
      if (b_.raw) {
        b_.columns.push_back({true, static_cast<uint32_t>(b_.keys.size())});
        b_.keys.push_back(item.expr);
        continue;
      }
      if (item.expr->kind == Expr::Kind::kAggregate) {
        b_.columns.push_back({false, static_cast<uint32_t>(b_.aggs.size())});
        b_.aggs.push_back(item.expr.get());
        continue;
      }
      if (contains_aggregate(*item.expr)) {
        return error(item.expr->pos,
                     "an aggregate must be a whole Select item; arithmetic on aggregates is not supported");
      }
      std::string text = query::to_string(*item.expr);
      auto it = std::find(key_text.begin(), key_text.end(), text);
      if (it == key_text.end()) {
        return error(item.expr->pos,
                     text + " must appear in GroupBy or inside an aggregate" +
                         (q_.group_by.empty() ? std::string(" (the query has no GroupBy)") : ""));
      }
      b_.columns.push_back({true, static_cast<uint32_t>(it - key_text.begin())});
    }
    return bind_order();
  }

  // Each OrderBy key is a Select item: its As name, or the item as written.
  Status bind_order() {
    std::vector<std::string> item_text, shown;
    std::string names;
    for (const query::SelectItem& item : q_.select) {
      item_text.push_back(query::to_string(*item.expr));
      shown.push_back(item.alias.empty() ? item_text.back() : item.alias);
      names += (names.empty() ? "" : ", ") + shown.back();
    }
    for (const query::OrderItem& o : q_.order_by) {
      const std::string text = query::to_string(*o.expr);
      auto by_alias = std::find_if(q_.select.begin(), q_.select.end(), [&](const query::SelectItem& item) {
        return o.expr->kind == Expr::Kind::kName && item.alias == o.expr->name;
      });
      size_t i =
          by_alias != q_.select.end()
              ? static_cast<size_t>(by_alias - q_.select.begin())
              : static_cast<size_t>(std::find(item_text.begin(), item_text.end(), text) - item_text.begin());
      if (i == q_.select.size()) {
        return error(o.expr->pos, "OrderBy " + text + " is not a Select item; " + suggestion(text, shown) +
                                      "order by an item as written or by its As name: " + names);
      }
      b_.order.push_back({static_cast<uint32_t>(i), o.desc});
    }
    return Status();
  }

  const query::Query& q_;
  const Catalog& catalog_;
  std::string_view text_;
  BoundQuery b_;
};

}  // namespace

Result<BoundQuery> bind_query(const FlatQuery& q, const Catalog& catalog, std::string_view text) {
  return Binder(q, catalog, text).run();
}

}  // namespace pivot::planner
