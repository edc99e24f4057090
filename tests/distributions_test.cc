// HIST, LHIST, QUANTILE and COUNT(DISTINCT) end to end: advice on many
// threads, the per-thread partials merged, the wire encoding an agent sends,
// and the table and JSON output.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "aggregate/partial.h"
#include "aggregate/quantile_sketch.h"
#include "pivot/pivot.h"
#include "wire/protocol.h"

namespace {

void request_done(const std::string& host, int64_t latency) {
  PIVOT_TRACEPOINT("Dist.Request", host, latency);
}

TEST(Distributions, HistPerGroupAsJson) {
  pivot::Session s;
  auto q = s.install("From r In Dist.Request GroupBy r.host Select r.host, COUNT, HIST(r.latency)");
  ASSERT_TRUE(q) << q.error().message();
  for (int64_t v : {0, 1, 2, 3, 900, 1000}) request_done("a", v);
  request_done("b", -4);
  EXPECT_EQ(
      s.results(*q).to_json(),
      R"json({"columns":["r.host","COUNT","HIST(r.latency)"],"rows":[)json"
      R"json(["a",6,[{"lo":0,"hi":1,"count":1},{"lo":1,"hi":2,"count":1},{"lo":2,"hi":4,"count":2},)json"
      R"json({"lo":4,"hi":8,"count":0},{"lo":8,"hi":16,"count":0},{"lo":16,"hi":32,"count":0},)json"
      R"json({"lo":32,"hi":64,"count":0},{"lo":64,"hi":128,"count":0},{"lo":128,"hi":256,"count":0},)json"
      R"json({"lo":256,"hi":512,"count":0},{"lo":512,"hi":1024,"count":2}]],)json"
      R"json(["b",1,[{"lo":null,"hi":0,"count":1}]]]})json");
}

TEST(Distributions, LhistDrawnInTheTable) {
  pivot::Session s;
  auto q =
      s.install("From r In Dist.Request GroupBy r.host Select r.host, LHIST(r.latency, 0, 30, 10) As lat");
  ASSERT_TRUE(q) << q.error().message();
  for (int64_t v : {5, 15, 15, 25, 99}) request_done("a", v);
  request_done("b", -1);
  EXPECT_EQ(s.results(*q).to_text(),
            "r.host\n"
            "a\n"
            "  lat:\n"
            "  [0, 10)                1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
            "  [10, 20)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
            "  [20, 30)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
            "  [30, ...)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
            "\n"
            "b\n"
            "  lat:\n"
            "  (..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n");
}

TEST(Distributions, AHistogramAloneIsDrawnWithoutATable) {
  pivot::Session s;
  auto q = s.install("From r In Dist.Request Select HIST(r.latency)");
  ASSERT_TRUE(q) << q.error().message();
  request_done("a", 3);
  EXPECT_EQ(s.results(*q).to_text(),
            "HIST(r.latency):\n"
            "[2, 4)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n");
}

// Threads emit into their own partials; the merge of them is exact.
TEST(Distributions, MergedExactlyAcrossThreads) {
  pivot::Session s;
  auto q = s.install("From r In Dist.Request Select LHIST(r.latency, 0, 8, 1), COUNT");
  ASSERT_TRUE(q) << q.error().message();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < 1000; ++i) request_done("h", i % 8);
    });
  }
  for (auto& t : threads) t.join();
  std::string want = "[";
  for (int b = 0; b < 8; ++b) {
    want += (b ? "," : "") + std::string("{\"lo\":") + std::to_string(b) +
            ",\"hi\":" + std::to_string(b + 1) + ",\"count\":500}";
  }
  want += "]";
  EXPECT_EQ(s.results(*q).to_json(),
            R"json({"columns":["LHIST(r.latency, 0, 8, 1)","COUNT"],"rows":[[)json" + want + ",4000]]}");
}

// What an agent sends and a frontend merges: the buckets travel as they
// are, and a report with buckets out of range is refused.
TEST(Distributions, WireRoundTripIsExactAndChecked) {
  using pivot::aggregate::AggFn;
  pivot::aggregate::EmitShape shape{
      .keys = 0, .aggs = {AggFn::kHist}, .params = {pivot::aggregate::hist_params()}};
  pivot::aggregate::Partial agent(&shape), frontend(&shape);
  for (int64_t v : {1, 5, 6, 700}) {
    pivot::Value in(v);
    agent.add_values(nullptr, &in);
  }
  auto j = pivot::wire::to_json(agent);
  ASSERT_TRUE(pivot::wire::merge_from_json(j, frontend));
  ASSERT_TRUE(pivot::wire::merge_from_json(j, frontend));
  pivot::aggregate::Partial twice(&shape);
  twice.merge(agent);
  twice.merge(agent);
  EXPECT_EQ(frontend.rows(), twice.rows());

  auto bad = j;
  bad["groups"][0][1][0][2] = pivot::wire::Json::array({60, {1, 1, 1, 1, 1, 1, 1, 1}});
  pivot::aggregate::Partial out(&shape);
  auto st = pivot::wire::merge_from_json(bad, out);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "partial aggregate: a distribution's buckets are out of range");
  bad["groups"][0][1][0][2] = pivot::wire::Json::array({2, {-1}});
  EXPECT_FALSE(pivot::wire::merge_from_json(bad, out));
}

}  // namespace

namespace {

// QUANTILE and its shorthands: numbers in JSON and tables, within alpha of
// the exact quantile, merged across threads; an empty group has null.
TEST(Quantiles, ShorthandsAndQuantileAsNumbers) {
  pivot::Session s;
  auto q = s.install(
      "From r In Dist.Request GroupBy r.host "
      "Select r.host, P50(r.latency), P90(r.latency), p99(r.latency), QUANTILE(r.latency, 0.25) As q1");
  ASSERT_TRUE(q) << q.error().message();
  for (int64_t v = 1; v <= 1000; ++v) request_done("a", v);
  request_done("b", 7);
  pivot::ResultTable t = s.results(*q);
  ASSERT_EQ(t.columns,
            (std::vector<std::string>{"r.host", "P50(r.latency)", "P90(r.latency)", "P99(r.latency)", "q1"}));
  ASSERT_EQ(t.rows.size(), 2u);
  // Ranks floor(q * 999) of 1..1000: 500, 900, 990, 250.
  const double want[] = {500, 900, 990, 250};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(t.rows[0][i + 1].is_double());
    EXPECT_NEAR(t.rows[0][i + 1].as_double(), want[i], 0.01 * want[i]) << t.columns[i + 1];
  }
  // One value: the quantiles are that value exactly.
  EXPECT_EQ(t.rows[1], (std::vector<pivot::Value>{"b", 7.0, 7.0, 7.0, 7.0}));
  EXPECT_EQ(t.to_json().find("\"estimated\""), std::string::npos);
}

TEST(Quantiles, MergedExactlyAcrossThreads) {
  pivot::Session s;
  auto q = s.install("From r In Dist.Request Select P99(r.latency), QUANTILE(r.latency, 1), COUNT");
  ASSERT_TRUE(q) << q.error().message();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int64_t i = 0; i < 1000; ++i) request_done("h", t * 1000 + i);
    });
  }
  for (auto& t : threads) t.join();
  // One thread's sketch of the same values.
  pivot::aggregate::QuantileSketch whole;
  for (int64_t v = 0; v < 4000; ++v) whole.add(pivot::Value(v), 1);
  EXPECT_EQ(s.results(*q).to_json(),
            "{\"columns\":[\"P99(r.latency)\",\"QUANTILE(r.latency, 1.0)\",\"COUNT\"],"
            "\"rows\":[[" +
                pivot::Value(*whole.quantile(0.99)).to_json() + ",3999.0,4000]]}");
}

TEST(CountDistinct, ExactThenEstimatedAndSaidSo) {
  pivot::Session s;
  auto q = s.install(
      "From r In Dist.Request GroupBy r.host Select r.host, COUNT(DISTINCT r.latency), COUNT(DISTINCT "
      "r.host)");
  ASSERT_TRUE(q) << q.error().message();
  for (int64_t v = 0; v < 3000; ++v) request_done("a", v % 1000);
  for (int64_t v = 0; v < 10000; ++v) request_done("b", v);
  pivot::ResultTable t = s.results(*q);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0], (std::vector<pivot::Value>{"a", int64_t{1000}, int64_t{1}}));
  const int64_t b = t.rows[1][1].as_int();
  EXPECT_NEAR(static_cast<double>(b), 10000, 3 * 0.0081 * 10000);
  EXPECT_EQ(t.estimated, std::vector<std::string>{"COUNT(DISTINCT r.latency)"});
  EXPECT_NE(t.to_json().find(",\"estimated\":[\"COUNT(DISTINCT r.latency)\"]}"), std::string::npos);
  EXPECT_NE(t.to_text().find("(estimated: COUNT(DISTINCT r.latency) past 4096 distinct values, by "
                             "HyperLogLog with a standard error of 0.81%)\n"),
            std::string::npos)
      << t.to_text();
}

// What an agent sends for QUANTILE and COUNT(DISTINCT), merged as the
// states themselves merge; hostile states are refused, not merged.
TEST(Quantiles, WireRoundTripIsExactAndChecked) {
  using pivot::aggregate::AggFn;
  using Json = pivot::wire::Json;
  pivot::aggregate::EmitShape shape{.keys = 0,
                                    .aggs = {AggFn::kQuantile, AggFn::kCountDistinct},
                                    .params = {pivot::aggregate::quantile_params(0.5), {}}};
  // Two agents' values, exact sets on both and sketches on both, in JSON
  // and in the binary form.
  for (auto [n, format] : {std::pair{int64_t{6000}, pivot::wire::ReportFormat::kJson},
                           std::pair{int64_t{40000}, pivot::wire::ReportFormat::kJson},
                           std::pair{int64_t{6000}, pivot::wire::ReportFormat::kBinary},
                           std::pair{int64_t{40000}, pivot::wire::ReportFormat::kBinary}}) {
    pivot::aggregate::Partial agent(&shape), agent2(&shape), frontend(&shape), direct(&shape);
    for (int64_t v = -50; v < n; v += 3) {
      pivot::Value in[2] = {pivot::Value(v * 1.5), pivot::Value(v)};
      (v % 2 ? agent : agent2).add_values(nullptr, in);
      direct.add_values(nullptr, in);
    }
    ASSERT_TRUE(pivot::wire::merge_from_json(pivot::wire::to_json(agent, format), frontend));
    ASSERT_TRUE(pivot::wire::merge_from_json(pivot::wire::to_json(agent2, format), frontend));
    EXPECT_EQ(frontend.rows(), direct.rows());
    const auto& got = frontend.states(0);
    const auto& want = direct.states(0);
    EXPECT_EQ(*got[0].box.get<pivot::aggregate::QuantileSketch>(),
              *want[0].box.get<pivot::aggregate::QuantileSketch>());
    EXPECT_EQ(*got[1].box.get<pivot::aggregate::DistinctCount>(),
              *want[1].box.get<pivot::aggregate::DistinctCount>());
    EXPECT_EQ(got[1].box.get<pivot::aggregate::DistinctCount>()->exact(), n == 6000);
  }

  pivot::aggregate::Partial agent(&shape);
  for (int64_t v = -50; v < 1000; v += 3) {
    pivot::Value in[2] = {pivot::Value(v * 1.5), pivot::Value(v)};
    agent.add_values(nullptr, in);
  }
  Json j = pivot::wire::to_json(agent);
  auto refused = [&](const std::string& what, auto edit) {
    Json bad = j;
    edit(bad["groups"][0][1]);
    pivot::aggregate::Partial out(&shape);
    auto st = pivot::wire::merge_from_json(bad, out);
    EXPECT_FALSE(st) << what;
    return st ? std::string() : st.error().message();
  };
  EXPECT_EQ(refused("store past the index range", [](Json& s) { s[0][2]["pos"][0] = 2'000'000'000; }),
            "partial aggregate: a distribution's buckets are out of range");
  refused("too many buckets", [](Json& s) { s[0][2]["pos"][1] = Json(std::vector<int>(5000, 1)); });
  refused("negative count", [](Json& s) { s[0][2]["pos"][1][0] = -1; });
  refused("count past 2^53", [](Json& s) { s[0][2]["zero"] = int64_t{1} << 60; });
  refused("collapsed past the lowest bucket", [](Json& s) { s[0][2]["pos"][2] = 1'000'000; });
  refused("min above max", [](Json& s) { s[0][2]["min"] = 1e300; });
  refused("not an object", [](Json& s) { s[0][2] = Json::array({1, 2}); });
  refused("a store that is not a store", [](Json& s) { s[0][2]["neg"] = "x"; });
  refused("a hash that is not a number", [](Json& s) { s[1][2]["hashes"][0] = "x"; });
  refused("a hash of 0", [](Json& s) { s[1][2]["hashes"][0] = 0; });
  refused("too many hashes", [](Json& s) { s[1][2]["hashes"] = Json(std::vector<uint64_t>(5000, 7)); });
  refused("short registers", [](Json& s) { s[1][2] = Json{{"hll", "000"}}; });
  refused("registers out of range", [](Json& s) { s[1][2] = Json{{"hll", std::string(16384, '~')}}; });
  refused("registers below '0'", [](Json& s) { s[1][2] = Json{{"hll", std::string(16384, '\x01')}}; });
  refused("buckets for COUNT(DISTINCT)", [](Json& s) { s[1][2] = Json::array({0, {1}}); });

  // The binary form: a sketch where the query has a distinct count, and
  // every truncation of the bytes, are refused.
  Json bin = pivot::wire::to_json(agent, pivot::wire::ReportFormat::kBinary);
  pivot::aggregate::EmitShape swapped = shape;
  std::swap(swapped.aggs[0], swapped.aggs[1]);
  pivot::aggregate::Partial other(&swapped);
  auto st = pivot::wire::merge_from_json(bin, other);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "partial aggregate: state extra 2 for another kind of aggregate");
  const auto& bytes = bin["bin"].get_binary();
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    Json part = bin;
    part["bin"] = Json::binary(Json::binary_t::container_type(bytes.begin(), bytes.begin() + cut));
    pivot::aggregate::Partial out(&shape);
    EXPECT_FALSE(pivot::wire::merge_from_json(part, out)) << cut;
  }
}

}  // namespace
