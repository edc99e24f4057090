// Spans under a W3C trace context: they record its trace id and their parent
// span ids, become the current span while open, and show the ids to sinks.
#include <gtest/gtest.h>

#include <map>

#include "pivot/trace_context.h"
#include "trace/format.h"
#include "trace/trace_test_util.h"

namespace pivot::testing {
namespace {

constexpr std::string_view kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

using W3cSpanTest = SpanTest;

TEST_F(W3cSpanTest, SpansRecordTheTraceAndTheirParents) {
  TraceContext caller = *TraceContext::parse(kParent);
  std::string inside_root, inside_child, sent;
  {
    trace_context::Scope scope(caller);
    {
      Trace<Auction> root(Auction{"a-1"}, "root");
      inside_root = trace_context::current().span_id_hex();
      {
        Trace<Auction> child(Auction{"a-1"}, "child");
        inside_child = trace_context::current().span_id_hex();
        std::map<std::string, std::string> headers;
        ASSERT_TRUE(trace_context::inject(headers));
        sent = headers.at("traceparent");
      }
      EXPECT_EQ(trace_context::current().span_id_hex(), inside_root);  // the child ended
    }
    EXPECT_EQ(trace_context::current(), caller);  // the root ended
  }
  ASSERT_TRUE(collector_.wait_for(1));
  std::vector<Tree> trees = collector_.trees();
  ASSERT_EQ(trees.size(), 1u);
  const std::vector<Span>& spans = trees[0].spans;
  ASSERT_EQ(spans.size(), 2u);
  const Span& child = spans[0];  // innermost first
  const Span& root = spans[1];
  EXPECT_EQ(root.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(child.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(root.parent_span_id, "00f067aa0ba902b7");
  EXPECT_EQ(root.span_id, inside_root);
  EXPECT_EQ(child.parent_span_id, root.span_id);
  EXPECT_EQ(child.span_id, inside_child);
  EXPECT_NE(child.span_id, root.span_id);
  EXPECT_EQ(sent, "00-4bf92f3577b34da6a3ce929d0e0e4736-" + child.span_id + "-01");
}

TEST_F(W3cSpanTest, AnotherIdNestedInASpanHasThatSpanAsParent) {
  trace_context::Scope scope(*TraceContext::parse(kParent));
  {
    Trace<Auction> outer(Auction{"a-2"}, "outer");
    Trace<Auction> inner(Auction{"other id"}, "inner");
  }
  ASSERT_TRUE(collector_.wait_for(2));
  std::vector<Tree> trees = collector_.trees();
  ASSERT_EQ(trees.size(), 2u);
  ASSERT_EQ(trees[0].uniq, "other id");  // ended first
  EXPECT_EQ(trees[0].spans[0].parent_span_id, trees[1].spans[0].span_id);
}

TEST_F(W3cSpanTest, WithoutAContextSpansHaveNoW3cIds) {
  { Trace<Auction> t(Auction{"a-3"}, "alone"); }
  ASSERT_TRUE(collector_.wait_for(1));
  std::vector<Tree> trees = collector_.trees();
  ASSERT_EQ(trees.size(), 1u);
  const Span& s = trees[0].spans[0];
  EXPECT_EQ(s.trace_id, "");
  EXPECT_EQ(s.span_id, "");
  EXPECT_EQ(s.parent_span_id, "");
}

TEST(W3cSpanFormatTest, JsonLinesCarryTheIdsOnlyForTracedSpans) {
  internal::SpanRecord r{4242, "dn1", 77, "Auction", "a-1", 1, -1, 1, "Router::bid", 1000, 2500, false};
  std::string plain;
  internal::append_span_json(plain, r);
  EXPECT_EQ(plain,
            R"({"tid":4242,"host":"dn1","kpid":77,"kind":"Auction","uniq":"a-1","freq":1,"pid":-1,"id":1,)"
            R"("tag":"Router::bid","t1":1000,"t2":2500})");
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.span_id = "1111111111111111";
  r.parent_span_id = "00f067aa0ba902b7";
  std::string traced;
  internal::append_span_json(traced, r);
  EXPECT_EQ(traced,
            R"({"tid":4242,"host":"dn1","kpid":77,"kind":"Auction","uniq":"a-1","freq":1,"pid":-1,"id":1,)"
            R"("tag":"Router::bid","t1":1000,"t2":2500,"traceId":"4bf92f3577b34da6a3ce929d0e0e4736",)"
            R"("spanId":"1111111111111111","parentSpanId":"00f067aa0ba902b7"})");
}

}  // namespace
}  // namespace pivot::testing
