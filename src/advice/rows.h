// Runs an advice program over rows that are already merged results rather
// than a tracepoint's events: a query over an aggregating query's rows
// (planner::QueryPlan::source) is evaluated this way at the frontend, on
// each merged table of its source.
//
//   run_on_rows(*plan.programs[0], plan.source_columns, source_table.rows, partial);
//
// OBSERVE i reads row[columns[i]]; FILTER and LET run as at a site; EMIT
// adds the row to `out` (not to the program's collector). Such a program
// has no UNPACK or PACK: a query over merged rows cannot Join.
//
// Thread safety: none beyond `out`'s (one thread at a time).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "advice/program.h"
#include "aggregate/partial.h"

namespace pivot::advice {

void run_on_rows(const Program& p, std::span<const uint32_t> columns,
                 const std::vector<std::vector<Value>>& rows, aggregate::Partial& out);

}  // namespace pivot::advice
