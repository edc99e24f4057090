// Query composition: a named query used as the source of a later one.
//
//   L = From resp In SendResponse Join req In MostRecent(ReceiveRequest) On req -> resp
//       Select resp.host As host, resp.timestamp - req.timestamp As latency
//   From l In L GroupBy l.host Select l.host, AVG(l.latency)
//
// The later query is rewritten to stand on tracepoints alone: L's variables,
// joins, Where and Lets are inlined where `l` was, and `l.latency` becomes
// L's expression for it. A source query must not aggregate: its rows are
// events at its emitting tracepoint, in the same causal execution, so they
// join by happened-before like any other tracepoint.
#pragma once

#include <string>
#include <vector>

#include "pivot/result.h"
#include "planner/catalog.h"
#include "query/ast.h"

namespace pivot::planner {

struct FlatQuery {
  std::string label;   // the query's name, or q<N> by position in the text
  query::Query query;  // sources are tracepoints and unions only
};

Result<std::vector<FlatQuery>> flatten(const query::Program& program, const Catalog& catalog);

// True when any Select item aggregates.
bool aggregates(const query::Query& q);
bool contains_aggregate(const query::Expr& e);

}  // namespace pivot::planner
