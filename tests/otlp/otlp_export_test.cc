// What pivot sends over OTLP/HTTP, received by a server the test runs and
// decoded with protoc and the official opentelemetry-proto definitions:
// span trees from otlp_sink() (with and without a W3C trace context), the
// exporter's retries, refusals and drops, and `pivot query --otlp`'s
// metrics. Every field is checked; ids and times that are random or read
// from the clock are checked for what they must be, then named.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "otlp/query_metrics.h"
#include "otlp_receiver.h"
#include "pivot/otlp.h"
#include "pivot/trace.h"
#include "pivot/trace_context.h"
#include "support/cli_harness.h"
#include "support/serve_harness.h"
#include "tracepoint/process_info.h"

namespace pivot::testing {
namespace {

struct Request {
  std::string id;
};
std::tuple<const char*, std::string, int> do_probe(const Request& r) { return {"Request", r.id, 1}; }

int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// protoc's C escapes (\NNN octal, \n, \", ...) back to bytes.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    if (c >= '0' && c <= '7') {
      int v = 0;
      for (int k = 0; k < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7'; ++k, ++i) v = v * 8 + (s[i] - '0');
      --i;
      out += static_cast<char>(v);
    } else {
      out += c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
    }
  }
  return out;
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += digits[c >> 4], out += digits[c & 15];
  return out;
}

// protoc's text with ids as hex and clock readings named: ids not in
// `known` become <trace N> / <span N> by first appearance (checked to be
// 16 / 8 bytes and not all zero), times <time> (checked to lie in
// [from_ns, to_ns]; `times` gets them in order).
struct Normalized {
  std::string text;
  std::vector<int64_t> times;
};
Normalized normalize(const std::string& decoded, const std::vector<std::string>& known, int64_t from_ns,
                     int64_t to_ns) {
  static const std::regex id_line(R"re(^(\s*)(trace_id|span_id|parent_span_id): "(.*)"$)re");
  static const std::regex time_line(
      R"(^(\s*)(start_time_unix_nano|end_time_unix_nano|time_unix_nano): (\d+)$)");
  std::map<std::string, std::string> names;
  int traces = 0, spans = 0;
  Normalized n;
  std::istringstream in(decoded);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, id_line)) {
      const bool trace = m[2] == "trace_id";
      const std::string bytes = unescape(m[3]);
      const std::string h = hex(bytes);
      EXPECT_EQ(bytes.size(), trace ? 16u : 8u) << line;
      EXPECT_NE(h, std::string(h.size(), '0')) << line;
      std::string name = h;
      if (std::find(known.begin(), known.end(), h) == known.end()) {
        auto [it, fresh] = names.try_emplace(h);
        if (fresh)
          it->second =
              trace ? "<trace " + std::to_string(++traces) + ">" : "<span " + std::to_string(++spans) + ">";
        name = it->second;
      }
      line = std::string(m[1]) + std::string(m[2]) + ": " + name;
    } else if (std::regex_match(line, m, time_line)) {
      int64_t t = std::stoll(m[3]);
      EXPECT_GE(t, from_ns) << line;
      EXPECT_LE(t, to_ns) << line;
      n.times.push_back(t);
      line = std::string(m[1]) + std::string(m[2]) + ": <time>";
    }
    n.text += line + "\n";
  }
  return n;
}

// protoc's text for one KeyValue at `indent` spaces.
std::string attribute(int indent, const std::string& key, const std::string& value) {
  std::string pad(indent, ' ');
  return pad + "attributes {\n" + pad + "  key: \"" + key + "\"\n" + pad + "  value {\n" + pad + "    " +
         value + "\n" + pad + "  }\n" + pad + "}\n";
}
std::string text(const std::string& s) { return "string_value: \"" + s + "\""; }
std::string integer(int64_t i) { return "int_value: " + std::to_string(i); }

std::string resource_text(const std::string& service) {
  return "  resource {\n" + attribute(4, "service.name", text(service)) +
         attribute(4, "host.name", text("otlp-host")) + attribute(4, "process.pid", integer(getpid())) +
         "  }\n";
}

// A span as otlp_sink() sends it, at 4 spaces.
std::string span_text(const std::string& trace, const std::string& span, const std::string& parent,
                      const std::string& name, const std::string& uniq, int64_t id, int64_t pid,
                      bool cross_thread = false) {
  static const int64_t tid = syscall(SYS_gettid);
  return "    spans {\n      trace_id: " + trace + "\n      span_id: " + span + "\n" +
         (parent.empty() ? "" : "      parent_span_id: " + parent + "\n") + "      name: \"" + name +
         "\"\n      kind: SPAN_KIND_INTERNAL\n      start_time_unix_nano: <time>\n      end_time_unix_nano: "
         "<time>\n" +
         attribute(6, "pivot.kind", text("Request")) + attribute(6, "pivot.uniq", text(uniq)) +
         attribute(6, "pivot.freq", integer(1)) + attribute(6, "pivot.span.id", integer(id)) +
         attribute(6, "pivot.span.parent", integer(pid)) + attribute(6, "thread.id", integer(tid)) +
         (cross_thread ? attribute(6, "pivot.cross_thread", "bool_value: true") : "") + "    }\n";
}

std::string trace_request_text(const std::string& spans) {
  return "resource_spans {\n" + resource_text("otlp-test") +
         "  scope_spans {\n    scope {\n      name: \"pivot\"\n      version: \"" PIVOT_VERSION
         "\"\n    }\n" +
         spans + "  }\n}\n";
}

class OtlpSpans : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = decode_unavailable(); !why.empty()) GTEST_SKIP() << why;
    internal::set_process_names("otlp-host", "otlp-test");
    before_ = otlp_stats();
  }
  void TearDown() override { set_trace_sink(discard_sink()); }

  // The one request received, decoded.
  std::string decoded(OtlpReceiver& r, size_t index = 0) {
    EXPECT_TRUE(r.wait_for(index + 1, 10000));
    auto got = r.received();
    if (got.size() <= index) return "";
    EXPECT_EQ(got[index].path, "/v1/traces");
    EXPECT_EQ(got[index].content_type, "application/x-protobuf");
    std::string error;
    auto text = decode(kTraceRequest, got[index].body, &error);
    EXPECT_TRUE(text) << error;
    return text.value_or("");
  }

  OtlpStats before_;
};

TEST_F(OtlpSpans, TreeInAW3cTraceKeepsItsTraceIdAndTheCallersSpanAsTheRootsParent) {
  OtlpReceiver r;
  auto sink = otlp_sink(r.url());
  ASSERT_TRUE(sink) << sink.error().message();
  set_trace_sink(*sink);
  const int64_t from = wall_ns() - 1'000'000'000;
  {
    trace_context::Scope scope(
        trace_context::from_header("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
    Trace<Request> root(Request{"r-1"}, "Router::bid");
    Trace<Request> child(Request{"r-1"}, "Router::score");
  }
  ASSERT_TRUE(otlp_flush(10000));
  const int64_t to = wall_ns() + 1'000'000'000;
  Normalized n = normalize(decoded(r), {"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"}, from, to);
  // Innermost first, as the tree ended; the root's parent is the caller's span.
  EXPECT_EQ(n.text, trace_request_text(span_text("0af7651916cd43dd8448eb211c80319c", "<span 1>", "<span 2>",
                                                 "Router::score", "r-1", 2, 1) +
                                       span_text("0af7651916cd43dd8448eb211c80319c", "<span 2>",
                                                 "b7ad6b7169203331", "Router::bid", "r-1", 1, -1)));
  ASSERT_EQ(n.times.size(), 4u);
  EXPECT_LE(n.times[0], n.times[1]);  // the child: start <= end
  EXPECT_LE(n.times[2], n.times[0]);  // the root began first ...
  EXPECT_GE(n.times[3], n.times[1]);  // ... and ended last
  OtlpStats after = otlp_stats();
  EXPECT_EQ(after.requests_sent - before_.requests_sent, 1u);
  EXPECT_EQ(after.items_sent - before_.items_sent, 2u);
}

TEST_F(OtlpSpans, TreeWithoutContextGetsATraceOfItsOwnAndAParentlessRoot) {
  OtlpReceiver r;
  auto sink = otlp_sink(r.url() + "/v1/traces/");  // a full endpoint is kept (less a trailing '/')
  ASSERT_TRUE(sink) << sink.error().message();
  set_trace_sink(*sink);
  const int64_t from = wall_ns() - 1'000'000'000;
  {
    Trace<Request> root(Request{"r-2"}, "Router::bid");
    { Trace<Request> first(Request{"r-2"}, "Router::score"); }
    { Trace<Request> second(Request{"r-2"}, "Router::log"); }
  }
  { Trace<Request> other(Request{"r-3"}, "Router::bid"); }
  ASSERT_TRUE(otlp_flush(10000));
  const int64_t to = wall_ns() + 1'000'000'000;
  std::string all;
  for (size_t i = 0; i < r.received().size(); ++i) all += decoded(r, i);
  // Both trees may come in one request or two: compare the spans.
  Normalized n = normalize(all, {}, from, to);
  const std::string spans = span_text("<trace 1>", "<span 1>", "<span 2>", "Router::score", "r-2", 2, 1) +
                            span_text("<trace 1>", "<span 3>", "<span 2>", "Router::log", "r-2", 3, 1) +
                            span_text("<trace 1>", "<span 2>", "", "Router::bid", "r-2", 1, -1);
  const std::string other = span_text("<trace 2>", "<span 4>", "", "Router::bid", "r-3", 1, -1);
  if (r.received().size() == 1) {
    EXPECT_EQ(n.text, trace_request_text(spans + other));
  } else {
    EXPECT_EQ(n.text, trace_request_text(spans) + trace_request_text(other));
  }
}

TEST_F(OtlpSpans, ASpanEndedOnAnotherThreadSaysSo) {
  OtlpReceiver r;
  auto sink = otlp_sink(r.url());
  ASSERT_TRUE(sink) << sink.error().message();
  set_trace_sink(*sink);
  const int64_t from = wall_ns() - 1'000'000'000;
  {
    Trace<Request> root(Request{"r-7"}, "Router::bid");
    Trace<Request> child(Request{"r-7"}, "Router::async");
    std::thread([c = std::move(child)]() mutable { c.end(); }).join();
  }
  ASSERT_TRUE(otlp_flush(10000));
  Normalized n = normalize(decoded(r), {}, from, wall_ns() + 1'000'000'000);
  EXPECT_EQ(n.text, trace_request_text(
                        span_text("<trace 1>", "<span 1>", "<span 2>", "Router::async", "r-7", 2, 1, true) +
                        span_text("<trace 1>", "<span 2>", "", "Router::bid", "r-7", 1, -1)));
}

TEST_F(OtlpSpans, A503WithRetryAfterIsSentAgainAndThenCountedOnce) {
  OtlpReceiver r;
  r.answer_next({503, 429}, "0");
  auto sink = otlp_sink(r.url());
  ASSERT_TRUE(sink);
  set_trace_sink(*sink);
  { Trace<Request> t(Request{"r-4"}, "Router::bid"); }
  ASSERT_TRUE(otlp_flush(10000));
  auto got = r.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].body, got[0].body);
  EXPECT_EQ(got[2].body, got[0].body);
  OtlpStats after = otlp_stats();
  EXPECT_EQ(after.retries - before_.retries, 2u);
  EXPECT_EQ(after.requests_sent - before_.requests_sent, 1u);
  EXPECT_EQ(after.items_sent - before_.items_sent, 1u);
  EXPECT_EQ(after.requests_failed - before_.requests_failed, 0u);
}

TEST_F(OtlpSpans, A400IsNotRetriedAndCountsTheSpansAsFailed) {
  OtlpReceiver r;
  r.answer_next({400});
  auto sink = otlp_sink(r.url());
  ASSERT_TRUE(sink);
  set_trace_sink(*sink);
  {
    Trace<Request> t(Request{"r-5"}, "Router::bid");
    Trace<Request> u(Request{"r-5"}, "Router::score");
  }
  ASSERT_TRUE(otlp_flush(10000));
  EXPECT_EQ(r.received().size(), 1u);
  OtlpStats after = otlp_stats();
  EXPECT_EQ(after.retries - before_.retries, 0u);
  EXPECT_EQ(after.requests_failed - before_.requests_failed, 1u);
  EXPECT_EQ(after.items_failed - before_.items_failed, 2u);
}

TEST_F(OtlpSpans, AFullQueueDropsTheBatchAndCountsIt) {
  OtlpReceiver r;
  OtlpOptions options;
  options.max_queue_bytes = 16;  // less than any request
  auto sink = otlp_sink(r.url(), options);
  ASSERT_TRUE(sink);
  set_trace_sink(*sink);
  {
    Trace<Request> t(Request{"r-6"}, "Router::bid");
    Trace<Request> u(Request{"r-6"}, "Router::score");
  }
  ASSERT_TRUE(otlp_flush(10000));
  EXPECT_TRUE(r.received().empty());
  OtlpStats after = otlp_stats();
  EXPECT_EQ(after.requests_dropped - before_.requests_dropped, 1u);
  EXPECT_EQ(after.items_dropped - before_.items_dropped, 2u);
}

// A process that exits with spans still queued sends them on its way out.
TEST_F(OtlpSpans, SpansQueuedAtExitAreSent) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The child re-runs this test in a new process: the receiver is the
  // parent's, its URL in the environment the child inherits.
  const bool child = !GTEST_FLAG_GET(internal_run_death_test).empty();
  std::unique_ptr<OtlpReceiver> r;
  if (!child) {
    r = std::make_unique<OtlpReceiver>();
    setenv("PIVOT_TEST_OTLP_URL", r->url().c_str(), 1);
  }
  EXPECT_EXIT(
      {
        auto sink = otlp_sink(std::getenv("PIVOT_TEST_OTLP_URL"));
        if (!sink) std::exit(2);
        set_trace_sink(*sink);
        { Trace<Request> t(Request{"exit-1"}, "Router::bid"); }
        std::exit(0);  // no flush_traces(), no otlp_flush()
      },
      ::testing::ExitedWithCode(0), "");
  ASSERT_TRUE(r->wait_for(1, 10000));
  std::string error;
  auto text = decode(kTraceRequest, r->received()[0].body, &error);
  ASSERT_TRUE(text) << error;
  EXPECT_NE(text->find("string_value: \"exit-1\""), std::string::npos) << *text;
}

TEST(OtlpSink, RefusesAUrlThatIsNotHttp) {
  auto sink = otlp_sink("collector:4318");
  ASSERT_FALSE(sink);
  EXPECT_EQ(sink.error().message(),
            "otlp: the endpoint must be an http:// or https:// URL, not 'collector:4318/v1/traces'");
}

// The seed-like query's final total, as pivot query --otlp sends it.
std::string point_text(const std::string& column, const std::string& app, const std::string& value,
                       const std::string& query = "q1") {
  return "        data_points {\n          start_time_unix_nano: <time>\n          time_unix_nano: <time>\n  "
         "        " +
         value + "\n" + attribute(10, "pivot.query", text(query)) +
         attribute(10, "pivot.column", text(column)) + attribute(10, "c.app", text(app)) + "        }\n";
}

std::string seed_metrics_text(const std::string& query) {
  return "resource_metrics {\n  resource {\n" + attribute(4, "service.name", text("pivot")) +
         "  }\n  scope_metrics {\n    scope {\n      name: \"pivot\"\n      version: \"" PIVOT_VERSION
         "\"\n    }\n"
         "    metrics {\n      name: \"pivot.query.count\"\n      description: \"COUNT columns of pivot "
         "queries\"\n"
         "      sum {\n" +
         point_text("COUNT", "app-0", "as_int: 25", query) +
         point_text("COUNT", "app-1", "as_int: 25", query) +
         "        aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE\n        is_monotonic: true\n  "
         "   "
         " }\n"
         "    }\n"
         "    metrics {\n      name: \"pivot.query.sum\"\n      description: \"SUM columns of pivot "
         "queries\"\n"
         "      sum {\n" +
         point_text("SUM(r.bytes)", "app-0", "as_int: 650", query) +
         point_text("SUM(r.bytes)", "app-1", "as_int: 625", query) +
         "        aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE\n        is_monotonic: true\n  "
         "   "
         " }\n"
         "    }\n  }\n}\n";
}

// The ```text otlp-seed-metrics block of docs/otlp.md, its version line
// and the test's both made "<version>".
std::string documented_seed_metrics(std::string* want) {
  std::ifstream in(std::string(PIVOT_SOURCE_DIR) + "/docs/otlp.md");
  std::string line, block;
  bool inside = false;
  while (std::getline(in, line)) {
    if (inside && line == "```") break;
    if (inside) block += line + "\n";
    if (line == "```text otlp-seed-metrics") inside = true;
  }
  static const std::regex version(R"re(version: "[^"]*")re");
  *want = std::regex_replace(*want, version, "version: \"<version>\"");
  return std::regex_replace(block, version, "version: \"<version>\"");
}

TEST(OtlpQuery, PivotQuerySendsEachIntervalsTotalAsMetrics) {
  if (std::string why = decode_unavailable(); !why.empty()) GTEST_SKIP() << why;
  OtlpReceiver r;
  CliHarness h(Transport::kLocal);
  ASSERT_TRUE(h.start()) << h.error();
  Subprocess& a = h.app("h1", "alpha");
  const int64_t from = wall_ns() - 1'000'000'000;
  auto q = h.pivot({"query", "--format", "json", "--interval", "100", "--otlp", r.url(), kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed"));
  CliHarness::fire(a, 50);
  q->signal(SIGINT);
  auto lines = q->rest();
  ASSERT_EQ(q->wait(), 0);
  const int64_t to = wall_ns() + 1'000'000'000;
  ASSERT_FALSE(lines.empty());
  ASSERT_EQ(nlohmann::json::parse(lines.back())["total"], seed_like_total({50}));
  // A request per interval that had a total, the last with the final one.
  auto got = r.received();
  ASSERT_FALSE(got.empty());
  EXPECT_LE(got.size(), lines.size());
  EXPECT_EQ(got.back().path, "/v1/metrics");
  EXPECT_EQ(got.back().content_type, "application/x-protobuf");
  std::string error;
  auto decoded = decode(kMetricsRequest, got.back().body, &error);
  ASSERT_TRUE(decoded) << error;
  Normalized n = normalize(*decoded, {}, from, to);
  std::string want = seed_metrics_text("q1");
  EXPECT_EQ(n.text, want);
  EXPECT_EQ(documented_seed_metrics(&want), want) << "docs/otlp.md shows other metrics than pivot sends";
  // Cumulative: every point starts when the query did, and ends at its interval.
  ASSERT_EQ(n.times.size(), 8u);
  for (size_t i = 0; i < n.times.size(); i += 2) {
    EXPECT_EQ(n.times[i], n.times[0]);
    EXPECT_LE(n.times[i], n.times[i + 1]);
  }
}

TEST(OtlpQuery, PivotQuerySaysOnStderrWhatDidNotArrive) {
  if (std::string why = decode_unavailable(); !why.empty()) GTEST_SKIP() << why;
  OtlpReceiver r;
  r.answer_next(std::vector<int>(1000, 400));
  CliHarness h(Transport::kLocal);
  ASSERT_TRUE(h.start()) << h.error();
  Subprocess& a = h.app("h1", "alpha");
  auto q = h.pivot({"query", "--format", "json", "--interval", "100", "--otlp", r.url(), kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed"));
  CliHarness::fire(a, 10);
  q->signal(SIGINT);
  (void)q->rest();
  EXPECT_EQ(q->wait(), 0);  // the answer was printed: a collector's refusal is said, not fatal
  const std::vector<std::string> err = q->rest_err();
  const std::string want = "; last error: " + r.url() + "/v1/metrics: HTTP 400";
  bool said = false;
  for (const std::string& line : err) {
    said = said || (line.rfind("pivot: --otlp: 0 requests sent, ", 0) == 0 &&
                    line.find(" failed, 0 dropped" + want) != std::string::npos);
  }
  EXPECT_TRUE(said) << ::testing::PrintToString(err);
}

TEST(OtlpQuery, PivotServeSendsEveryManagedQuerysTotalAsMetrics) {
  if (std::string why = decode_unavailable(); !why.empty()) GTEST_SKIP() << why;
  OtlpReceiver r;
  CliHarness h(Transport::kLocal);
  ASSERT_TRUE(h.start()) << h.error();
  Subprocess& a = h.app("h1", "alpha");
  ServeProcess serve(h, {"--otlp", r.url()});
  ASSERT_TRUE(serve.start()) << serve.error();
  int status = 0;
  const int64_t from = wall_ns() - 1'000'000'000;
  nlohmann::json install = {{"name", "seed"}, {"text", kSeedLike}, {"interval_ms", 100}};
  nlohmann::json q = serve.post("/api/queries", install.dump(), &status);
  ASSERT_EQ(status, 201) << q.dump();
  CliHarness::fire(a, 50);
  // Intervals keep coming: the first request with the whole total is the answer.
  const std::string want = seed_metrics_text("seed");
  std::string last;
  for (size_t seen = 0, waited = 0; waited < 15000 && last != want; waited += 100) {
    auto got = r.received();
    for (; seen < got.size() && last != want; ++seen) {
      EXPECT_EQ(got[seen].path, "/v1/metrics");
      std::string error;
      auto decoded = decode(kMetricsRequest, got[seen].body, &error);
      ASSERT_TRUE(decoded) << error;
      last = normalize(*decoded, {}, from, wall_ns() + 1'000'000'000).text;
    }
    if (last != want) usleep(100'000);
  }
  EXPECT_EQ(last, want);
  // serve's /metrics says how its OTLP export went.
  auto metrics = serve.client()->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("pivot_serve_otlp_requests_total{outcome=\"failed\"} 0\n"), std::string::npos);
  EXPECT_NE(metrics->body.find("pivot_serve_otlp_requests_total{outcome=\"dropped\"} 0\n"),
            std::string::npos);
  EXPECT_NE(metrics->body.find("pivot_serve_otlp_requests_total{outcome=\"sent\"} "), std::string::npos);
  EXPECT_EQ(serve.stop(), 0);
}

// Every kind of metric, value and attribute, encoded and decoded without the
// network: the mapping docs/otlp.md states.
TEST(OtlpMetrics, GaugesDoublesAndEveryAttributeTypeAsDocumented) {
  if (std::string why = decode_unavailable(); !why.empty()) GTEST_SKIP() << why;
  using aggregate::AggFn;
  using frontend::Column;
  const otlp::QueryMetrics q{"lat",
                             {{"x.host", Column::kGroup},
                              {"pivot.query", Column::kGroup},  // meets pivot's own key: group.pivot.query
                              {"x.slow", Column::kGroup},
                              {"AVG(x.ms)", Column::kAggregate, AggFn::kAvg},
                              {"MIN(x.ms)", Column::kAggregate, AggFn::kMin},
                              {"MAX(x.ms)", Column::kAggregate, AggFn::kMax}}};
  ResultTable t;
  t.columns = {"x.host", "pivot.query", "x.slow", "AVG(x.ms)", "MIN(x.ms)", "MAX(x.ms)"};
  t.rows = {{Value("dn1"), Value(int64_t{7}), Value(true), Value(1.5), Value(int64_t{1}), Value(int64_t{2})},
            {Value(), Value(0.25), Value(false), Value(2.0), Value(), Value(-3.5)}};
  size_t points = 0;
  std::string body = otlp::encode_query_metrics(q, t, 1000, 2000, "svc", &points);
  EXPECT_EQ(points, 5u);  // the null MIN has none
  std::string error;
  auto decoded = decode(kMetricsRequest, body, &error);
  ASSERT_TRUE(decoded) << error;
  auto point = [](const std::string& column, const std::string& value, const std::string& attrs) {
    return "        data_points {\n          time_unix_nano: 2000\n          " + value + "\n" +
           attribute(10, "pivot.query", text("lat")) + attribute(10, "pivot.column", text(column)) + attrs +
           "        }\n";
  };
  const std::string row1 = attribute(10, "x.host", text("dn1")) +
                           attribute(10, "group.pivot.query", integer(7)) +
                           attribute(10, "x.slow", "bool_value: true");
  const std::string row2 =
      attribute(10, "group.pivot.query", "double_value: 0.25") + attribute(10, "x.slow", "bool_value: false");
  auto gauge = [](const std::string& name, const std::string& what, const std::string& points) {
    return "    metrics {\n      name: \"" + name + "\"\n      description: \"" + what +
           " columns of pivot queries\"\n      gauge {\n" + points + "      }\n    }\n";
  };
  const std::string want =
      "resource_metrics {\n  resource {\n" + attribute(4, "service.name", text("svc")) +
      "  }\n  scope_metrics {\n    scope {\n      name: \"pivot\"\n      version: \"" PIVOT_VERSION
      "\"\n    }\n" +
      gauge("pivot.query.avg", "AVG",
            point("AVG(x.ms)", "as_double: 1.5", row1) + point("AVG(x.ms)", "as_double: 2", row2)) +
      gauge("pivot.query.min", "MIN", point("MIN(x.ms)", "as_int: 1", row1)) +
      gauge("pivot.query.max", "MAX",
            point("MAX(x.ms)", "as_int: 2", row1) + point("MAX(x.ms)", "as_double: -3.5", row2)) +
      "  }\n}\n";
  EXPECT_EQ(*decoded, want);
}

}  // namespace
}  // namespace pivot::testing
