#include "serve/metrics.h"

#include <gtest/gtest.h>

namespace pivot::serve {
namespace {

frontend::Column group(std::string name) { return {std::move(name), frontend::Column::kGroup}; }
frontend::Column agg(std::string name, aggregate::AggFn fn) {
  return {std::move(name), frontend::Column::kAggregate, fn};
}

QueryMetrics seed() {
  QueryMetrics q;
  q.name = "seed";
  q.running = true;
  q.columns = {group("cl.procName"), agg("SUM(incr.delta)", aggregate::AggFn::kSum),
               agg("AVG(incr.delta)", aggregate::AggFn::kAvg)};
  q.total.columns = {"cl.procName", "SUM(incr.delta)", "AVG(incr.delta)"};
  q.total.rows = {{Value("HBase"), Value(int64_t{1200}), Value(300.0)},
                  {Value("Map\"Re\\duce\n"), Value(int64_t{7}), Value(3.5)}};
  q.total.max_groups = 10000;
  q.agents = 7;
  q.install_ms = 12;
  q.intervals = 30;
  q.lost_reports = 1;
  return q;
}

TEST(Metrics, PrometheusTextOfAGroupedQuery) {
  ServeHealth h;
  h.agents = 7;
  h.limit_hits = {{"body_size", 2}};
  h.sse_clients = 1;
  h.unauthorized = 3;
  EXPECT_EQ(
      render_metrics({seed()}, h, MetricsFormat::kPrometheus),
      R"text(# HELP pivot_query_count_total COUNT columns of managed queries: events since the query (re)started
# TYPE pivot_query_count_total counter
# HELP pivot_query_sum_total SUM columns of managed queries since the query (re)started
# TYPE pivot_query_sum_total counter
pivot_query_sum_total{query="seed",column="SUM(incr.delta)",cl_procName="HBase"} 1200
pivot_query_sum_total{query="seed",column="SUM(incr.delta)",cl_procName="Map\"Re\\duce\n"} 7
# HELP pivot_query_avg AVG columns of managed queries since the query (re)started
# TYPE pivot_query_avg gauge
pivot_query_avg{query="seed",column="AVG(incr.delta)",cl_procName="HBase"} 300
pivot_query_avg{query="seed",column="AVG(incr.delta)",cl_procName="Map\"Re\\duce\n"} 3.5
# HELP pivot_query_min MIN columns of managed queries since the query (re)started
# TYPE pivot_query_min gauge
# HELP pivot_query_max MAX columns of managed queries since the query (re)started
# TYPE pivot_query_max gauge
# HELP pivot_query_quantile QUANTILE, P50, P90 and P99 columns of managed queries since the query (re)started
# TYPE pivot_query_quantile gauge
# HELP pivot_query_count_distinct COUNT(DISTINCT) columns of managed queries since the query (re)started
# TYPE pivot_query_count_distinct gauge
# HELP pivot_query_running 1 while the managed query is installed, 0 when paused or failed
# TYPE pivot_query_running gauge
pivot_query_running{query="seed"} 1
# HELP pivot_query_agents Agents that have the managed query installed
# TYPE pivot_query_agents gauge
pivot_query_agents{query="seed"} 7
# HELP pivot_query_install_seconds How long the last install of the query took
# TYPE pivot_query_install_seconds gauge
pivot_query_install_seconds{query="seed"} 0.012
# HELP pivot_query_intervals_total Intervals merged since the query (re)started
# TYPE pivot_query_intervals_total counter
pivot_query_intervals_total{query="seed"} 30
# HELP pivot_query_reports_lost_total Agents' reports known missing (gaps) since the query (re)started
# TYPE pivot_query_reports_lost_total counter
pivot_query_reports_lost_total{query="seed"} 1
# HELP pivot_query_events_dropped_total Events a limit (max_groups, the row cap) left out of the total since the query (re)started
# TYPE pivot_query_events_dropped_total counter
pivot_query_events_dropped_total{query="seed"} 0
# HELP pivot_query_incomplete 1 when the total is known to miss something (a limit, a baggage cap)
# TYPE pivot_query_incomplete gauge
pivot_query_incomplete{query="seed"} 0
# HELP pivot_query_overflow 1 when a SUM or AVG of integers went past 64 bits: that value is an approximate double
# TYPE pivot_query_overflow gauge
pivot_query_overflow{query="seed"} 0
# HELP pivot_query_groups Groups (rows) in the query's total
# TYPE pivot_query_groups gauge
pivot_query_groups{query="seed"} 2
# HELP pivot_query_max_groups The group limit the query runs with (0: none)
# TYPE pivot_query_max_groups gauge
pivot_query_max_groups{query="seed"} 10000
# HELP pivot_serve_agents Agents found in serve's last discovery
# TYPE pivot_serve_agents gauge
pivot_serve_agents 7
# HELP pivot_serve_limit_hits_total Times a limit of pivot serve acted (docs/serve.md, Limits)
# TYPE pivot_serve_limit_hits_total counter
pivot_serve_limit_hits_total{limit="body_size"} 2
# HELP pivot_serve_stream_clients Clients connected to an event stream
# TYPE pivot_serve_stream_clients gauge
pivot_serve_stream_clients 1
# HELP pivot_serve_unauthorized_requests_total Requests refused for a missing or wrong token
# TYPE pivot_serve_unauthorized_requests_total counter
pivot_serve_unauthorized_requests_total 3
)text");
}

TEST(Metrics, OtlpRequestsOnlyWithOtlpExport) {
  EXPECT_EQ(render_metrics({}, ServeHealth{}, MetricsFormat::kPrometheus).find("otlp"), std::string::npos);
  ServeHealth h;
  h.otlp = OtlpStats{};
  h.otlp->requests_sent = 3;
  h.otlp->requests_failed = 1;
  h.otlp->requests_dropped = 2;
  std::string text = render_metrics({}, h, MetricsFormat::kPrometheus);
  EXPECT_NE(
      text.find(
          R"text(# HELP pivot_serve_otlp_requests_total OTLP metrics requests by outcome (--otlp; docs/otlp.md)
# TYPE pivot_serve_otlp_requests_total counter
pivot_serve_otlp_requests_total{outcome="sent"} 3
pivot_serve_otlp_requests_total{outcome="failed"} 1
pivot_serve_otlp_requests_total{outcome="dropped"} 2
)text"),
      std::string::npos)
      << text;
}

TEST(Metrics, OpenMetricsNamesCounterFamiliesWithoutTotalAndEnds) {
  std::string text = render_metrics({seed()}, ServeHealth{}, MetricsFormat::kOpenMetrics);
  EXPECT_NE(
      text.find(
          "# TYPE pivot_query_sum counter\n"
          "pivot_query_sum_total{query=\"seed\",column=\"SUM(incr.delta)\",cl_procName=\"HBase\"} 1200\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE pivot_query_avg gauge\n"), std::string::npos);
  EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
  EXPECT_EQ(negotiate("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
            MetricsFormat::kOpenMetrics);
  EXPECT_EQ(negotiate("text/plain"), MetricsFormat::kPrometheus);
  EXPECT_EQ(negotiate(""), MetricsFormat::kPrometheus);
}

TEST(Metrics, LabelNamesAreValidAndDistinct) {
  EXPECT_EQ(sanitize_label_name("cl.procName"), "cl_procName");
  EXPECT_EQ(sanitize_label_name("1st"), "_1st");
  EXPECT_EQ(sanitize_label_name(""), "_");
  EXPECT_EQ(sanitize_label_name("a-b c"), "a_b_c");
  QueryMetrics q;
  q.name = "q";
  // "query" and "column" are every sample's; "a.b" and "a_b" meet; "__x" is Prometheus' own.
  q.columns = {group("query"), group("a.b"), group("a_b"), group("__x"),
               agg("COUNT", aggregate::AggFn::kCount)};
  q.total.columns = {"query", "a.b", "a_b", "__x", "COUNT"};
  q.total.rows = {{Value("v"), Value(int64_t{1}), Value(int64_t{2}), Value(nullptr), Value(int64_t{5})}};
  std::string text = render_metrics({q}, ServeHealth{}, MetricsFormat::kPrometheus);
  EXPECT_NE(text.find("pivot_query_count_total{query=\"q\",column=\"COUNT\",group_query=\"v\",a_b=\"1\","
                      "group_a_b=\"2\",group___x=\"\"} 5\n"),
            std::string::npos)
      << text;
}

TEST(Metrics, LabelValuesAreEscapedAndValidUtf8) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_label_value("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(escape_label_value("x\xFFy"), "x\xEF\xBF\xBDy");
  EXPECT_EQ(escape_label_value("\xE0\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
}

TEST(Metrics, ValuesThatAreNotNumbersHaveNoSampleAndLabelSetsAreUnique) {
  QueryMetrics q;
  q.name = "q";
  q.columns = {group("k"), agg("MIN(s)", aggregate::AggFn::kMin), agg("COUNT", aggregate::AggFn::kCount)};
  q.total.columns = {"k", "MIN(s)", "COUNT"};
  // A null key and "" make the same label set: the second is left out.
  q.total.rows = {{Value(nullptr), Value("text"), Value(int64_t{1})},
                  {Value(""), Value(1.0 / 0.0), Value(int64_t{2})},
                  {Value("k2"), Value(1.0 / 0.0), Value(int64_t{3})}};
  std::string text = render_metrics({q}, ServeHealth{}, MetricsFormat::kPrometheus);
  EXPECT_NE(text.find("pivot_query_count_total{query=\"q\",column=\"COUNT\",k=\"\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pivot_query_min{query=\"q\",column=\"MIN(s)\",k=\"k2\"} +Inf\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("text"), std::string::npos);
}

// Quantiles and distinct counts are gauges; a histogram has no sample, and
// a quantile of a group without values (null) neither.
TEST(Metrics, QuantilesAndDistinctCountsAreGauges) {
  QueryMetrics q;
  q.name = "lat";
  q.columns = {group("host"), agg("P99(r.took)", aggregate::AggFn::kQuantile),
               agg("COUNT(DISTINCT r.user)", aggregate::AggFn::kCountDistinct),
               agg("HIST(r.took)", aggregate::AggFn::kHist)};
  q.total.columns = {"host", "P99(r.took)", "COUNT(DISTINCT r.user)", "HIST(r.took)"};
  q.total.rows = {{Value("a"), Value(1250.5), Value(int64_t{17}), Value("[]")},
                  {Value("b"), Value(), Value(int64_t{0}), Value("[]")}};
  std::string text = render_metrics({q}, ServeHealth{}, MetricsFormat::kPrometheus);
  EXPECT_NE(text.find("# TYPE pivot_query_quantile gauge\n"
                      "pivot_query_quantile{query=\"lat\",column=\"P99(r.took)\",host=\"a\"} 1250.5\n"
                      "# HELP pivot_query_count_distinct"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("# TYPE pivot_query_count_distinct gauge\n"
                "pivot_query_count_distinct{query=\"lat\",column=\"COUNT(DISTINCT r.user)\",host=\"a\"} 17\n"
                "pivot_query_count_distinct{query=\"lat\",column=\"COUNT(DISTINCT r.user)\",host=\"b\"} 0\n"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find("HIST"), std::string::npos);
}

}  // namespace
}  // namespace pivot::serve
