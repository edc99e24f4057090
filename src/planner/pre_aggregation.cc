#include "planner/pre_aggregation.h"

#include <algorithm>
#include <set>
#include <vector>

namespace pivot::planner {
namespace {

using query::Expr;
using query::ExprPtr;

// Whether `e` reads any variable of the subtree at `sub`.
bool touches(const BoundQuery& b, const Expr& e, int sub) {
  for (int r : b.refs(e)) {
    if (b.in_subtree(r, sub)) return true;
  }
  return false;
}

// Whether `e` reads variables of the subtree at `sub` and no others.
bool only(const BoundQuery& b, const Expr& e, int sub) {
  std::set<int> refs = b.refs(e);
  return !refs.empty() && std::all_of(refs.begin(), refs.end(), [&](int r) { return b.in_subtree(r, sub); });
}

bool try_pre_aggregate(const BoundQuery& b, int u, AdvicePlan& plan) {
  const NodePlan& root = plan.nodes[0];
  for (const ExprPtr& f : root.filters) {
    if (touches(b, *f, u)) return false;
  }
  for (const query::Let* l : root.lets) {
    if (touches(b, *l->expr, u)) return false;
  }
  std::vector<ExprPtr> keys;
  std::vector<const Expr*> aggs;
  for (const ExprPtr& k : b.keys) {
    if (only(b, *k, u))
      keys.push_back(k);
    else if (touches(b, *k, u))
      return false;
  }
  for (const Expr* a : b.aggs) {
    if (a->args.empty() || !touches(b, *a->args[0], u)) continue;
    // COUNT, the distributions, QUANTILE and COUNT(DISTINCT) have no presummed form.
    if (!only(b, *a->args[0], u) || a->agg == query::AggFn::kCount || a->agg == query::AggFn::kHist ||
        a->agg == query::AggFn::kLhist || a->agg == query::AggFn::kQuantile ||
        a->agg == query::AggFn::kCountDistinct)
      return false;
    aggs.push_back(a);
  }
  NodePlan& p = plan.nodes[u];
  plan.pre_aggregated = u;
  p.pre_keys = std::move(keys);
  p.pre_aggs = std::move(aggs);
  for (const ExprPtr& k : p.pre_keys) columns_of(*k, p.uses);
  for (const Expr* a : p.pre_aggs) columns_of(*a->args[0], p.uses);
  return true;
}

}  // namespace

void choose_pre_aggregation(const BoundQuery& b, AdvicePlan& plan) {
  if (!b.aggregating) return;
  for (int child : b.nodes[0].children) {
    if (b.nodes[child].mode == query::JoinMode::kAll && try_pre_aggregate(b, child, plan)) return;
  }
}

}  // namespace pivot::planner
