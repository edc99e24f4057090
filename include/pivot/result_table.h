// pivot::ResultTable: the answer of a query, as columns and rows.
//
//   auto t = session.results(q);
//   t.to_json();  // {"columns":["cl.procName","SUM(incr.delta)"],"rows":[["HBase",123]]}
//
// Rows are sorted by their values, so equal answers print identically.
// `incomplete` is set when some tuples could not be counted (a baggage hit
// its byte cap); `dropped` counts the tuples a query without aggregation
// could not keep (each process keeps a bounded number per interval).
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

  // {"columns":[...],"rows":[[...],...]}, plus "incomplete":true and
  // "dropped":N only when they apply.
  std::string to_json() const;
  // An aligned text table with a header line.
  std::string to_text() const;
  // RFC 4180 CSV with a header line.
  std::string to_csv() const;
};

}  // namespace pivot
