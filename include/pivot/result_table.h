// pivot::ResultTable: the answer of a query, as columns and rows.
//
//   auto t = session.results(q);
//   t.to_json();  // {"columns":["cl.procName","SUM(incr.delta)"],"rows":[["HBase",123]]}
//
// Rows are sorted by their values, so equal answers print identically.
// `incomplete` is set when something could not be counted: a limit dropped
// events (`dropped` says how many) or a baggage hit its byte cap. The
// limits are per process and interval: a query without aggregation keeps
// at most 10000 rows, a grouping query at most `max_groups` groups (events
// that would start another group are dropped), and the merged result at
// most max_groups groups too (docs/architecture.md, "Limits").
// `overflow` is set when a SUM or AVG of integers went past 64 bits: that
// value is a double from then on, and approximate.
//
// A COUNT(DISTINCT x) column is exact up to 4096 distinct values per group
// and estimated by HyperLogLog past them (standard error 0.81 %);
// `estimated` names the columns where some row was estimated.
//
// A HIST or LHIST column's cells are its buckets as JSON text, a string
// such as `[{"lo":4,"hi":8,"count":3}]` (lo inclusive, hi exclusive, null
// where open; from the first bucket with events to the last). `distribution_columns` lists those
// columns: to_json() writes their cells as JSON, not as strings, and
// to_text() draws them as bpftrace does, with bars.
//
// `units` says which columns are durations or byte counts (from the
// tracepoints' PIVOT_EXPORT_UNIT, through the query's arithmetic and
// aggregates); only the text table shows them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pivot/value.h"

namespace pivot {

struct ResultTable {
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;
  // Per column, what its numbers measure (empty: none). to_text() prints a
  // duration as `10.09 ms` and a byte count as `1.20 MiB`; to_json() and
  // to_csv() keep the raw numbers (ns, bytes).
  std::vector<Unit> units;
  bool incomplete = false;
  uint64_t dropped = 0;     // events (rows at the emitting tracepoint) a limit left out
  uint32_t max_groups = 0;  // the group limit it ran with; 0 for a query without GroupBy or aggregates
  bool overflow = false;
  std::vector<uint32_t> distribution_columns;  // HIST and LHIST columns, ascending
  std::vector<std::string> estimated;          // COUNT(DISTINCT) columns some row of which was estimated

  // {"columns":[...],"rows":[[...],...]}, plus "incomplete":true,
  // "dropped":N, "max_groups":M, "overflow":true and "estimated":[column...]
  // only when they apply.
  std::string to_json() const;
  // An aligned text table with a header line.
  std::string to_text() const;
  // RFC 4180 CSV with a header line.
  std::string to_csv() const;

 private:
  bool is_distribution(size_t column) const;
  std::string to_text_with_histograms() const;
};

}  // namespace pivot
