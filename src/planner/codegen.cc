#include "planner/codegen.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "planner/registers.h"
#include "query/parser.h"
#include "query/printer.h"

namespace pivot::planner {
namespace {

using query::Expr;
using query::ExprPtr;

advice::Op advice_op(query::Op op) { return static_cast<advice::Op>(static_cast<int>(op)); }
static_assert(static_cast<int>(query::Op::kNeg) == static_cast<int>(advice::Op::kNeg));

static_assert(aggregate::kMaxLhistBuckets == query::kMaxLhistBuckets);

// HIST, LHIST and QUANTILE's parameters (the parser checked them); none
// for the others.
aggregate::DistParams dist_params(const Expr& a) {
  if (a.agg == query::AggFn::kHist) return aggregate::hist_params();
  if (a.agg == query::AggFn::kQuantile && a.args.size() == 2)
    return aggregate::quantile_params(a.args[1]->literal.to_double());
  if (a.agg == query::AggFn::kLhist && a.args.size() == 4) {
    return aggregate::lhist_params(a.args[1]->literal.as_int(), a.args[2]->literal.as_int(),
                                   a.args[3]->literal.as_int());
  }
  return {};
}

aggregate::AggFn agg_fn(query::AggFn f) {
  switch (f) {
    case query::AggFn::kCount: return aggregate::AggFn::kCount;
    case query::AggFn::kSum: return aggregate::AggFn::kSum;
    case query::AggFn::kMin: return aggregate::AggFn::kMin;
    case query::AggFn::kMax: return aggregate::AggFn::kMax;
    case query::AggFn::kAvg: return aggregate::AggFn::kAvg;
    case query::AggFn::kHist: return aggregate::AggFn::kHist;
    case query::AggFn::kLhist: return aggregate::AggFn::kLhist;
    case query::AggFn::kQuantile: return aggregate::AggFn::kQuantile;
    case query::AggFn::kCountDistinct: return aggregate::AggFn::kCountDistinct;
  }
  return aggregate::AggFn::kCount;
}

advice::ExprPtr reg_expr(uint16_t reg) {
  auto e = std::make_shared<advice::Expr>();
  e->kind = advice::Expr::Kind::kReg;
  e->reg = reg;
  return e;
}

advice::ExprPtr const_expr(Value v) {
  auto e = std::make_shared<advice::Expr>();
  e->constant = std::move(v);
  return e;
}

advice::ExprPtr compile(Registers& regs, const Expr& e) {
  auto out = std::make_shared<advice::Expr>();
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      out->kind = advice::Expr::Kind::kConst;
      out->constant = e.literal;
      break;
    case Expr::Kind::kField:
      out->kind = advice::Expr::Kind::kReg;
      out->reg = regs.reg(field_column(e.var, e.field));
      break;
    case Expr::Kind::kName:
      out->kind = advice::Expr::Kind::kReg;
      out->reg = regs.reg(let_column(e.name));
      break;
    case Expr::Kind::kUnary:
      out->kind = advice::Expr::Kind::kUnary;
      out->op = advice_op(e.op);
      out->a = compile(regs, *e.args[0]);
      break;
    case Expr::Kind::kBinary:
      out->kind = advice::Expr::Kind::kBinary;
      out->op = advice_op(e.op);
      out->a = compile(regs, *e.args[0]);
      out->b = compile(regs, *e.args[1]);
      break;
    case Expr::Kind::kAggregate: break;  // never compiled: EMIT takes the argument
  }
  return out;
}

class Generator {
 public:
  Generator(const BoundQuery& b, const AdvicePlan& plan, int& counter)
      : b_(b), plan_(plan), counter_(counter) {}

  QueryPlan run() {
    QueryPlan out;
    out.label = b_.flat->label;
    make_shape(out);
    for (int n : b_.deepest_first()) build_program(n, out);
    return out;
  }

 private:
  void make_shape(QueryPlan& out) const {
    const query::Query& q = b_.flat->query;
    out.shape.keys = static_cast<uint32_t>(b_.keys.size());
    out.shape.raw = b_.raw;
    for (const Expr* a : b_.aggs) {
      out.shape.aggs.push_back(agg_fn(a->agg));
      out.shape.presummed.push_back(plan_.pre_agg(a) >= 0);
      out.shape.params.push_back(dist_params(*a));
    }
    for (size_t i = 0; i < q.select.size(); ++i) {
      const query::SelectItem& item = q.select[i];
      out.columns.push_back(item.alias.empty() ? query::to_string(*item.expr) : item.alias);
      auto [is_key, index] = b_.columns[i];
      out.column_index.push_back(is_key ? index : static_cast<uint32_t>(b_.keys.size()) + index);
    }
    out.units = b_.units;
    for (auto [column, desc] : b_.order) out.order.push_back({column, desc});
    out.limit = q.limit;
  }

  std::string bag_name(int n) const { return b_.flat->label + "." + b_.nodes[n].var; }

  void build_program(int n, QueryPlan& out) {
    const Node& node = b_.nodes[n];
    const NodePlan& p = plan_.nodes[n];
    auto prog = std::make_shared<advice::Program>();
    prog->label = "A" + std::to_string(++counter_);
    prog->depth = node.depth;
    Registers regs(b_, plan_, n);

    for (const Column& c : p.observed) prog->observe.push_back({c.name, regs.reg(c)});
    for (size_t i = 0; i < node.children.size(); ++i) {
      const NodePlan& child = plan_.nodes[node.children[i]];
      advice::Unpack up;
      up.spec = child.spec;
      up.first_reg = regs.bag_start(i);
      up.n_fields = static_cast<uint16_t>(child.packed.size());
      up.bag = bag_name(node.children[i]);
      prog->unpacks.push_back(std::move(up));
    }
    add_steps(p, regs, *prog);
    if (n == 0)
      prog->emit = build_emit(regs);
    else
      prog->pack = build_pack(n, regs);

    prog->n_regs = regs.count();
    prog->reg_names = regs.names();
    for (const std::string& tp : node.tracepoints) {
      auto copy = std::make_shared<advice::Program>(*prog);
      copy->tracepoint = tp;
      out.programs.push_back(std::move(copy));
    }
  }

  // FILTER and LET. Filters that need no Let of this advice run first: they
  // drop rows early.
  static void add_steps(const NodePlan& p, Registers& regs, advice::Program& prog) {
    auto needs_local_let = [&](const Expr& e) {
      std::vector<Column> cols;
      columns_of(e, cols);
      return std::any_of(cols.begin(), cols.end(), [&](const Column& c) {
        return std::any_of(p.lets.begin(), p.lets.end(),
                           [&](const query::Let* l) { return c.key == "let:" + l->name; });
      });
    };
    for (const ExprPtr& e : p.filters) {
      if (!needs_local_let(*e)) prog.steps.push_back({true, compile(regs, *e), 0});
    }
    for (const query::Let* l : p.lets) {
      prog.steps.push_back({false, compile(regs, *l->expr), regs.reg(let_column(l->name))});
    }
    for (const ExprPtr& e : p.filters) {
      if (needs_local_let(*e)) prog.steps.push_back({true, compile(regs, *e), 0});
    }
  }

  // A pre-aggregated bag packs its keys, a row count of 1 and its
  // aggregates' arguments; a tuple bag packs its columns.
  advice::Pack build_pack(int n, Registers& regs) const {
    const NodePlan& p = plan_.nodes[n];
    advice::Pack pack;
    pack.spec = p.spec;
    pack.bag = bag_name(n);
    if (n == plan_.pre_aggregated) {
      for (const ExprPtr& k : p.pre_keys) pack.values.push_back(compile(regs, *k));
      pack.values.push_back(const_expr(Value(int64_t{1})));
      for (const Expr* a : p.pre_aggs) pack.values.push_back(compile(regs, *a->args[0]));
    } else {
      for (const Column& c : p.packed) pack.values.push_back(reg_expr(regs.reg(c)));
    }
    return pack;
  }

  // Keys and aggregate inputs; those the pre-aggregated child computed are
  // read from its bag (keys, then the row count, then the aggregates), whose
  // row count weighs each row.
  advice::Emit build_emit(Registers& regs) const {
    advice::Emit emit;
    const std::vector<Column>* bag =
        plan_.pre_aggregated >= 0 ? &plan_.nodes[plan_.pre_aggregated].packed : nullptr;
    size_t n_pre_keys = bag ? plan_.nodes[plan_.pre_aggregated].pre_keys.size() : 0;
    for (const ExprPtr& k : b_.keys) {
      int i = plan_.pre_key(k);
      emit.keys.push_back(i >= 0 ? reg_expr(regs.reg((*bag)[i])) : compile(regs, *k));
    }
    for (const Expr* a : b_.aggs) {
      int j = plan_.pre_agg(a);
      if (a->args.empty())
        emit.inputs.push_back(const_expr(Value(true)));
      else if (j >= 0)
        emit.inputs.push_back(reg_expr(regs.reg((*bag)[n_pre_keys + 1 + j])));
      else
        emit.inputs.push_back(compile(regs, *a->args[0]));
    }
    if (bag) emit.weight_reg = regs.reg((*bag)[n_pre_keys]);
    return emit;
  }

  const BoundQuery& b_;
  const AdvicePlan& plan_;
  int& counter_;
};

}  // namespace

QueryPlan generate(const BoundQuery& b, const AdvicePlan& plan, int& advice_counter) {
  return Generator(b, plan, advice_counter).run();
}

}  // namespace pivot::planner
