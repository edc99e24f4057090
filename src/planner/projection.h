// Projection push-down: each advice observes only the exports that it or
// the advice after it reads, and each variable's bag carries to its parent
// only the columns read above it. Also decides each bag: its id (a hash of
// the compilation's uid and `query.variable`, so every agent that compiles
// the same text with the same uid agrees on it) and how it packs (First,
// MostRecent, N of them, or partial aggregates).
//
//   project(bound, uid, plan);  // plan.nodes[n].observed, .packed, .spec
//
// Runs after placement and pre-aggregation (advice_plan.h): what the root's
// EMIT reads depends on what the pre-aggregated child computed for it.
// Internal to the planner.
#pragma once

#include <cstdint>

#include "planner/advice_plan.h"
#include "planner/binder.h"

namespace pivot::planner {

void project(const BoundQuery& b, uint64_t uid, AdvicePlan& plan);

}  // namespace pivot::planner
