// Spans are tracepoints: queries over SpanEnd/SpanBegin, alone and joined by
// happened-before with other tracepoints.
#include <gtest/gtest.h>

#include <thread>

#include "pivot/pivot.h"

namespace app {

struct Block {
  std::string id;
};
std::tuple<const char*, std::string, int> do_probe(const Block& b) { return {"Block", b.id, 1}; }

void client(const std::string& procName) { PIVOT_TRACEPOINT("SpanQ.client", procName); }

void read_block(const Block& b, int inner) {
  pivot::Trace<Block> outer(b, "readBlock");
  for (int i = 0; i < inner; ++i) pivot::Trace<Block> t(b, "checksum");
}

}  // namespace app

namespace {

TEST(SpanQuery, SpanEndGroupedByTag) {
  pivot::Session s;
  auto q = s.install(
      "From s In SpanEnd Where s.kind == \"Block\" GroupBy s.tag Select s.tag, COUNT, MIN(s.duration)");
  ASSERT_TRUE(q) << q.error().message();
  for (int i = 0; i < 5; ++i) app::read_block({"b" + std::to_string(i)}, 2);
  pivot::ResultTable t = s.results(*q);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][0], pivot::Value("checksum"));
  EXPECT_EQ(t.rows[0][1], pivot::Value(10));
  EXPECT_EQ(t.rows[1][0], pivot::Value("readBlock"));
  EXPECT_EQ(t.rows[1][1], pivot::Value(5));
  EXPECT_GE(t.rows[1][2].as_int(), 0);
}

TEST(SpanQuery, TheIssuesQueryRuns) {
  pivot::Session s;
  auto q = s.install(
      "From s In SpanEnd Where s.tag == \"readBlock\" GroupBy s.host Select s.host, AVG(s.duration)");
  ASSERT_TRUE(q) << q.error().message();
  for (int i = 0; i < 4; ++i) app::read_block({"x" + std::to_string(i)}, 0);
  pivot::ResultTable t = s.results(*q);
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_TRUE(t.rows[0][1].is_double());
  EXPECT_GE(t.rows[0][1].as_double(), 0.0);
}

TEST(SpanQuery, SpansJoinByHappenedBefore) {
  pivot::Session s;
  auto q = s.install(
      "From s In SpanEnd Join c In First(SpanQ.client) On c -> s Where s.tag == \"readBlock\" "
      "GroupBy c.procName Select c.procName, COUNT");
  ASSERT_TRUE(q) << q.error().message();
  auto request = [](const std::string& who, int blocks) {
    pivot::baggage::Scope scope{pivot::Baggage{}};
    app::client(who);
    std::thread t(pivot::baggage::wrap([blocks] {  // spans on another thread, same request
      for (int i = 0; i < blocks; ++i) app::read_block({"r" + std::to_string(i)}, 1);
    }));
    t.join();
  };
  request("HBase", 3);
  request("MapReduce", 2);
  request("HBase", 1);
  {
    pivot::baggage::Scope unrelated{pivot::Baggage{}};
    app::read_block({"lonely"}, 0);  // no client before it: not counted
  }
  EXPECT_EQ(s.results(*q).to_json(),
            R"json({"columns":["c.procName","COUNT"],"rows":[["HBase",4],["MapReduce",2]]})json");
}

}  // namespace
