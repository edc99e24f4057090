// A named query that aggregates, as the source of a later one: the later
// query runs over the source's merged rows (one per group), in the session
// as at the frontend, and answers from the source's cumulative totals.
#include <gtest/gtest.h>

#include <string>

#include "pivot/pivot.h"

namespace {

void read_done(const std::string& proc, int64_t req, int64_t bytes) {
  PIVOT_TRACEPOINT("Sources.Read", proc, req, bytes);
}

// Per-request totals: HBase reads 10+20 (req 1), 5 (req 2); MapReduce
// 100 (req 3), 1+2+3 (req 4), 7 (req 5).
void read_some() {
  read_done("HBase", 1, 10);
  read_done("MapReduce", 3, 100);
  read_done("HBase", 1, 20);
  read_done("HBase", 2, 5);
  for (int64_t b : {1, 2, 3}) read_done("MapReduce", 4, b);
  read_done("MapReduce", 5, 7);
}

const char* const kPerRequest =
    "PerReq = From r In Sources.Read GroupBy r.proc, r.req "
    "Select r.proc, r.req, SUM(r.bytes) As bytes\n";

TEST(AggregatingSources, ADistributionOverPerRequestTotals) {
  pivot::Session s;
  auto q = s.install(std::string(kPerRequest) +
                     "From x In PerReq GroupBy x.proc "
                     "Select x.proc, COUNT, SUM(x.bytes), MIN(x.bytes), MAX(x.bytes), AVG(x.bytes)");
  ASSERT_TRUE(q) << q.error().message();
  read_some();
  EXPECT_EQ(
      s.results(*q).to_json(),
      R"json({"columns":["x.proc","COUNT","SUM(x.bytes)","MIN(x.bytes)","MAX(x.bytes)","AVG(x.bytes)"],)json"
      R"json("rows":[["HBase",2,35,5,30,17.5],["MapReduce",3,113,6,100,37.666666666666664]]})json");
  auto inner = s.results(*q, "PerReq");
  ASSERT_TRUE(inner) << inner.error().message();
  EXPECT_EQ(inner->rows.size(), 5u);
}

// The source's rows are its running totals: a request that goes on
// reading stays one row, its total grown.
TEST(AggregatingSources, AnswersFromTheSourcesRunningTotals) {
  pivot::Session s;
  auto q = s.install(std::string(kPerRequest) + "From x In PerReq Select COUNT, MAX(x.bytes)");
  ASSERT_TRUE(q) << q.error().message();
  read_some();
  EXPECT_EQ(s.results(*q).to_json(), R"json({"columns":["COUNT","MAX(x.bytes)"],"rows":[[5,100]]})json");
  read_done("HBase", 2, 500);
  EXPECT_EQ(s.results(*q).to_json(), R"json({"columns":["COUNT","MAX(x.bytes)"],"rows":[[5,505]]})json");
}

TEST(AggregatingSources, WhereLetOrderByAndLimitOfTheLaterQuery) {
  pivot::Session s;
  auto q = s.install(std::string(kPerRequest) +
                     "From x In PerReq Where x.bytes >= 7 Let kb = x.bytes / 10 "
                     "Select x.req, kb OrderBy kb Desc Limit 3");
  ASSERT_TRUE(q) << q.error().message();
  read_some();
  EXPECT_EQ(s.results(*q).to_json(), R"json({"columns":["x.req","kb"],"rows":[[3,10],[1,3],[5,0]]})json");
}

// The source's OrderBy and Limit come first: the later query reads its
// rows as its table has them.
TEST(AggregatingSources, TheSourcesOrderByAndLimitApplyFirst) {
  pivot::Session s;
  auto q = s.install(
      "Top = From r In Sources.Read GroupBy r.req Select r.req, SUM(r.bytes) As bytes "
      "OrderBy bytes Desc Limit 2\n"
      "From t In Top Select COUNT, SUM(t.bytes)");
  ASSERT_TRUE(q) << q.error().message();
  read_some();
  EXPECT_EQ(s.results(*q).to_json(), R"json({"columns":["COUNT","SUM(t.bytes)"],"rows":[[2,130]]})json");
}

// A chain: a non-aggregating step over the rows is inlined into the query
// after it, and an aggregating one is a source in its turn.
TEST(AggregatingSources, Chains) {
  pivot::Session s;
  auto q = s.install(std::string(kPerRequest) +
                     "Big = From x In PerReq Where x.bytes > 6 Select x.proc As proc, x.bytes As bytes\n"
                     "ByProc = From b In Big GroupBy b.proc Select b.proc, COUNT As n\n"
                     "From p In ByProc Select SUM(p.n), MAX(p.n)");
  ASSERT_TRUE(q) << q.error().message();
  read_some();
  EXPECT_EQ(s.results(*q).to_json(), R"json({"columns":["SUM(p.n)","MAX(p.n)"],"rows":[[3,2]]})json");
  auto big = s.results(*q, "Big");
  ASSERT_TRUE(big) << big.error().message();
  EXPECT_EQ(
      big->to_json(),
      R"json({"columns":["proc","bytes"],"rows":[["HBase",30],["MapReduce",7],["MapReduce",100]]})json");
}

// Groups the source had no room for are missing from its rows: the later
// query says it is incomplete, with the source's dropped events.
TEST(AggregatingSources, TheSourcesLimitsCarryThrough) {
  pivot::Session s;
  auto q =
      s.install(std::string(kPerRequest) + "From x In PerReq Select COUNT, SUM(x.bytes)", {.max_groups = 2});
  ASSERT_TRUE(q) << q.error().message();
  read_some();
  auto t = s.results(*q);
  EXPECT_EQ(
      t.to_json(),
      R"json({"columns":["COUNT","SUM(x.bytes)"],"rows":[[2,130]],"incomplete":true,"dropped":5,"max_groups":2})json");
  EXPECT_NE(t.to_text().find("(incomplete: 5 events dropped: at most 2 groups"), std::string::npos)
      << t.to_text();
}

TEST(AggregatingSources, ExplainSaysWhereItRuns) {
  pivot::Session s;
  auto text =
      s.explain(std::string(kPerRequest) + "From x In PerReq GroupBy x.proc Select x.proc, AVG(x.bytes)");
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(*text,
            "A1 @ Sources.Read: OBSERVE proc, req, bytes; EMIT PerReq GROUP(proc, req) SUM(bytes)\n"
            "A2 @ merged rows of PerReq: OBSERVE proc, bytes; EMIT q2 GROUP(proc) AVG(bytes)\n");
}

}  // namespace
