// OrderBy and Limit sort and cut the merged result: the totals Session
// returns, and so every table the frontend prints. Agents keep every group.
#include <gtest/gtest.h>

#include <string>

#include "pivot/pivot.h"

namespace {

void served(const std::string& host, int64_t bytes) { PIVOT_TRACEPOINT("Order.Served", host, bytes); }

void serve_some() {
  // dn1: 3 events, 30 bytes; dn2: 1 event, 100 bytes; dn3: 2 events, 30 bytes; dn4: 4 events, 4 bytes
  for (int i = 0; i < 3; ++i) served("dn1", 10);
  served("dn2", 100);
  for (int i = 0; i < 2; ++i) served("dn3", 15);
  for (int i = 0; i < 4; ++i) served("dn4", 1);
}

std::string run(const std::string& select_and_after) {
  pivot::Session s;
  auto q = s.install("From s In Order.Served GroupBy s.host " + select_and_after);
  if (!q) return q.error().message();
  serve_some();
  return s.results(*q).to_json();
}

TEST(OrderLimit, TopKBySumDescending) {
  EXPECT_EQ(run("Select s.host, SUM(s.bytes) OrderBy SUM(s.bytes) Desc Limit 2"),
            R"json({"columns":["s.host","SUM(s.bytes)"],"rows":[["dn2",100],["dn1",30]]})json");
}

TEST(OrderLimit, TiesKeepTheOrderByValueAndLaterKeysBreakThem) {
  EXPECT_EQ(run("Select s.host, SUM(s.bytes) As b OrderBy b Desc"),
            R"json({"columns":["s.host","b"],"rows":[["dn2",100],["dn1",30],["dn3",30],["dn4",4]]})json");
  EXPECT_EQ(run("Select s.host, SUM(s.bytes) As b, COUNT OrderBy b Desc, COUNT Asc Limit 3"),
            R"json({"columns":["s.host","b","COUNT"],"rows":[["dn2",100,1],["dn3",30,2],["dn1",30,3]]})json");
}

TEST(OrderLimit, AscendingByDefaultAndByGroupKey) {
  EXPECT_EQ(run("Select s.host, COUNT Order By COUNT"),
            R"json({"columns":["s.host","COUNT"],"rows":[["dn2",1],["dn3",2],["dn1",3],["dn4",4]]})json");
  EXPECT_EQ(run("Select s.host, COUNT OrderBy s.host desc limit 1"),
            R"json({"columns":["s.host","COUNT"],"rows":[["dn4",4]]})json");
}

TEST(OrderLimit, LimitAloneKeepsTheFirstRowsInValueOrder) {
  EXPECT_EQ(run("Select s.host, COUNT Limit 2"),
            R"json({"columns":["s.host","COUNT"],"rows":[["dn1",3],["dn2",1]]})json");
}

TEST(OrderLimit, RawRowsToo) {
  pivot::Session s;
  auto q = s.install("From s In Order.Served Select s.host, s.bytes OrderBy s.bytes Desc Limit 3");
  ASSERT_TRUE(q) << q.error().message();
  serve_some();
  EXPECT_EQ(s.results(*q).to_json(),
            R"json({"columns":["s.host","s.bytes"],"rows":[["dn2",100],["dn3",15],["dn3",15]]})json");
}

// A Limit is not a limit on what is counted: nothing is dropped, and the
// result is complete.
TEST(OrderLimit, ALimitDropsNothing) {
  pivot::Session s;
  auto q = s.install("From s In Order.Served GroupBy s.host Select s.host, COUNT Limit 1", {.max_groups = 2});
  ASSERT_TRUE(q) << q.error().message();
  serve_some();
  auto t = s.results(*q);
  EXPECT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.dropped, 6u);  // dn3 and dn4 had no room: max_groups, not Limit
}

}  // namespace
