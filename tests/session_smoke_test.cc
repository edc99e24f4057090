#include <gtest/gtest.h>

#include "pivot/pivot.h"

namespace {

void incr_bytes_read(int64_t delta) { PIVOT_TRACEPOINT("Smoke.incrBytesRead", delta); }
void client_protocols(const std::string& procName) { PIVOT_TRACEPOINT("Smoke.ClientProtocols", procName); }

TEST(SessionSmoke, SeedQuery) {
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
            "A2 @ Smoke.incrBytesRead: OBSERVE delta; UNPACK q1.cl(procName); EMIT q1 GROUP(procName) SUM(delta)\n");
}

}  // namespace
