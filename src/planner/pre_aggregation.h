// Pre-aggregation in PACK: when the root only groups by a joined variable's
// values or aggregates them, that variable's advice packs partial
// aggregates (group key, row count, a SUM/MIN/MAX per aggregate) instead of
// its tuples, so the baggage carries one entry per group rather than one per
// event (the paper's ~600 tuples/s became 6 per node).
//
//   choose_pre_aggregation(bound, plan);  // plan.pre_aggregated: the child, or -1
//
// Only a plainly joined child of the root qualifies (First/MostRecent select
// tuples, which partial aggregates no longer are), and at most one per query:
// the row counts of two would have to multiply. Runs after placement, whose
// root filters and Lets must not read the child. Internal to the planner.
#pragma once

#include "planner/advice_plan.h"
#include "planner/binder.h"

namespace pivot::planner {

// Picks the child, if any; sets its pre_keys and pre_aggs and adds the
// columns they read to its uses.
void choose_pre_aggregation(const BoundQuery& b, AdvicePlan& plan);

}  // namespace pivot::planner
