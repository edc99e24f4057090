// The OTLP requests pivot sends, encoded as protocol buffers
// (opentelemetry-proto v1: collector/trace/v1 ExportTraceServiceRequest and
// collector/metrics/v1 ExportMetricsServiceRequest). Not public API.
//
//   TraceRequest r({{"service.name", "DataNode"}}, "pivot", "0.1.0");
//   r.add_span({trace_id, span_id, parent, "Router::bid", t1, t2}, attributes);
//   std::string body = r.finish();   // POST to <endpoint>/v1/traces
//
//   MetricsRequest m(resource, "pivot", "0.1.0");
//   m.begin_metric("pivot.query.sum", "SUM columns", MetricsRequest::kMonotonicSum);
//   m.add_point(attributes, start_ns, time_ns, Value(int64_t{1234}));
//   m.end_metric();
//   std::string body = m.finish();   // POST to <endpoint>/v1/metrics
//
// Each request holds one Resource with one InstrumentationScope: what one
// process (or one `pivot query`) sends at a time. Fields at their proto3
// default (0, "", empty) are left out, as libprotobuf does; a data point's
// value is always written, since it is a oneof.
//
// Thread safety: plain values; one thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "otlp/proto_writer.h"
#include "pivot/value.h"

namespace pivot::otlp {

// An attribute value as OTLP's AnyValue: string, bool, int or double. A
// view: the string must outlive the call it is passed to.
struct AttributeValue {
  enum Type { kString, kBool, kInt, kDouble };
  Type type = kString;
  std::string_view s;
  bool b = false;
  int64_t i = 0;
  double d = 0;

  AttributeValue(std::string_view v) : type(kString), s(v) {}    // NOLINT
  AttributeValue(const char* v) : type(kString), s(v) {}         // NOLINT
  AttributeValue(const std::string& v) : type(kString), s(v) {}  // NOLINT
  AttributeValue(bool v) : type(kBool), b(v) {}                  // NOLINT
  AttributeValue(int64_t v) : type(kInt), i(v) {}                // NOLINT
  AttributeValue(double v) : type(kDouble), d(v) {}              // NOLINT
};

struct Attribute {
  std::string_view key;
  AttributeValue value;
};

// A pivot value as an attribute value; false for null (no attribute).
bool to_attribute_value(const Value& v, AttributeValue& out);

// opentelemetry.proto.trace.v1.Span.SpanKind
enum class SpanKind : uint32_t { kUnspecified = 0, kInternal = 1, kServer = 2, kClient = 3 };

struct SpanFields {
  std::span<const uint8_t, 16> trace_id;
  std::span<const uint8_t, 8> span_id;
  std::span<const uint8_t> parent_span_id;  // 8 bytes, or empty for a root
  std::string_view name;
  int64_t start_ns;  // since the Unix epoch
  int64_t end_ns;
  SpanKind kind = SpanKind::kInternal;
};

class TraceRequest {
 public:
  TraceRequest(std::span<const Attribute> resource, std::string_view scope_name,
               std::string_view scope_version);
  void add_span(const SpanFields& span, std::span<const Attribute> attributes);
  size_t spans() const noexcept { return spans_; }
  size_t size() const noexcept { return w_.size(); }
  // The encoded ExportTraceServiceRequest. The request is spent.
  std::string finish();

 private:
  ProtoWriter w_;
  size_t resource_spans_ = 0;
  size_t scope_spans_ = 0;
  size_t spans_ = 0;
};

class MetricsRequest {
 public:
  // Sum: cumulative and monotonic (COUNT, SUM); gauge: a value now (AVG, MIN, MAX).
  enum Kind { kMonotonicSum, kGauge };

  MetricsRequest(std::span<const Attribute> resource, std::string_view scope_name,
                 std::string_view scope_version);
  void begin_metric(std::string_view name, std::string_view description, Kind kind);
  // An int value is written as as_int, a double as as_double; false (and
  // nothing written) for any other value.
  bool add_point(std::span<const Attribute> attributes, int64_t start_ns, int64_t time_ns,
                 const Value& value);
  void end_metric();
  size_t points() const noexcept { return points_; }
  // The encoded ExportMetricsServiceRequest. The request is spent.
  std::string finish();

 private:
  ProtoWriter w_;
  Kind kind_ = kGauge;
  size_t resource_metrics_ = 0;
  size_t scope_metrics_ = 0;
  size_t metric_ = 0;
  size_t data_ = 0;
  size_t points_ = 0;
};

}  // namespace pivot::otlp
