// The exporter's configuration, as OpenTelemetry's SDKs read theirs
// (https://opentelemetry.io/docs/specs/otel/protocol/exporter/). Sending is
// tested against a real receiver in tests/otlp/otlp_export_test.cc.
#include "otlp/http_exporter.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace pivot::otlp {
namespace {

TEST(EndpointUrl, AddsTheSignalsPathToABaseUrl) {
  EXPECT_EQ(endpoint_url("http://collector:4318", kTracesPath), "http://collector:4318/v1/traces");
  EXPECT_EQ(endpoint_url("http://collector:4318/", kMetricsPath), "http://collector:4318/v1/metrics");
  EXPECT_EQ(endpoint_url("https://x.example/otlp", kTracesPath), "https://x.example/otlp/v1/traces");
  EXPECT_EQ(endpoint_url("", kTracesPath), "http://localhost:4318/v1/traces");
}

TEST(EndpointUrl, KeepsAUrlThatEndsInTheSignalsPath) {
  EXPECT_EQ(endpoint_url("http://c:4318/v1/traces", kTracesPath), "http://c:4318/v1/traces");
  EXPECT_EQ(endpoint_url("http://c:4318/v1/traces/", kTracesPath), "http://c:4318/v1/traces");
}

TEST(DefaultEndpoint, SignalVariableAsItIsThenBaseVariableThenLocalhost) {
  unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  EXPECT_EQ(default_endpoint(kTracesPath), "http://localhost:4318/v1/traces");
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318", 1);
  EXPECT_EQ(default_endpoint(kTracesPath), "http://base:4318/v1/traces");
  EXPECT_EQ(default_endpoint(kMetricsPath), "http://base:4318/v1/metrics");
  setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/custom", 1);
  EXPECT_EQ(default_endpoint(kTracesPath), "http://t:1/custom");
  EXPECT_EQ(default_endpoint(kMetricsPath), "http://base:4318/v1/metrics");
  unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
}

TEST(ParseHeaders, KeyValueListWithPercentEncodedValues) {
  EXPECT_EQ(parse_headers("api-key=abc, Authorization = Basic%20dXNlcg%3D%3D"),
            (std::vector<std::string>{"api-key: abc", "Authorization: Basic dXNlcg=="}));
}

TEST(ParseHeaders, SkipsMalformedMembers) {
  EXPECT_EQ(parse_headers("novalue,=nokey,bad%zz=1,ok=%2,x=a%0D%0Ab,fine=1,,"),
            (std::vector<std::string>{"bad%zz: 1", "fine: 1"}));
}

TEST(HttpExporter, RefusesAnythingButHttp) {
  ExporterOptions o;
  o.url = "ftp://x/v1/traces";
  auto e = HttpExporter::create(o);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(),
            "otlp: the endpoint must be an http:// or https:// URL, not 'ftp://x/v1/traces'");
}

}  // namespace
}  // namespace pivot::otlp
