// /metrics: managed queries' totals and serve's health in the Prometheus
// text format (0.0.4) or OpenMetrics 1.0, whichever the scraper asks for.
//
// A query's aggregate columns become samples and its GroupBy columns labels:
//
//   # TYPE pivot_query_sum_total counter
//   pivot_query_sum_total{query="seed",column="SUM(incr.delta)",cl_procName="HBase"} 1234
//
// COUNT and SUM are counters (pivot_query_count_total, pivot_query_sum_total),
// AVG, MIN and MAX gauges (pivot_query_avg, pivot_query_min, pivot_query_max).
// Label names are the column names made valid ([a-zA-Z_][a-zA-Z0-9_]*, not
// "__..."); one that meets `query`, `column` or an earlier label gets a
// "group_" prefix (and a number if need be). docs/serve.md lists every family.
//
// Thread safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frontend/columns.h"
#include "pivot/otlp.h"
#include "pivot/result_table.h"

namespace pivot::serve {

// What /metrics says about one managed query.
struct QueryMetrics {
  std::string name;
  bool running = false;
  std::vector<frontend::Column> columns;  // of `total`; empty until the query has compiled
  ResultTable total;
  int agents = 0;
  int64_t install_ms = 0;
  int64_t intervals = 0;
  int64_t lost_reports = 0;
};

// serve's own state.
struct ServeHealth {
  int agents = 0;                                            // in the last discovery
  std::vector<std::pair<std::string, uint64_t>> limit_hits;  // limit name, times it acted
  size_t sse_clients = 0;
  uint64_t unauthorized = 0;  // requests refused for a missing or wrong token
  // With --otlp: what the metrics exporter did (requests sent, failed,
  // dropped); no family at all without it.
  std::optional<OtlpStats> otlp;
};

enum class MetricsFormat { kPrometheus, kOpenMetrics };

// OpenMetrics when the Accept header names application/openmetrics-text.
MetricsFormat negotiate(std::string_view accept);
std::string content_type(MetricsFormat f);
std::string render_metrics(const std::vector<QueryMetrics>& queries, const ServeHealth& health,
                           MetricsFormat format);

// A column name as a label name: "cl.procName" -> "cl_procName".
std::string sanitize_label_name(std::string_view name);
// Backslash, double quote and newline escaped, as label values need.
std::string escape_label_value(std::string_view value);

}  // namespace pivot::serve
