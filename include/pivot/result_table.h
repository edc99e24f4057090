// pivot::ResultTable: the answer of a query, as columns and rows.
//
//   auto t = session.results(q);
//   t.to_json();  // {"columns":["cl.procName","SUM(incr.delta)"],"rows":[["HBase",123]]}
//
// Rows are sorted by their values, so equal answers print identically.
// `incomplete` is set when some tuples could not be counted (a baggage hit
// its byte cap); `dropped` counts the tuples a query without aggregation
// could not keep (each process keeps a bounded number per interval);
// `overflow` is set when a SUM or AVG of integers went past 64 bits: that
// value is a double from then on, and approximate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pivot/value.h"

namespace pivot {

struct ResultTable {
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;
  bool incomplete = false;
  uint64_t dropped = 0;
  bool overflow = false;

  // {"columns":[...],"rows":[[...],...]}, plus "incomplete":true,
  // "dropped":N and "overflow":true only when they apply.
  std::string to_json() const;
  // An aligned text table with a header line.
  std::string to_text() const;
  // RFC 4180 CSV with a header line.
  std::string to_csv() const;
};

}  // namespace pivot
