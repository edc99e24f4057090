#include "planner/placement.h"

#include <set>
#include <vector>

namespace pivot::planner {
namespace {

using query::Expr;
using query::ExprPtr;

// The deepest variable whose subtree holds every variable in `refs`: the
// earliest advice that sees all of them.
int lowest_common(const BoundQuery& b, const std::set<int>& refs) {
  if (refs.empty()) return 0;
  int lca = *refs.begin();
  for (int r : refs) {
    while (!b.in_subtree(r, lca)) lca = b.nodes[lca].parent;
  }
  return lca;
}

// Where filters the joined rows; First/MostRecent select among the tuples
// of their variable before that. A filter pushed below a selection would
// change which tuple is selected, so it goes no lower than the parent of
// the highest selecting variable on its way to the root.
int above_selections(const BoundQuery& b, int n) {
  int placed = n;
  for (int a = n; a > 0; a = b.nodes[a].parent) {
    if (b.nodes[a].mode != query::JoinMode::kAll) placed = b.nodes[a].parent;
  }
  return placed;
}

void split_and(const ExprPtr& e, std::vector<ExprPtr>& out) {
  if (e->kind == Expr::Kind::kBinary && e->op == query::Op::kAnd) {
    split_and(e->args[0], out);
    split_and(e->args[1], out);
  } else {
    out.push_back(e);
  }
}

}  // namespace

AdvicePlan place(const BoundQuery& b) {
  const query::Query& q = b.flat->query;
  AdvicePlan plan;
  plan.nodes.resize(b.nodes.size());
  for (const query::Let& l : q.lets) {
    NodePlan& p = plan.nodes[lowest_common(b, b.lets.at(l.name).nodes)];
    p.lets.push_back(&l);
    columns_of(*l.expr, p.uses);
  }
  if (q.where) {
    std::vector<ExprPtr> conjuncts;
    split_and(q.where, conjuncts);
    for (const ExprPtr& c : conjuncts) {
      NodePlan& p = plan.nodes[above_selections(b, lowest_common(b, b.refs(*c)))];
      p.filters.push_back(c);
      columns_of(*c, p.uses);
    }
  }
  return plan;
}

}  // namespace pivot::planner
