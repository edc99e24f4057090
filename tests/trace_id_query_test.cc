// The traceId export: every tracepoint exports the current W3C trace id
// (null without one), so queries group and join by trace.
#include <gtest/gtest.h>

#include <string>

#include "pivot/pivot.h"
#include "pivot/trace_context.h"

namespace {

void request_start(const std::string& user) { PIVOT_TRACEPOINT("TraceIdTest.Start", user); }
void bytes_read(int64_t delta) { PIVOT_TRACEPOINT("TraceIdTest.Read", delta); }

pivot::TraceContext context(std::string_view traceparent) {
  pivot::Result<pivot::TraceContext> c = pivot::TraceContext::parse(traceparent);
  EXPECT_TRUE(c) << c.error().message();
  return c ? *c : pivot::TraceContext();
}

const pivot::TraceContext kA = context("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
const pivot::TraceContext kB = context("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");

TEST(TraceIdQuery, GroupByTraceId) {
  pivot::Session s;
  auto q = s.install("From r In TraceIdTest.Read GroupBy r.traceId Select r.traceId, SUM(r.delta)");
  ASSERT_TRUE(q) << q.error().message();
  {
    pivot::trace_context::Scope scope(kA);
    bytes_read(10);
    bytes_read(5);
  }
  {
    pivot::trace_context::Scope scope(kB);
    bytes_read(7);
  }
  bytes_read(1000);  // no trace: a null group (null sorts first)
  EXPECT_EQ(s.results(*q).to_json(),
            R"json({"columns":["r.traceId","SUM(r.delta)"],"rows":[[null,1000],)json"
            R"json(["0af7651916cd43dd8448eb211c80319c",15],["4bf92f3577b34da6a3ce929d0e0e4736",7]]})json");
}

TEST(TraceIdQuery, HappenedBeforeJoinKeepsTheTraceOfEachSide) {
  pivot::Session s;
  auto q = s.install(
      "From r In TraceIdTest.Read Join st In First(TraceIdTest.Start) On st -> r "
      "Where st.traceId == r.traceId GroupBy st.user, r.traceId Select st.user, r.traceId, SUM(r.delta)");
  ASSERT_TRUE(q) << q.error().message();
  {
    pivot::baggage::Scope request{pivot::Baggage()};
    pivot::trace_context::Scope scope(kA);
    request_start("alice");
    bytes_read(3);
    {
      pivot::trace_context::Scope other(kB);  // a different trace: filtered out
      bytes_read(100);
    }
    bytes_read(4);
  }
  EXPECT_EQ(s.results(*q).to_json(),
            R"json({"columns":["st.user","r.traceId","SUM(r.delta)"],"rows":[)json"
            R"json(["alice","0af7651916cd43dd8448eb211c80319c",7]]})json");
}

TEST(TraceIdQuery, TraceIdIsListedAsAnExportOfEveryTracepoint) {
  auto all = pivot::Session::tracepoints();
  auto it = std::find_if(all.begin(), all.end(), [](const auto& t) { return t.name == "TraceIdTest.Read"; });
  ASSERT_NE(it, all.end());
  ASSERT_FALSE(it->exports.empty());
  EXPECT_EQ(it->exports.back().name, "traceId");
  EXPECT_EQ(it->exports.back().type, pivot::ValueType::kString);
}

}  // namespace
