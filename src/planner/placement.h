// Placement (filter and Let push-down): each Let and each Where conjunct
// goes to the earliest advice that has every variable it reads, the deepest
// variable whose subtree holds them all, so that rows are dropped, and values
// computed, before anything is packed for them. A conjunct never goes below a
// First/MostRecent variable: there it would change which tuple is selected.
//
//   AdvicePlan plan = place(bound);  // plan.nodes[n].filters, .lets, .uses
//
// The first pass of the planner (advice_plan.h). Internal to the planner.
#pragma once

#include "planner/advice_plan.h"
#include "planner/binder.h"

namespace pivot::planner {

// A plan with one NodePlan per variable: its filters and Lets, in query
// order, and the columns they read.
AdvicePlan place(const BoundQuery& b);

}  // namespace pivot::planner
