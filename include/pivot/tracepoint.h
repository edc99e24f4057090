// Static tracepoints.
//
//   void DataNodeMetrics::incrBytesRead(int64_t delta) {
//     PIVOT_TRACEPOINT("DataNodeMetrics.incrBytesRead", delta);
//     ...
//   }
//   PIVOT_TRACEPOINT("NN.GetBlockLocations", src, PIVOT_EXPORT("replicas", locs.hosts()));
//
// Each argument after the name is exported under its own spelling (`delta`
// is "delta"); PIVOT_EXPORT("name", expr) names an expression, and
// PIVOT_EXPORT_UNIT("name", expr, "unit") also says what it measures, so that
// tables print it with a unit: "ns" (a duration), "bytes", or "epoch_ns" (a
// time since the epoch, as `timestamp`):
//
//   PIVOT_TRACEPOINT("DataNodeMetrics.incrBytesRead", PIVOT_EXPORT_UNIT("delta", delta, "bytes"));
//
// Numbers, bools,
// enums, strings and containers of them can be exported; a container is a
// list-valued export, and advice runs once per element. Every tracepoint also
// exports host, procName, procId, tid, timestamp (ns since the epoch) and cpu.
//
// Cost: while no query uses the site, one relaxed atomic load and a
// predicted-not-taken branch; the arguments are not evaluated. When advice
// is installed only the exports it uses are evaluated.
//
// Sites are known from program load (they register during static
// initialization), so queries can name them before they first run. Several
// sites may share a name; advice for that name runs at all of them.
#pragma once

#include "pivot/internal/tracepoint.h"

#define PIVOT_EXPORT(name, expr) ::pivot::internal::pivot_export_named_(name, expr)
#define PIVOT_EXPORT_UNIT(name, expr, unit) ::pivot::internal::pivot_export_unit_(name, unit, expr)

#define PIVOT_TRACEPOINT(tracepoint_name, ...) \
  PIVOT_INTERNAL_TRACEPOINT(tracepoint_name __VA_OPT__(, ) __VA_ARGS__)
