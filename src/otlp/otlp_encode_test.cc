// Golden bytes of the protobuf writer and of small OTLP requests, worked out
// by hand from the encoding rules (https://protobuf.dev/programming-guides/encoding/)
// and the opentelemetry-proto field numbers. tests/otlp_export_test.cc
// decodes full requests with protoc and the official .proto files.
#include "otlp/otlp_encode.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "otlp/proto_writer.h"

namespace pivot::otlp {
namespace {

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out += ' ';
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// "0a 01 ..." plus the hex of a text, for readable goldens.
std::string text_hex(std::string_view s) { return hex(std::string(s)); }

TEST(ProtoWriter, VarintFieldIsTheSpecificationsExample) {
  ProtoWriter w;
  w.varint_field(1, 150);
  EXPECT_EQ(hex(w.bytes()), "08 96 01");
}

TEST(ProtoWriter, BytesFieldHasItsLengthFirst) {
  ProtoWriter w;
  w.bytes_field(2, "testing");
  EXPECT_EQ(hex(w.bytes()), "12 07 74 65 73 74 69 6e 67");
}

TEST(ProtoWriter, Fixed64AndDoubleAreLittleEndian) {
  ProtoWriter w;
  w.fixed64_field(7, 0x0102030405060708);
  w.double_field(4, 1.5);
  EXPECT_EQ(hex(w.bytes()), "39 08 07 06 05 04 03 02 01 21 00 00 00 00 00 00 f8 3f");
}

TEST(ProtoWriter, NegativeIntsAreTenByteVarints) {
  ProtoWriter w;
  w.varint_field(3, static_cast<uint64_t>(int64_t{-1}));
  EXPECT_EQ(hex(w.bytes()), "18 ff ff ff ff ff ff ff ff ff 01");
}

TEST(ProtoWriter, NestedMessageGetsAMinimalLength) {
  ProtoWriter w;
  size_t m = w.begin(3);
  w.varint_field(1, 150);
  w.end(m);
  EXPECT_EQ(hex(w.bytes()), "1a 03 08 96 01");
}

TEST(ProtoWriter, NestedMessagesOfManyBytesAndNestingInside) {
  ProtoWriter w;
  size_t outer = w.begin(1);
  size_t inner = w.begin(2);
  w.bytes_field(1, std::string(200, 'x'));  // 0a c8 01 + 200 bytes = 203
  w.end(inner);                             // 12 cb 01 + 203 = 206
  w.end(outer);                             // 0a ce 01 + 206 = 209
  ASSERT_EQ(w.size(), 209u);
  EXPECT_EQ(hex(w.bytes().substr(0, 9)), "0a ce 01 12 cb 01 0a c8 01");
}

TEST(ProtoWriter, EmptyNestedMessageIsTagAndZero) {
  ProtoWriter w;
  w.end(w.begin(5));
  EXPECT_EQ(hex(w.bytes()), "2a 00");
}

TEST(TraceRequest, OneSpanByHand) {
  const std::array<Attribute, 1> resource{{{"service.name", "svc"}}};
  TraceRequest r(resource, "pivot", "1");
  std::array<uint8_t, 16> trace_id;
  std::array<uint8_t, 8> span_id;
  for (int i = 0; i < 16; ++i) trace_id[i] = static_cast<uint8_t>(i + 1);
  for (int i = 0; i < 8; ++i) span_id[i] = static_cast<uint8_t>(0x11 + i);
  const std::array<Attribute, 1> attributes{{{"k", int64_t{5}}}};
  r.add_span({trace_id, span_id, {}, "t", 1, 2}, attributes);
  EXPECT_EQ(r.spans(), 1u);
  const std::string want =
      // ExportTraceServiceRequest.resource_spans (101 bytes)
      "0a 65 "
      // ResourceSpans.resource (23): Resource.attributes (21): key, value (AnyValue.string_value)
      "0a 17 0a 15 0a 0c " +
      text_hex("service.name") + " 12 05 0a 03 " + text_hex("svc") +
      // ResourceSpans.scope_spans (74): scope (10): name, version
      " 12 4a 0a 0a 0a 05 " + text_hex("pivot") + " 12 01 31" +
      // ScopeSpans.spans (60): trace_id, span_id, name, kind INTERNAL, start, end
      " 12 3c 0a 10 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 12 08 11 12 13 14 15 16 17 18"
      " 2a 01 74 30 01 39 01 00 00 00 00 00 00 00 41 02 00 00 00 00 00 00 00"
      // Span.attributes: key "k", value int_value 5
      " 4a 07 0a 01 6b 12 02 18 05";
  EXPECT_EQ(hex(r.finish()), want);
}

TEST(TraceRequest, ParentAndEveryAttributeType) {
  TraceRequest r({}, "", "");
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{}, parent{};
  trace_id[15] = 1, span_id[7] = 2, parent[7] = 3;
  const std::array<Attribute, 3> attributes{{{"b", true}, {"d", 0.5}, {"s", ""}}};
  r.add_span({trace_id, span_id, parent, "", 0, 0, SpanKind::kServer}, attributes);
  const std::string want =
      "0a 64 0a 00 12 60 0a 00 12 5c"
      " 0a 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 12 08 00 00 00 00 00 00 00 02"
      " 22 08 00 00 00 00 00 00 00 03 30 02"
      " 39 00 00 00 00 00 00 00 00 41 00 00 00 00 00 00 00 00"
      " 4a 07 0a 01 62 12 02 10 01"
      " 4a 0e 0a 01 64 12 09 21 00 00 00 00 00 00 e0 3f"
      " 4a 07 0a 01 73 12 02 0a 00";
  EXPECT_EQ(hex(r.finish()), want);
}

TEST(MetricsRequest, MonotonicSumAndGaugeByHand) {
  MetricsRequest r({}, "", "");
  r.begin_metric("c", "", MetricsRequest::kMonotonicSum);
  const std::array<Attribute, 1> attributes{{{"g", "x"}}};
  EXPECT_TRUE(r.add_point(attributes, 1, 2, Value(int64_t{7})));
  EXPECT_FALSE(r.add_point(attributes, 1, 2, Value()));  // null: no point
  EXPECT_FALSE(r.add_point(attributes, 1, 2, Value("text")));
  r.end_metric();
  r.begin_metric("a", "d", MetricsRequest::kGauge);
  EXPECT_TRUE(r.add_point({}, 1, 2, Value(2.0)));
  r.end_metric();
  EXPECT_EQ(r.points(), 2u);
  const std::string want =
      "0a 56 0a 00 12 52 0a 00"
      // Metric "c": Sum (7) { data_points { start, time, as_int, attributes }, CUMULATIVE, monotonic }
      " 12 30 0a 01 63 3a 2b 0a 25 11 01 00 00 00 00 00 00 00 19 02 00 00 00 00 00 00 00"
      " 31 07 00 00 00 00 00 00 00 3a 08 0a 01 67 12 03 0a 01 78 10 02 18 01"
      // Metric "a", description "d": Gauge (5) { data_points { time, as_double } }
      " 12 1c 0a 01 61 12 01 64 2a 14 0a 12 19 02 00 00 00 00 00 00 00 21 00 00 00 00 00 00 00 40";
  EXPECT_EQ(hex(r.finish()), want);
}

}  // namespace
}  // namespace pivot::otlp
