// HIST and LHIST end to end: advice on many threads, the per-thread partials
// merged, the wire encoding an agent sends, and the table and JSON output.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "aggregate/partial.h"
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
