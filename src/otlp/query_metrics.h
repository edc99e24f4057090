// Query results as OTLP metrics: what `pivot query --otlp URL` and
// `pivot serve --otlp URL` send to URL/v1/metrics. Not public API.
//
//   QueryMetrics m{"seed", frontend::describe_columns(*fe.shown_query())};
//   std::string body = encode_query_metrics(m, snapshot.total, start_ns, now_ns, "pivot", &points);
//   exporter.send(std::move(body), points);
//
// The mapping (docs/otlp.md): each aggregate column becomes data points of
// the metric of its function, and each GroupBy column an attribute of them;
// `pivot.query` and `pivot.column` say which query and column a point is:
//
//   pivot.query.count  Sum, cumulative, monotonic   COUNT
//   pivot.query.sum    Sum, cumulative, monotonic   SUM
//   pivot.query.avg    Gauge                        AVG (AVERAGE)
//   pivot.query.min    Gauge                        MIN
//   pivot.query.max    Gauge                        MAX
//
// Values are the query's totals since start_ns (cumulative, as the Sums
// say; the gauges are the total's AVG, MIN and MAX); time_ns is raised to
// start_ns if it is earlier. An int stays an int
// (as_int), a double a double; a null or string aggregate has no point. A
// GroupBy value that is null has no attribute. A GroupBy column named
// pivot.query or pivot.column is sent as group.<name>. A query without
// aggregates (raw rows) has no metrics.
//
// Thread safety: a pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/columns.h"
#include "pivot/result_table.h"

namespace pivot::otlp {

struct QueryMetrics {
  std::string name;                       // the query's name or label
  std::vector<frontend::Column> columns;  // of the result, in its order
};

// One ExportMetricsServiceRequest with the query's points; *points (if
// not null) is how many. The resource is service.name = service_name.
std::string encode_query_metrics(const QueryMetrics& query, const ResultTable& total, int64_t start_ns,
                                 int64_t time_ns, std::string_view service_name, size_t* points = nullptr);

// Whether the query has anything to send (an aggregate column).
bool has_metrics(const QueryMetrics& query);

}  // namespace pivot::otlp
