// Code generation: one query's advice programs, from the planner's
// decisions (advice_plan.h), with registers from Registers. Per variable,
// deepest first (the order in which advice packs and unpacks along a causal
// path), a program that
//   OBSERVEs its observed exports,
//   UNPACKs each child's bag,
//   runs its FILTERs and LETs (filters that need no Let of this advice
//     first, to drop rows early),
//   and PACKs its own bag or, at the root, EMITs;
// installed on each of the variable's tracepoints (several for Union).
// Programs are labelled A1, A2, ... across all the queries of a text.
//
//   QueryPlan q = generate(bound, plan, advice_counter);
//
// Also the query's emit shape and result columns. Internal to the planner.
#pragma once

#include "planner/advice_plan.h"
#include "planner/binder.h"
#include "planner/planner.h"

namespace pivot::planner {

QueryPlan generate(const BoundQuery& b, const AdvicePlan& plan, int& advice_counter);

}  // namespace pivot::planner
