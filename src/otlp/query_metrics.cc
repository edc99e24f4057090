#include "otlp/query_metrics.h"

#include <algorithm>
#include <array>

#include "otlp/otlp_encode.h"

namespace pivot::otlp {
namespace {

using aggregate::AggFn;

struct MetricOf {
  AggFn fn;
  std::string_view name;
  std::string_view description;
  MetricsRequest::Kind kind;
};
constexpr std::array<MetricOf, 7> kMetrics{{
    {AggFn::kCount, "pivot.query.count", "COUNT columns of pivot queries", MetricsRequest::kMonotonicSum},
    {AggFn::kSum, "pivot.query.sum", "SUM columns of pivot queries", MetricsRequest::kMonotonicSum},
    {AggFn::kAvg, "pivot.query.avg", "AVG columns of pivot queries", MetricsRequest::kGauge},
    {AggFn::kMin, "pivot.query.min", "MIN columns of pivot queries", MetricsRequest::kGauge},
    {AggFn::kMax, "pivot.query.max", "MAX columns of pivot queries", MetricsRequest::kGauge},
    {AggFn::kQuantile, "pivot.query.quantile", "QUANTILE, P50, P90 and P99 columns of pivot queries",
     MetricsRequest::kGauge},
    {AggFn::kCountDistinct, "pivot.query.count_distinct", "COUNT(DISTINCT) columns of pivot queries",
     MetricsRequest::kGauge},
}};

constexpr std::string_view kQueryKey = "pivot.query";
constexpr std::string_view kColumnKey = "pivot.column";

// The attribute keys of the GroupBy columns, by column index ("" for others).
std::vector<std::string> group_keys(const QueryMetrics& q) {
  std::vector<std::string> keys(q.columns.size());
  for (size_t i = 0; i < q.columns.size(); ++i) {
    if (q.columns[i].role != frontend::Column::kGroup) continue;
    const std::string& name = q.columns[i].name;
    keys[i] = name == kQueryKey || name == kColumnKey ? "group." + name : name;
  }
  return keys;
}

void add_column_points(MetricsRequest& r, const QueryMetrics& q, size_t column, const ResultTable& total,
                       const std::vector<std::string>& keys, int64_t start_ns, int64_t time_ns) {
  std::vector<Attribute> attributes;
  for (const auto& row : total.rows) {
    if (column >= row.size()) continue;
    attributes.clear();
    attributes.push_back({kQueryKey, q.name});
    attributes.push_back({kColumnKey, q.columns[column].name});
    for (size_t k = 0; k < keys.size() && k < row.size(); ++k) {
      AttributeValue v("");
      if (!keys[k].empty() && to_attribute_value(row[k], v)) attributes.push_back({keys[k], v});
    }
    r.add_point(attributes, start_ns, time_ns, row[column]);
  }
}

}  // namespace

bool has_metrics(const QueryMetrics& query) {
  for (const auto& c : query.columns) {
    if (c.role == frontend::Column::kAggregate) return true;
  }
  return false;
}

std::string encode_query_metrics(const QueryMetrics& q, const ResultTable& total, int64_t start_ns,
                                 int64_t time_ns, std::string_view service_name, size_t* points) {
  const std::array<Attribute, 1> resource{{{"service.name", service_name}}};
  MetricsRequest r(resource, "pivot", PIVOT_VERSION);
  const std::vector<std::string> keys = group_keys(q);
  // OTLP wants time >= start. The start is read when the query was
  // installed and the interval's time in ms, so the first interval can
  // seem to end before its start did.
  time_ns = std::max(time_ns, start_ns);
  for (const MetricOf& m : kMetrics) {
    bool begun = false;
    for (size_t c = 0; c < q.columns.size(); ++c) {
      if (q.columns[c].role != frontend::Column::kAggregate || q.columns[c].fn != m.fn) continue;
      if (!begun) r.begin_metric(m.name, m.description, m.kind);
      begun = true;
      add_column_points(r, q, c, total, keys, start_ns, time_ns);
    }
    if (begun) r.end_metric();
  }
  if (points != nullptr) *points = r.points();
  return r.finish();
}

}  // namespace pivot::otlp
