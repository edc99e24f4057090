#include "planner/planner.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "planner/binder.h"
#include "planner/compose.h"
#include "query/error.h"
#include "query/parser.h"
#include "query/printer.h"
#include "tracepoint/registry.h"

namespace pivot::planner {

using query::Expr;
using query::ExprPtr;

namespace {

// A value flowing through advice: a variable's export ("var.field"), a Let
// ("let:name"), or a column of a pre-aggregated bag ("pre:...").
struct Column {
  std::string key;
  std::string var;             // display: the variable; empty for Lets and pre-aggregates
  std::string name;            // display: the field or Let name
  const Expr* expr = nullptr;  // display: a pre-aggregated key or argument, as this expression
  bool operator==(const Column& o) const { return key == o.key; }
};

Column field_column(const std::string& var, const std::string& field) {
  return {var + "." + field, var, field};
}
Column let_column(const std::string& name) { return {"let:" + name, "", name}; }

void add_unique(std::vector<Column>& v, const Column& c) {
  if (std::find(v.begin(), v.end(), c) == v.end()) v.push_back(c);
}

bool contains(const std::vector<Column>& v, const std::string& key) {
  return std::any_of(v.begin(), v.end(), [&](const Column& c) { return c.key == key; });
}

// The columns an expression reads directly.
void columns_of(const Expr& e, std::vector<Column>& out) {
  if (e.kind == Expr::Kind::kField) add_unique(out, field_column(e.var, e.field));
  if (e.kind == Expr::Kind::kName) add_unique(out, let_column(e.name));
  for (const ExprPtr& a : e.args) {
    if (a) columns_of(*a, out);
  }
}

advice::Op advice_op(query::Op op) { return static_cast<advice::Op>(static_cast<int>(op)); }
static_assert(static_cast<int>(query::Op::kNeg) == static_cast<int>(advice::Op::kNeg));

aggregate::AggFn agg_fn(query::AggFn f) {
  switch (f) {
    case query::AggFn::kCount: return aggregate::AggFn::kCount;
    case query::AggFn::kSum: return aggregate::AggFn::kSum;
    case query::AggFn::kMin: return aggregate::AggFn::kMin;
    case query::AggFn::kMax: return aggregate::AggFn::kMax;
    case query::AggFn::kAvg: return aggregate::AggFn::kAvg;
  }
  return aggregate::AggFn::kCount;
}

internal::Combine combine_of(query::AggFn f) {
  if (f == query::AggFn::kMin) return internal::Combine::kMin;
  if (f == query::AggFn::kMax) return internal::Combine::kMax;
  return internal::Combine::kSum;
}

uint64_t hash_bag(uint64_t uid, std::string_view label) {
  uint64_t h = uid ^ 0xcbf29ce484222325ull;
  for (unsigned char c : label) h = (h ^ c) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

// The plan of one variable's advice.
struct NodePlan {
  std::vector<ExprPtr> filters;
  std::vector<const query::Let*> lets;
  std::vector<Column> uses;      // columns read here
  std::vector<Column> observed;  // own exports read here or above
  std::vector<Column> packed;    // what this variable's bag carries to its parent
  internal::BagSpec spec;
  // Pre-aggregation (a child of the root only).
  bool pre_aggregated = false;
  std::vector<ExprPtr> pre_keys;
  std::vector<const Expr*> pre_aggs;  // aggregates whose argument is computed here
};

class Planner {
 public:
  Planner(const BoundQuery& b, uint64_t uid, int& advice_counter)
      : b_(b), q_(b.flat->query), uid_(uid), counter_(advice_counter) {}

  QueryPlan run() {
    plans_.resize(b_.nodes.size());
    place();
    choose_pre_aggregation();
    add_emit_uses();
    flow_columns();
    QueryPlan out;
    out.label = b_.flat->label;
    make_shape(out);
    for (int n : b_.deepest_first()) build_program(n, out);
    return out;
  }

 private:
  // --- placement (filter and Let push-down) --------------------------------

  // The deepest variable whose subtree holds every variable in `refs`: the
  // earliest advice that sees all of them.
  int lowest_common(const std::set<int>& refs) const {
    if (refs.empty()) return 0;
    int lca = *refs.begin();
    for (int r : refs) {
      while (!b_.in_subtree(r, lca)) lca = b_.nodes[lca].parent;
    }
    return lca;
  }

  // Where filters the joined rows; First/MostRecent select among the tuples
  // of their variable before that. A filter pushed below a selection would
  // change which tuple is selected, so it goes no lower than the parent of
  // the highest selecting variable on its way to the root.
  int above_selections(int n) const {
    int placed = n;
    for (int a = n; a > 0; a = b_.nodes[a].parent) {
      if (b_.nodes[a].mode != query::JoinMode::kAll) placed = b_.nodes[a].parent;
    }
    return placed;
  }

  void add_use(int n, const Expr& e) { columns_of(e, plans_[n].uses); }

  static void split_and(const ExprPtr& e, std::vector<ExprPtr>& out) {
    if (e->kind == Expr::Kind::kBinary && e->op == query::Op::kAnd) {
      split_and(e->args[0], out);
      split_and(e->args[1], out);
    } else {
      out.push_back(e);
    }
  }

  void place() {
    for (const query::Let& l : q_.lets) {
      int n = lowest_common(b_.lets.at(l.name).nodes);
      plans_[n].lets.push_back(&l);
      add_use(n, *l.expr);
    }
    if (q_.where) {
      std::vector<ExprPtr> conjuncts;
      split_and(q_.where, conjuncts);
      for (const ExprPtr& c : conjuncts) {
        int n = above_selections(lowest_common(b_.refs(*c)));
        plans_[n].filters.push_back(c);
        add_use(n, *c);
      }
    }
  }

  // --- pre-aggregation in PACK ----------------------------------------------

  bool touches(const Expr& e, int sub) const {
    for (int r : b_.refs(e)) {
      if (b_.in_subtree(r, sub)) return true;
    }
    return false;
  }
  bool only(const Expr& e, int sub) const {
    std::set<int> refs = b_.refs(e);
    return !refs.empty() &&
           std::all_of(refs.begin(), refs.end(), [&](int r) { return b_.in_subtree(r, sub); });
  }

  // A plain-joined child of the root packs partial aggregates instead of
  // tuples when the root only groups by its values or aggregates them. One
  // such child per query: the row counts of two would have to multiply.
  void choose_pre_aggregation() {
    if (!b_.aggregating) return;
    for (int child : b_.nodes[0].children) {
      if (b_.nodes[child].mode == query::JoinMode::kAll && try_pre_aggregate(child)) return;
    }
  }

  bool try_pre_aggregate(int u) {
    for (const ExprPtr& f : plans_[0].filters) {
      if (touches(*f, u)) return false;
    }
    for (const query::Let* l : plans_[0].lets) {
      if (touches(*l->expr, u)) return false;
    }
    std::vector<ExprPtr> keys;
    std::vector<const Expr*> aggs;
    for (const ExprPtr& k : b_.keys) {
      if (only(*k, u))
        keys.push_back(k);
      else if (touches(*k, u))
        return false;
    }
    for (const Expr* a : b_.aggs) {
      if (a->args.empty() || !touches(*a->args[0], u)) continue;
      if (!only(*a->args[0], u) || a->agg == query::AggFn::kCount) return false;
      aggs.push_back(a);
    }
    NodePlan& p = plans_[u];
    p.pre_aggregated = true;
    p.pre_keys = std::move(keys);
    p.pre_aggs = std::move(aggs);
    for (const ExprPtr& k : p.pre_keys) add_use(u, *k);
    for (const Expr* a : p.pre_aggs) add_use(u, *a->args[0]);
    return true;
  }

  int pre_child() const {
    for (int c : b_.nodes[0].children) {
      if (plans_[c].pre_aggregated) return c;
    }
    return -1;
  }

  bool handled_by_pre(const Expr& e) const {
    int u = pre_child();
    return u >= 0 && only(e, u);
  }

  void add_emit_uses() {
    for (const ExprPtr& k : b_.keys) {
      if (!handled_by_pre(*k)) add_use(0, *k);
    }
    for (const Expr* a : b_.aggs) {
      if (!a->args.empty() && !handled_by_pre(*a->args[0])) add_use(0, *a->args[0]);
    }
  }

  // --- projection: what each variable observes and packs -------------------

  std::vector<Column> used_above(int n) const {
    std::vector<Column> out;
    for (int a = b_.nodes[n].parent; a >= 0; a = b_.nodes[a].parent) {
      for (const Column& c : plans_[a].uses) add_unique(out, c);
    }
    return out;
  }

  void flow_columns() {
    for (int n : b_.deepest_first()) {
      const Node& node = b_.nodes[n];
      NodePlan& p = plans_[n];
      std::vector<Column> above = used_above(n);
      for (const Field& f : node.fields) {  // in export order
        Column c = field_column(node.var, f.name);
        if (contains(p.uses, c.key) || contains(above, c.key)) p.observed.push_back(c);
      }
      if (n == 0) continue;
      p.spec.bag_id = hash_bag(uid_, b_.flat->label + "." + node.var);
      if (p.pre_aggregated) {
        p.spec.mode = internal::PackMode::kAggregate;
        p.spec.keys = static_cast<uint32_t>(p.pre_keys.size());
        p.spec.combine.push_back(internal::Combine::kSum);  // the row count
        for (size_t i = 0; i < p.pre_keys.size(); ++i) {
          p.packed.push_back({"pre:key" + std::to_string(i), "", "", p.pre_keys[i].get()});
        }
        p.packed.push_back({"pre:count", "", "COUNT"});
        for (size_t i = 0; i < p.pre_aggs.size(); ++i) {
          p.spec.combine.push_back(combine_of(p.pre_aggs[i]->agg));
          p.packed.push_back({"pre:agg" + std::to_string(i), "", "", p.pre_aggs[i]->args[0].get()});
        }
        continue;
      }
      switch (node.mode) {
        case query::JoinMode::kAll: p.spec.mode = internal::PackMode::kAll; break;
        case query::JoinMode::kFirst: p.spec.mode = internal::PackMode::kFirst; break;
        case query::JoinMode::kMostRecent: p.spec.mode = internal::PackMode::kMostRecent; break;
        case query::JoinMode::kFirstN: p.spec.mode = internal::PackMode::kFirstN; break;
        case query::JoinMode::kMostRecentN: p.spec.mode = internal::PackMode::kMostRecentN; break;
      }
      p.spec.n = static_cast<uint32_t>(node.mode == query::JoinMode::kAll ? 0 : std::max<int64_t>(node.n, 1));
      std::vector<Column> avail = p.observed;
      for (const query::Let* l : p.lets) avail.push_back(let_column(l->name));
      for (int c : node.children) {
        for (const Column& col : plans_[c].packed) avail.push_back(col);
      }
      for (const Column& c : avail) {
        if (contains(above, c.key)) add_unique(p.packed, c);
      }
    }
  }

  // --- programs ---------------------------------------------------------------

  void make_shape(QueryPlan& out) const {
    out.shape.keys = static_cast<uint32_t>(b_.keys.size());
    out.shape.raw = b_.raw;
    int u = pre_child();
    for (const Expr* a : b_.aggs) {
      out.shape.aggs.push_back(agg_fn(a->agg));
      bool pre = u >= 0 && std::find(plans_[u].pre_aggs.begin(), plans_[u].pre_aggs.end(), a) !=
                               plans_[u].pre_aggs.end();
      out.shape.presummed.push_back(pre);
    }
    for (size_t i = 0; i < q_.select.size(); ++i) {
      const query::SelectItem& item = q_.select[i];
      out.columns.push_back(item.alias.empty() ? query::to_string(*item.expr) : item.alias);
      auto [is_key, index] = b_.columns[i];
      out.column_index.push_back(is_key ? index : static_cast<uint32_t>(b_.keys.size()) + index);
    }
  }

  // Per-program register allocation and display names.
  struct Frame {
    std::map<std::string, uint16_t> regs;
    std::vector<Column> shown;  // every column the program mentions, for display names
    uint16_t next = 0;
    uint16_t reg(const Column& c) {
      auto it = regs.find(c.key);
      if (it != regs.end()) return it->second;
      add_unique(shown, c);
      return regs[c.key] = next++;
    }
  };

  static std::string display(const Frame& f, const Column& c) {
    if (c.expr != nullptr) return show(f, *c.expr);
    if (c.var.empty()) return c.name;
    for (const Column& o : f.shown) {
      if (o.name == c.name && !o.var.empty() && o.var != c.var) return c.var + "." + c.name;
    }
    return c.name;
  }

  // Per register, its display name.
  static std::vector<std::string> reg_names(const Frame& f) {
    std::vector<std::string> names(f.next);
    for (const Column& c : f.shown) names[f.regs.at(c.key)] = display(f, c);
    return names;
  }

  // The expression with fields shown by their display names, as text.
  static std::string show(const Frame& f, const Expr& e) {
    std::function<ExprPtr(const Expr&)> sub = [&](const Expr& x) -> ExprPtr {
      auto copy = std::make_shared<Expr>(x);
      if (x.kind == Expr::Kind::kField) {
        copy->kind = Expr::Kind::kName;
        copy->name = display(f, field_column(x.var, x.field));
      }
      for (ExprPtr& a : copy->args) {
        if (a) a = sub(*a);
      }
      return copy;
    };
    return query::to_string(*sub(e));
  }

  advice::ExprPtr compile(Frame& f, const Expr& e) const {
    auto out = std::make_shared<advice::Expr>();
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        out->kind = advice::Expr::Kind::kConst;
        out->constant = e.literal;
        break;
      case Expr::Kind::kField:
        out->kind = advice::Expr::Kind::kReg;
        out->reg = f.reg(field_column(e.var, e.field));
        break;
      case Expr::Kind::kName:
        out->kind = advice::Expr::Kind::kReg;
        out->reg = f.reg(let_column(e.name));
        break;
      case Expr::Kind::kUnary:
        out->kind = advice::Expr::Kind::kUnary;
        out->op = advice_op(e.op);
        out->a = compile(f, *e.args[0]);
        break;
      case Expr::Kind::kBinary:
        out->kind = advice::Expr::Kind::kBinary;
        out->op = advice_op(e.op);
        out->a = compile(f, *e.args[0]);
        out->b = compile(f, *e.args[1]);
        break;
      case Expr::Kind::kAggregate: break;  // never compiled: EMIT takes the argument
    }
    return out;
  }

  static advice::ExprPtr reg_expr(uint16_t reg) {
    auto e = std::make_shared<advice::Expr>();
    e->kind = advice::Expr::Kind::kReg;
    e->reg = reg;
    return e;
  }
  static advice::ExprPtr const_expr(Value v) {
    auto e = std::make_shared<advice::Expr>();
    e->constant = std::move(v);
    return e;
  }

  std::string bag_name(int n) const { return b_.flat->label + "." + b_.nodes[n].var; }

  void build_program(int n, QueryPlan& out) {
    const Node& node = b_.nodes[n];
    const NodePlan& p = plans_[n];
    auto prog = std::make_shared<advice::Program>();
    prog->label = "A" + std::to_string(++counter_);
    prog->depth = node.depth;
    Frame f;

    // Registers: observed exports, then each child's bag, then Lets.
    for (const Column& c : p.observed) prog->observe.push_back({c.name, f.reg(c)});
    for (int child : node.children) {
      advice::Unpack up;
      up.spec = plans_[child].spec;
      up.first_reg = f.next;
      up.n_fields = static_cast<uint16_t>(plans_[child].packed.size());
      up.bag = bag_name(child);
      for (const Column& c : plans_[child].packed) f.reg(c);
      prog->unpacks.push_back(std::move(up));
    }
    for (const query::Let* l : p.lets) f.reg(let_column(l->name));

    // Filters that need no Let of this advice run first: they drop rows early.
    auto needs_local_let = [&](const Expr& e) {
      std::vector<Column> cols;
      columns_of(e, cols);
      return std::any_of(cols.begin(), cols.end(), [&](const Column& c) {
        return std::any_of(p.lets.begin(), p.lets.end(),
                           [&](const query::Let* l) { return c.key == "let:" + l->name; });
      });
    };
    for (const ExprPtr& e : p.filters) {
      if (!needs_local_let(*e)) prog->steps.push_back({true, compile(f, *e), 0});
    }
    for (const query::Let* l : p.lets) {
      prog->steps.push_back({false, compile(f, *l->expr), f.reg(let_column(l->name))});
    }
    for (const ExprPtr& e : p.filters) {
      if (needs_local_let(*e)) prog->steps.push_back({true, compile(f, *e), 0});
    }

    if (n == 0) {
      build_emit(f, *prog, out);
    } else {
      advice::Pack pack;
      pack.spec = p.spec;
      pack.bag = bag_name(n);
      if (p.pre_aggregated) {
        for (const ExprPtr& k : p.pre_keys) pack.values.push_back(compile(f, *k));
        pack.values.push_back(const_expr(Value(int64_t{1})));
        for (const Expr* a : p.pre_aggs) pack.values.push_back(compile(f, *a->args[0]));
      } else {
        for (const Column& c : p.packed) pack.values.push_back(reg_expr(f.reg(c)));
      }
      prog->pack = std::move(pack);
    }

    prog->n_regs = f.next;
    prog->reg_names = reg_names(f);
    for (const std::string& tp : node.tracepoints) {
      auto copy = std::make_shared<advice::Program>(*prog);
      copy->tracepoint = tp;
      out.programs.push_back(std::move(copy));
    }
  }

  void build_emit(Frame& f, advice::Program& prog, const QueryPlan& out) const {
    advice::Emit emit;
    int u = pre_child();
    for (const ExprPtr& k : b_.keys) {
      if (u >= 0 && only(*k, u)) {
        auto& pk = plans_[u].pre_keys;
        size_t i = std::find(pk.begin(), pk.end(), k) - pk.begin();
        emit.keys.push_back(reg_expr(f.reg({"pre:key" + std::to_string(i), "", ""})));
      } else {
        emit.keys.push_back(compile(f, *k));
      }
    }
    for (size_t i = 0; i < b_.aggs.size(); ++i) {
      const Expr* a = b_.aggs[i];
      if (a->args.empty()) {
        emit.inputs.push_back(const_expr(Value(true)));
      } else if (out.shape.presummed[i]) {
        auto& pa = plans_[u].pre_aggs;
        size_t j = std::find(pa.begin(), pa.end(), a) - pa.begin();
        emit.inputs.push_back(reg_expr(f.reg({"pre:agg" + std::to_string(j), "", ""})));
      } else {
        emit.inputs.push_back(compile(f, *a->args[0]));
      }
    }
    if (u >= 0) emit.weight_reg = f.reg({"pre:count", "", "COUNT"});
    prog.emit = std::move(emit);
  }

  const BoundQuery& b_;
  const query::Query& q_;
  uint64_t uid_;
  int& counter_;
  std::vector<NodePlan> plans_;
};

}  // namespace

namespace {

// The hook spec of a definition, its sites named apart from every other
// install of the same text ("incr#<uid>").
hook::ProbeSpec probe_spec(const query::TracepointDef& def, uint64_t uid) {
  hook::ProbeSpec spec;
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "#%016llx", static_cast<unsigned long long>(uid));
  spec.tracepoint = def.name + suffix;
  spec.at_return = def.at_return;
  spec.pattern = def.symbol;
  for (const auto& e : def.exports) spec.exports.push_back({e.name, e.ref});
  if (def.at_return) {  // Return always exports ret and duration
    for (const char* implicit : {"ret", "duration"}) {
      bool named = std::any_of(def.exports.begin(), def.exports.end(),
                               [&](const query::TracepointExport& e) { return e.name == implicit; });
      if (!named) spec.exports.push_back({implicit, implicit});
    }
  }
  return spec;
}

}  // namespace

Result<Plan> compile(std::string_view text, const Catalog& catalog, uint64_t uid, const ProbeTyper& typer) {
  auto program = query::parse(text);
  if (!program) return program.error();
  // Defined tracepoints join the catalog under their own names, shadowing
  // the system's: a definition belongs to the text that carries it.
  Catalog with_defs;
  const Catalog* cat = &catalog;
  Plan plan;
  if (!program->tracepoints.empty()) {
    with_defs = catalog;
    cat = &with_defs;
    for (const query::TracepointDef& def : program->tracepoints) {
      hook::ProbeSpec spec = probe_spec(def, uid);
      std::vector<ValueType> types;
      if (typer) {
        auto typed = typer(spec);
        if (!typed) return query::make_error(program->text, def.symbol_pos, typed.error().message());
        types = std::move(*typed);
      } else {
        types = hook::declared_types(spec);
      }
      auto& tps = with_defs.tracepoints;
      tps.erase(std::remove_if(tps.begin(), tps.end(),
                               [&](const TracepointSchema& t) { return t.name == def.name; }),
                tps.end());
      TracepointSchema& schema = tps.emplace_back();
      schema.name = def.name;
      for (size_t i = 0; i < spec.exports.size(); ++i) {
        schema.exports.push_back(
            {spec.exports[i].name, i < types.size() ? types[i] : ValueType::kNull, false});
      }
      for (int b = 0; b < internal::kBuiltinCount; ++b) {
        const internal::ExportDesc& d = internal::builtin_desc(static_cast<internal::Builtin>(b));
        bool shadowed = std::any_of(schema.exports.begin(), schema.exports.end(),
                                    [&](const ExportSchema& e) { return e.name == d.name; });
        if (!shadowed) schema.exports.push_back({std::string(d.name), d.type, d.is_list});
      }
      plan.probes.push_back({def.name, std::move(spec)});
    }
  }
  auto flat = flatten(*program, *cat);
  if (!flat) return flat.error();
  int counter = 0;
  for (const FlatQuery& q : *flat) {
    auto bound = bind_query(q, *cat, program->text);
    if (!bound) return bound.error();
    plan.queries.push_back(Planner(*bound, uid, counter).run());
  }
  // Advice binds to the definitions' own sites.
  for (QueryPlan& qp : plan.queries) {
    for (auto& prog : qp.programs) {
      for (const DefinedProbe& d : plan.probes) {
        if (prog->tracepoint == d.name) prog->tracepoint = d.spec.tracepoint;
      }
    }
  }
  return plan;
}

}  // namespace pivot::planner
