// Query composition: a named query used as the source of a later one.
//
//   L = From resp In SendResponse Join req In MostRecent(ReceiveRequest) On req -> resp
//       Select resp.host As host, resp.timestamp - req.timestamp As latency
//   From l In L GroupBy l.host Select l.host, AVG(l.latency)
//
// The later query is rewritten to stand on tracepoints alone: L's variables,
// joins, Where and Lets are inlined where `l` was, and `l.latency` becomes
// L's expression for it: its rows are events at its emitting tracepoint, in
// the same causal execution, so they join by happened-before like any other
// tracepoint.
//
// An aggregating source is not inlined: its rows (one per group) exist only
// once the frontend has merged every agent's report. A query whose From
// names one keeps it (FlatQuery::from_query) and is evaluated at the
// frontend over each merged table of the source; it cannot Join, and no
// query can join an aggregating one. A non-aggregating query over an
// aggregating one's rows is inlined as usual, and passes from_query on.
//
// Inlining copies: each use of a source's output is a copy of its
// expression, so a chain of queries that each use the previous output twice
// doubles at every step (20 lines of text, a million nodes). Expressions are
// shared while composing, and every composed query is measured as the later
// stages will walk it (query_size) before it is built further: one over
// kMaxQuerySize is an error at the name of the source that made it so.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pivot/result.h"
#include "planner/catalog.h"
#include "query/ast.h"

namespace pivot::planner {

struct FlatQuery {
  std::string label;       // the query's name, or q<N> by position in the text
  query::Query query;      // sources are tracepoints and unions, and from_query
  std::string from_query;  // the aggregating query whose rows are the From's, or ""
};

// The most nodes a query may have once composed: expression nodes, counted
// once per use as the binder and planner see them, plus variables. The paper's
// queries have at most a few dozen; 10000 keeps a compile, and the advice it
// makes, within a few MB. Fixed: every agent checks it again for itself.
inline constexpr uint64_t kMaxQuerySize = 10'000;

// The size of `q` as kMaxQuerySize counts it (saturating; linear in the
// distinct nodes, however much they are shared).
uint64_t query_size(const query::Query& q);

Result<std::vector<FlatQuery>> flatten(const query::Program& program, const Catalog& catalog);

// The name a later query reads a Select item by: its As name, else the
// field or Let it is (`cl.procName` -> "procName"), else "" (not readable).
std::string output_name(const query::SelectItem& item);

// True when any Select item aggregates.
bool aggregates(const query::Query& q);
bool contains_aggregate(const query::Expr& e);

}  // namespace pivot::planner
