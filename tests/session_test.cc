#include <gtest/gtest.h>

#include <algorithm>

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
            "timestamp:int cpu:int ");
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
