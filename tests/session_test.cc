#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "pivot/pivot.h"

namespace {

void incr_bytes_read(int64_t delta) { PIVOT_TRACEPOINT("Smoke.incrBytesRead", delta); }
void client_protocols(const std::string& procName) { PIVOT_TRACEPOINT("Smoke.ClientProtocols", procName); }

TEST(Session, SeedQuery) {
  pivot::Session s;
  auto q = s.install(
      "From incr In Smoke.incrBytesRead Join cl In First(Smoke.ClientProtocols) On cl -> incr "
      "GroupBy cl.procName Select cl.procName, SUM(incr.delta)");
  ASSERT_TRUE(q) << q.error().message();
  for (int i = 0; i < 3; ++i) {
    pivot::baggage::Scope scope{pivot::Baggage()};
    client_protocols("HBase");
    client_protocols("ignored-not-first");
    incr_bytes_read(10);
    incr_bytes_read(5);
  }
  {
    pivot::baggage::Scope scope{pivot::Baggage()};
    client_protocols("MapReduce");
    incr_bytes_read(7);
  }
  incr_bytes_read(1000);  // no client before it: no join
  EXPECT_EQ(s.results(*q).to_json(),
            R"json({"columns":["cl.procName","SUM(incr.delta)"],"rows":[["HBase",45],["MapReduce",7]]})json");
  auto e = s.explain(
      "From incr In Smoke.incrBytesRead Join cl In First(Smoke.ClientProtocols) On cl -> incr "
      "GroupBy cl.procName Select cl.procName, SUM(incr.delta)");
  ASSERT_TRUE(e);
  EXPECT_EQ(*e,
            "A1 @ Smoke.ClientProtocols: OBSERVE procName; PACK-FIRST q1.cl(procName)\n"
            "A2 @ Smoke.incrBytesRead: OBSERVE delta; UNPACK q1.cl(procName); EMIT q1 GROUP(procName) "
            "SUM(delta)\n");
}

// A Let that reads no variable is a constant; a filter that uses it beside a
// joined variable's field must see its value, not null.
TEST(Session, AConstantLetIsSeenByTheFiltersThatUseIt) {
  pivot::Session s;
  auto q = s.install(
      "From incr In Smoke.incrBytesRead Join cl In Smoke.ClientProtocols On cl -> incr "
      "Where k < incr.delta And cl.procName != k2 Let k = 5 Let k2 = \"none\" "
      "GroupBy cl.procName Select cl.procName, SUM(incr.delta)");
  ASSERT_TRUE(q) << q.error().message();
  {
    pivot::baggage::Scope scope{pivot::Baggage()};
    client_protocols("HBase");
    incr_bytes_read(10);
    incr_bytes_read(5);  // not over k
    incr_bytes_read(6);
  }
  {
    pivot::baggage::Scope scope{pivot::Baggage()};
    client_protocols("none");  // equal to k2
    incr_bytes_read(7);
  }
  EXPECT_EQ(s.results(*q).to_json(),
            R"json({"columns":["cl.procName","SUM(incr.delta)"],"rows":[["HBase",16]]})json");
}

// A MostRecent join runs on the precompiled plan, a MostRecentN one on the
// general interpreter: over the same events they give the same rows while
// one tuple is there, and an overflowed baggage marks both results.
TEST(Session, JoinsOnThePlanAndOnTheInterpreterAgree) {
  pivot::Session s;
  const std::string rest = " On cl -> incr GroupBy cl.procName Select cl.procName, SUM(incr.delta)";
  auto plan =
      s.install("From incr In Smoke.incrBytesRead Join cl In MostRecent(Smoke.ClientProtocols)" + rest);
  auto general =
      s.install("From incr In Smoke.incrBytesRead Join cl In MostRecentN(Smoke.ClientProtocols, 2)" + rest);
  ASSERT_TRUE(plan) << plan.error().message();
  ASSERT_TRUE(general) << general.error().message();
  {
    pivot::baggage::Scope scope{pivot::Baggage()};
    incr_bytes_read(1000);  // nothing packed yet: no row
    client_protocols("HBase");
    incr_bytes_read(10);
    client_protocols("Hive");
    incr_bytes_read(5);  // the plan: Hive; the interpreter: HBase and Hive
  }
  EXPECT_EQ(s.results(*plan).to_json(),
            R"json({"columns":["cl.procName","SUM(incr.delta)"],"rows":[["HBase",10],["Hive",5]]})json");
  EXPECT_EQ(s.results(*general).to_json(),
            R"json({"columns":["cl.procName","SUM(incr.delta)"],"rows":[["HBase",15],["Hive",5]]})json");

  const size_t cap = pivot::baggage::byte_cap();
  pivot::baggage::set_byte_cap(40);  // room for one short tuple in each query's bag
  {
    pivot::baggage::Scope scope{pivot::Baggage()};
    client_protocols("Pig");
    client_protocols("dropped: the baggage is full");
    incr_bytes_read(3);  // one tuple, from an overflowed baggage
  }
  pivot::baggage::set_byte_cap(cap);
  const std::string pig = R"json(,["Pig",3]],"incomplete":true})json";
  EXPECT_EQ(s.results(*plan).to_json(),
            R"json({"columns":["cl.procName","SUM(incr.delta)"],"rows":[["HBase",10],["Hive",5])json" + pig);
  EXPECT_EQ(s.results(*general).to_json(),
            R"json({"columns":["cl.procName","SUM(incr.delta)"],"rows":[["HBase",15],["Hive",5])json" + pig);
}

// A join whose tuple the byte cap dropped has no row, and says so.
TEST(Session, AJoinWithItsTupleDroppedIsIncomplete) {
  pivot::Session s;
  auto q = s.install(
      "From incr In Smoke.incrBytesRead Join cl In MostRecent(Smoke.ClientProtocols) On cl -> incr "
      "GroupBy cl.procName Select cl.procName, SUM(incr.delta)");
  ASSERT_TRUE(q) << q.error().message();
  const size_t cap = pivot::baggage::byte_cap();
  pivot::baggage::set_byte_cap(8);  // not even one tuple
  {
    pivot::baggage::Scope scope{pivot::Baggage()};
    client_protocols("HBase");
    incr_bytes_read(10);
  }
  pivot::baggage::set_byte_cap(cap);
  EXPECT_EQ(s.results(*q).to_json(),
            R"json({"columns":["cl.procName","SUM(incr.delta)"],"rows":[],"incomplete":true})json");
}

}  // namespace

namespace {

int g_evaluated = 0;
int64_t expensive() {
  ++g_evaluated;
  return 42;
}
void maybe_traced(int64_t cheap) {
  PIVOT_TRACEPOINT("Smoke.lazy", cheap, PIVOT_EXPORT("costly", expensive()));
}

TEST(Session, DormantSitesDoNotEvaluateArgumentsAndActiveOnesOnlyWhatIsUsed) {
  g_evaluated = 0;
  for (int i = 0; i < 10; ++i) maybe_traced(i);
  EXPECT_EQ(g_evaluated, 0);
  pivot::Session s;
  auto q = s.install("From l In Smoke.lazy Select SUM(l.cheap)");
  ASSERT_TRUE(q) << q.error().message();
  for (int i = 0; i < 10; ++i) maybe_traced(i);
  EXPECT_EQ(g_evaluated, 0);  // the query never reads `costly`
  EXPECT_EQ(s.results(*q).to_json(), R"json({"columns":["SUM(l.cheap)"],"rows":[[45]]})json");
  auto q2 = s.install("From l In Smoke.lazy Select SUM(l.costly)");
  ASSERT_TRUE(q2);
  maybe_traced(1);
  EXPECT_EQ(g_evaluated, 1);
  EXPECT_EQ(s.results(*q2).to_json(), R"json({"columns":["SUM(l.costly)"],"rows":[[42]]})json");
}

TEST(Session, SitesAreListedWithTheirExportsBeforeTheyRun) {
  auto all = pivot::Session::tracepoints();
  auto it = std::find_if(all.begin(), all.end(), [](const auto& t) { return t.name == "Smoke.neverRuns"; });
  ASSERT_NE(it, all.end());
  std::string exports;
  for (const auto& e : it->exports) {
    exports += e.name + ":" + std::string(pivot::type_name(e.type)) + (e.is_list ? "[] " : " ");
  }
  EXPECT_EQ(exports,
            "n:int ratio:double names:string[] host:string procName:string procId:int tid:int "
            "timestamp:int cpu:int traceId:string ");
  EXPECT_EQ(it->sites, 1);
}

[[maybe_unused]] void never_runs(int n, double ratio, const std::vector<std::string>& names) {
  PIVOT_TRACEPOINT("Smoke.neverRuns", n, ratio, names);
}

TEST(Session, RowsWithoutAggregationAreBoundedAndCountDropped) {
  pivot::Session s;
  auto q = s.install("From i In Smoke.incrBytesRead Select i.delta");
  ASSERT_TRUE(q);
  for (int i = 0; i < 10'005; ++i) incr_bytes_read(i);
  pivot::ResultTable t = s.results(*q);
  EXPECT_EQ(t.rows.size(), 10'000u);
  EXPECT_EQ(t.dropped, 5u);
  EXPECT_NE(t.to_json().find(",\"dropped\":5}"), std::string::npos);
}

TEST(Session, UninstallStopsCountingAndUnknownIdsAreErrors) {
  pivot::Session s;
  auto q = s.install("From i In Smoke.incrBytesRead Select COUNT");
  ASSERT_TRUE(q);
  incr_bytes_read(1);
  EXPECT_EQ(s.results(*q).rows[0][0], pivot::Value(1));
  EXPECT_TRUE(s.uninstall(*q).ok());
  incr_bytes_read(1);
  EXPECT_TRUE(s.results(*q).rows.empty());
  pivot::Status again = s.uninstall(*q);
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(again.error().message(), "no installed query with id " + std::to_string(q->value));
}

}  // namespace

namespace {

void shaped(int64_t n, double x, const std::string& name) { PIVOT_TRACEPOINT("Smoke.shaped", n, x, name); }

// The common shapes run on the interpreter's precompiled path (advice
// Simple); these pin that it means what the general path means.
TEST(Session, PrecompiledShapesKeepTheirMeaning) {
  pivot::Session s;
  const char* queries[] = {
      "From a In Smoke.shaped GroupBy a.host Select a.host, SUM(a.n), COUNT",
      "From a In Smoke.shaped GroupBy a.n % 3 Select a.n % 3, SUM(a.n), MIN(a.x), MAX(a.name), AVG(a.n)",
      "From a In Smoke.shaped Where a.n > 2 And a.name != \"b\" GroupBy a.name Select a.name, SUM(a.x)",
      "From a In Smoke.shaped Let m = a.n * 2 GroupBy a.procName, m / 4 Select a.procName, m / 4, COUNT",
      "From a In Smoke.shaped Select SUM(a.n + a.x), SUM(a.n / 0)",
  };
  std::vector<pivot::QueryId> ids;
  for (const char* text : queries) {
    auto q = s.install(text);
    ASSERT_TRUE(q) << text << ": " << q.error().message();
    ids.push_back(*q);
  }
  const char* names[] = {"a", "b", "c"};
  for (int64_t i = 0; i < 9; ++i) shaped(i, i * 0.5, names[i % 3]);
  shaped(std::numeric_limits<int64_t>::max(), 0, "a");
  shaped(1, 0, "a");  // SUM(n) overflows into a double
  // Hand-checked: n is 0..8, then INT64_MAX and 1 (name "a", x 0).
  pivot::ResultTable t0 = s.results(ids[0]);
  ASSERT_EQ(t0.rows.size(), 1u);
  EXPECT_EQ(t0.to_json(), R"json({"columns":["a.host","SUM(a.n)","COUNT"],"rows":[[)json" +
                              t0.rows[0][0].to_json() +
                              R"json(,9223372036854775808.0,11]],"overflow":true})json");
  EXPECT_EQ(
      s.results(ids[1]).to_json(),
      R"json({"columns":["a.n % 3","SUM(a.n)","MIN(a.x)","MAX(a.name)","AVG(a.n)"],"rows":[)json"
      R"json([0,9,0.0,"a",3.0],[1,9223372036854775808.0,0.0,"b",1844674407370955264.0],[2,15,1.0,"c",5.0]],"overflow":true})json");
  EXPECT_EQ(s.results(ids[2]).to_json(),
            R"json({"columns":["a.name","SUM(a.x)"],"rows":[["a",4.5],["c",6.5]]})json");
  pivot::ResultTable t3 = s.results(ids[3]);
  std::string p = pivot::Value(t3.rows.empty() ? std::string() : t3.rows[0][0].to_json()).as_string();
  EXPECT_EQ(t3.to_json(), R"json({"columns":["a.procName","m / 4","COUNT"],"rows":[[)json" + p + ",0,3],[" +
                              p + ",1,2],[" + p + ",2,2],[" + p + ",3,2],[" + p + ",4,1],[" + p +
                              R"json(,4611686018427387904.0,1]]})json");
  EXPECT_EQ(s.results(ids[4]).to_json(),
            R"json({"columns":["SUM(a.n + a.x)","SUM(a.n / 0)"],"rows":[[9223372036854775808.0,null]]})json");
}

}  // namespace

namespace {

void hot(int64_t n) { PIVOT_TRACEPOINT("Smoke.hot", n); }

// results() while threads emit: every event completed before the call is
// in the answer, none is counted twice, and the partials swapped out from
// under the emitting threads lose nothing (run under TSan too).
TEST(Session, ResultsWhileThreadsEmitIncludeEveryCompletedEvent) {
  pivot::Session s;
  auto q = s.install("From h In Smoke.hot GroupBy h.n % 2 Select h.n % 2, COUNT, SUM(h.n)");
  ASSERT_TRUE(q) << q.error().message();
  constexpr int kThreads = 3, kEvents = 20000;
  std::atomic<int64_t> completed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int64_t i = 0; i < kEvents; ++i) {
        hot(i);
        completed.fetch_add(1, std::memory_order_release);
      }
    });
  }
  auto total = [](const pivot::ResultTable& r) {
    int64_t n = 0;
    for (const auto& row : r.rows) n += row[1].as_int();
    return n;
  };
  int64_t last = 0;
  for (int round = 0; round < 50; ++round) {
    int64_t before = completed.load(std::memory_order_acquire);
    int64_t seen = total(s.results(*q));
    EXPECT_GE(seen, before);
    EXPECT_GE(seen, last);
    last = seen;
  }
  for (auto& t : threads) t.join();
  pivot::ResultTable r = s.results(*q);
  ASSERT_EQ(r.rows.size(), 2u);
  int64_t half = kEvents / 2;
  EXPECT_EQ(r.rows[0][1].as_int(), kThreads * half);
  EXPECT_EQ(r.rows[1][1].as_int(), kThreads * half);
  EXPECT_EQ(r.rows[0][2].as_int(), kThreads * (half * (half - 1)));  // 0 + 2 + ... + (kEvents - 2)
  EXPECT_EQ(r.rows[1][2].as_int(), kThreads * half * half);          // 1 + 3 + ... + (kEvents - 1)
}

}  // namespace
