// W3C traceparent: parsing exactly what the specification allows, formatting,
// the current context, and inject/extract over carriers.
#include "pivot/trace_context.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace pivot {
namespace {

// The example of the W3C specification.
constexpr std::string_view kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceContextTest, ParsesTheSpecificationsExample) {
  Result<TraceContext> c = TraceContext::parse(kParent);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->valid());
  EXPECT_TRUE(c->sampled());
  EXPECT_EQ(c->trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c->span_id_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(c->trace_id[0], 0x4b);
  EXPECT_EQ(c->span_id[7], 0xb7);
  EXPECT_EQ(c->traceparent(), kParent);
}

TEST(TraceContextTest, KeepsFlagsItDoesNotKnowAndIgnoresSurroundingSpace) {
  Result<TraceContext> c = TraceContext::parse(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe\t");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_FALSE(c->sampled());
  EXPECT_EQ(c->flags, 0xfe);
  EXPECT_EQ(c->traceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe");
}

TEST(TraceContextTest, ALaterVersionIsReadAsVersion00) {
  // A receiver must read the fields it knows of a higher version, and send
  // version 00.
  Result<TraceContext> c =
      TraceContext::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->traceparent(), kParent);
}

TEST(TraceContextTest, RejectsWhatTheSpecificationRejects) {
  struct Case {
    std::string text, message;
  };
  const Case cases[] = {
      {"", "traceparent: too short (0 characters, expected 55)"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
       "traceparent: too short (54 characters, expected 55)"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
       "traceparent: version 00 is 55 characters, not 56"},
      {"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "traceparent: version ff is invalid"},
      {"0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
       "traceparent: invalid hex digit 'g' at offset 1"},
      {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
       "traceparent: invalid hex digit 'B' at offset 4"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0X",
       "traceparent: invalid hex digit 'X' at offset 54"},
      {"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "traceparent: expected '-' at offset 2"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01", "traceparent: expected '-' at offset 35"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01", "traceparent: expected '-' at offset 52"},
      {"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", "traceparent: expected '-' at offset 55"},
      {"00-00000000000000000000000000000000-00f067aa0ba902b7-01", "traceparent: all-zero trace-id"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "traceparent: all-zero parent-id"},
  };
  for (const Case& c : cases) {
    Result<TraceContext> r = TraceContext::parse(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().message(), c.message) << c.text;
  }
}

TEST(TraceContextTest, TheDefaultContextIsNoTrace) {
  TraceContext none;
  EXPECT_FALSE(none.valid());
  EXPECT_EQ(none.traceparent(), "");
  EXPECT_EQ(none.trace_id_hex(), "00000000000000000000000000000000");
}

TEST(TraceContextTest, ScopeSetsAndRestoresTheCurrentContext) {
  EXPECT_FALSE(trace_context::current().valid());
  TraceContext outer = *TraceContext::parse(kParent);
  {
    trace_context::Scope a(outer);
    EXPECT_EQ(trace_context::current(), outer);
    {
      trace_context::Scope none{TraceContext()};
      EXPECT_FALSE(trace_context::current().valid());
    }
    EXPECT_EQ(trace_context::current(), outer);
  }
  EXPECT_FALSE(trace_context::current().valid());
}

TEST(TraceContextTest, ExchangeSetsTheContextAndGivesBackThePreviousOne) {
  TraceContext caller = *TraceContext::parse(kParent);
  TraceContext before = trace_context::exchange(caller);
  EXPECT_FALSE(before.valid());
  EXPECT_EQ(trace_context::current(), caller);
  EXPECT_EQ(trace_context::exchange(before), caller);
  EXPECT_FALSE(trace_context::current().valid());
}

TEST(TraceContextTest, InjectSendsTheCurrentContextOnly) {
  std::map<std::string, std::string> headers;
  EXPECT_FALSE(trace_context::inject(headers));
  EXPECT_TRUE(headers.empty());
  trace_context::Scope scope(*TraceContext::parse(kParent));
  EXPECT_TRUE(trace_context::inject(headers));
  EXPECT_EQ(headers, (std::map<std::string, std::string>{{"traceparent", std::string(kParent)}}));
}

TEST(TraceContextTest, ExtractCountsRejectedHeadersOnly) {
  uint64_t errors = trace_context::parse_errors();
  std::map<std::string, std::string> none;
  EXPECT_FALSE(trace_context::extract(none).valid());
  EXPECT_EQ(trace_context::parse_errors(), errors);

  const std::map<std::string, std::string> good = {{"traceparent", std::string(kParent)}};
  EXPECT_EQ(trace_context::extract(good).traceparent(), kParent);

  const std::map<std::string, std::string> bad = {{"traceparent", "00-xyz"}};
  EXPECT_FALSE(trace_context::extract(bad).valid());
  EXPECT_EQ(trace_context::parse_errors(), errors + 1);
}

}  // namespace
}  // namespace pivot
