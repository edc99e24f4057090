#include "otlp/otlp_encode.h"

#include <bit>

namespace pivot::otlp {
namespace {

// Field numbers, from the opentelemetry-proto .proto files named.
namespace common {                                                             // common/v1/common.proto
constexpr uint32_t kAnyString = 1, kAnyBool = 2, kAnyInt = 3, kAnyDouble = 4;  // AnyValue
constexpr uint32_t kKeyValueKey = 1, kKeyValueValue = 2;                       // KeyValue
constexpr uint32_t kScopeName = 1, kScopeVersion = 2;                          // InstrumentationScope
}  // namespace common
constexpr uint32_t kResourceAttributes = 1;    // resource/v1/resource.proto: Resource
namespace trace {                              // trace/v1/trace.proto, collector/trace/v1/trace_service.proto
constexpr uint32_t kRequestResourceSpans = 1;  // ExportTraceServiceRequest
constexpr uint32_t kResource = 1, kScopeSpans = 2;                // ResourceSpans
constexpr uint32_t kScope = 1, kSpans = 2;                        // ScopeSpans
constexpr uint32_t kTraceId = 1, kSpanId = 2, kParentSpanId = 4;  // Span
constexpr uint32_t kName = 5, kKind = 6, kStart = 7, kEnd = 8, kAttributes = 9;
}  // namespace trace
namespace metrics {  // metrics/v1/metrics.proto, collector/metrics/v1/metrics_service.proto
constexpr uint32_t kRequestResourceMetrics = 1;                        // ExportMetricsServiceRequest
constexpr uint32_t kResource = 1, kScopeMetrics = 2;                   // ResourceMetrics
constexpr uint32_t kScope = 1, kMetrics = 2;                           // ScopeMetrics
constexpr uint32_t kName = 1, kDescription = 2, kGauge = 5, kSum = 7;  // Metric
constexpr uint32_t kDataPoints = 1, kTemporality = 2, kMonotonic = 3;  // Gauge, Sum
constexpr uint32_t kPointStart = 2, kPointTime = 3, kAsDouble = 4, kAsInt = 6, kPointAttributes = 7;
constexpr uint64_t kCumulative = 2;  // AggregationTemporality
}  // namespace metrics

std::string_view as_chars(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void write_attribute(ProtoWriter& w, uint32_t field, const Attribute& a) {
  size_t kv = w.begin(field);
  if (!a.key.empty()) w.bytes_field(common::kKeyValueKey, a.key);
  size_t any = w.begin(common::kKeyValueValue);
  const AttributeValue& v = a.value;
  switch (v.type) {
    case AttributeValue::kString: w.bytes_field(common::kAnyString, v.s); break;
    case AttributeValue::kBool: w.varint_field(common::kAnyBool, v.b ? 1 : 0); break;
    case AttributeValue::kInt: w.varint_field(common::kAnyInt, static_cast<uint64_t>(v.i)); break;
    case AttributeValue::kDouble: w.double_field(common::kAnyDouble, v.d); break;
  }
  w.end(any);
  w.end(kv);
}

void write_attributes(ProtoWriter& w, uint32_t field, std::span<const Attribute> attributes) {
  for (const Attribute& a : attributes) write_attribute(w, field, a);
}

void write_scope(ProtoWriter& w, uint32_t field, std::string_view name, std::string_view version) {
  size_t scope = w.begin(field);
  if (!name.empty()) w.bytes_field(common::kScopeName, name);
  if (!version.empty()) w.bytes_field(common::kScopeVersion, version);
  w.end(scope);
}

void write_resource(ProtoWriter& w, uint32_t field, std::span<const Attribute> attributes) {
  size_t resource = w.begin(field);
  write_attributes(w, kResourceAttributes, attributes);
  w.end(resource);
}

}  // namespace

bool to_attribute_value(const Value& v, AttributeValue& out) {
  if (v.is_string()) {
    out = AttributeValue(std::string_view(v.as_string()));
  } else if (v.is_int()) {
    out = AttributeValue(v.as_int());
  } else if (v.is_double()) {
    out = AttributeValue(v.as_double());
  } else if (v.is_bool()) {
    out = AttributeValue(v.as_bool());
  } else {
    return false;
  }
  return true;
}

TraceRequest::TraceRequest(std::span<const Attribute> resource, std::string_view scope_name,
                           std::string_view scope_version) {
  resource_spans_ = w_.begin(trace::kRequestResourceSpans);
  write_resource(w_, trace::kResource, resource);
  scope_spans_ = w_.begin(trace::kScopeSpans);
  write_scope(w_, trace::kScope, scope_name, scope_version);
}

void TraceRequest::add_span(const SpanFields& s, std::span<const Attribute> attributes) {
  size_t span = w_.begin(trace::kSpans);
  w_.bytes_field(trace::kTraceId, as_chars(s.trace_id));
  w_.bytes_field(trace::kSpanId, as_chars(s.span_id));
  if (!s.parent_span_id.empty()) w_.bytes_field(trace::kParentSpanId, as_chars(s.parent_span_id));
  if (!s.name.empty()) w_.bytes_field(trace::kName, s.name);
  if (s.kind != SpanKind::kUnspecified) w_.varint_field(trace::kKind, static_cast<uint32_t>(s.kind));
  w_.fixed64_field(trace::kStart, static_cast<uint64_t>(s.start_ns));
  w_.fixed64_field(trace::kEnd, static_cast<uint64_t>(s.end_ns));
  write_attributes(w_, trace::kAttributes, attributes);
  w_.end(span);
  ++spans_;
}

std::string TraceRequest::finish() {
  w_.end(scope_spans_);
  w_.end(resource_spans_);
  return w_.take();
}

MetricsRequest::MetricsRequest(std::span<const Attribute> resource, std::string_view scope_name,
                               std::string_view scope_version) {
  resource_metrics_ = w_.begin(metrics::kRequestResourceMetrics);
  write_resource(w_, metrics::kResource, resource);
  scope_metrics_ = w_.begin(metrics::kScopeMetrics);
  write_scope(w_, metrics::kScope, scope_name, scope_version);
}

void MetricsRequest::begin_metric(std::string_view name, std::string_view description, Kind kind) {
  kind_ = kind;
  metric_ = w_.begin(metrics::kMetrics);
  w_.bytes_field(metrics::kName, name);
  if (!description.empty()) w_.bytes_field(metrics::kDescription, description);
  data_ = w_.begin(kind == kMonotonicSum ? metrics::kSum : metrics::kGauge);
}

bool MetricsRequest::add_point(std::span<const Attribute> attributes, int64_t start_ns, int64_t time_ns,
                               const Value& value) {
  if (!value.is_int() && !value.is_double()) return false;
  size_t point = w_.begin(metrics::kDataPoints);
  // Gauges have no start time (metrics.proto: "start_time_unix_nano ... is
  // optional" and carries meaning only for cumulative and delta points).
  if (kind_ == kMonotonicSum && start_ns != 0)
    w_.fixed64_field(metrics::kPointStart, static_cast<uint64_t>(start_ns));
  w_.fixed64_field(metrics::kPointTime, static_cast<uint64_t>(time_ns));
  if (value.is_int()) {
    w_.fixed64_field(metrics::kAsInt, static_cast<uint64_t>(value.as_int()));
  } else {
    w_.double_field(metrics::kAsDouble, value.as_double());
  }
  write_attributes(w_, metrics::kPointAttributes, attributes);
  w_.end(point);
  ++points_;
  return true;
}

void MetricsRequest::end_metric() {
  if (kind_ == kMonotonicSum) {
    w_.varint_field(metrics::kTemporality, metrics::kCumulative);
    w_.varint_field(metrics::kMonotonic, 1);
  }
  w_.end(data_);
  w_.end(metric_);
}

std::string MetricsRequest::finish() {
  w_.end(scope_metrics_);
  w_.end(resource_metrics_);
  return w_.take();
}

}  // namespace pivot::otlp
