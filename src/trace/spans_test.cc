#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <thread>
#include <type_traits>

#include "core/clock.h"
#include "pivot/trace.h"
#include "trace/trace_test_util.h"

namespace pivot::testing {
namespace {

static_assert(!std::is_copy_constructible_v<Trace<Auction>>);
static_assert(!std::is_copy_assignable_v<Trace<Auction>>);
static_assert(std::is_nothrow_move_constructible_v<Trace<Auction>>);
static_assert(std::is_nothrow_move_assignable_v<Trace<Auction>>);
static_assert(sizeof(Trace<Auction>) == sizeof(void*));

using SpansTest = SpanTest;

// tag, id, pid of each span, in delivery order.
std::vector<std::tuple<std::string, int64_t, int64_t>> shape(const Tree& t) {
  std::vector<std::tuple<std::string, int64_t, int64_t>> out;
  for (const Span& s : t.spans) out.emplace_back(s.tag, s.id, s.pid);
  return out;
}

using Shape = std::vector<std::tuple<std::string, int64_t, int64_t>>;

TEST_F(SpansTest, OneSpanIsOneTree) {
  int64_t before = internal::now_ns();
  { Trace<Auction> t(Auction{"a-1"}, "Router::bid"); }
  int64_t after = internal::now_ns();
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 1u);
  EXPECT_EQ(trees[0].kind, "Auction");
  EXPECT_EQ(trees[0].uniq, "a-1");
  EXPECT_EQ(trees[0].freq, 1u);
  EXPECT_EQ(shape(trees[0]), (Shape{{"Router::bid", 1, -1}}));
  const Span& s = trees[0].spans[0];
  EXPECT_EQ(s.kind, "Auction");
  EXPECT_FALSE(s.cross_thread);
  EXPECT_LE(before - 1'000'000, s.t1);
  EXPECT_LE(s.t1, s.t2);
  EXPECT_LE(s.t2, after + 1'000'000);
}

TEST_F(SpansTest, NestedSpansArriveInnermostFirstWhenTheRootEnds) {
  Auction a{"a-2"};
  {
    Trace<Auction> root(a, "root");
    {
      Trace<Auction> b(a, "b");
      { Trace<Auction> c(a, "c"); }
    }
    { Trace<Auction> d(a, "d"); }
    EXPECT_EQ(collector_.size(), 0u) << "the sink runs when the last span of the id ends";
  }
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 1u);
  EXPECT_EQ(shape(trees[0]), (Shape{{"c", 3, 2}, {"b", 2, 1}, {"d", 4, 1}, {"root", 1, -1}}));
  // Children lie within their parents.
  const auto& s = trees[0].spans;
  EXPECT_LE(s[3].t1, s[1].t1);
  EXPECT_LE(s[1].t1, s[0].t1);
  EXPECT_LE(s[0].t2, s[1].t2);
  EXPECT_LE(s[1].t2, s[2].t1);
  EXPECT_LE(s[2].t2, s[3].t2);
}

TEST_F(SpansTest, SeparateIdsMakeSeparateTrees) {
  {
    Trace<Auction> x(Auction{"x"}, "x-root");
    {
      Trace<Auction> y(Auction{"y"}, "y-root");
      Trace<Auction> x2(Auction{"x"}, "x-child");
    }
    EXPECT_EQ(collector_.size(), 1u);
  }
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 2u);
  EXPECT_EQ(trees[0].uniq, "y");
  EXPECT_EQ(shape(trees[0]), (Shape{{"y-root", 1, -1}}));
  EXPECT_EQ(trees[1].uniq, "x");
  EXPECT_EQ(shape(trees[1]), (Shape{{"x-child", 2, 1}, {"x-root", 1, -1}}));
}

TEST_F(SpansTest, DifferentTypesWithOneIdShareATree) {
  {
    Trace<Auction> a(Auction{"a-3"}, "auction");
    Trace<Bid> b(Bid{"a-3"}, "bid");
  }
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 1u);
  EXPECT_EQ(trees[0].kind, "Auction");  // the root's
  ASSERT_EQ(trees[0].spans.size(), 2u);
  EXPECT_EQ(trees[0].spans[0].kind, "Bid");
  EXPECT_EQ(shape(trees[0]), (Shape{{"bid", 2, 1}, {"auction", 1, -1}}));
}

TEST_F(SpansTest, EachTreeCountsFromOne) {
  Auction a{"a-4"};
  { Trace<Auction> t(a, "first"); }
  { Trace<Auction> t(a, "second"); }
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 2u);
  EXPECT_EQ(shape(trees[0]), (Shape{{"first", 1, -1}}));
  EXPECT_EQ(shape(trees[1]), (Shape{{"second", 1, -1}}));
}

// CityHash64("auction-<i>") % 4 == 0 exactly for these i < 40, and % 7 == 0
// for the second list (worked out with CityHash v1.0.3, and independently
// with the @anglinb/city-hash package, which agrees up to 64 bytes).
TEST_F(SpansTest, SamplesExactlyTheIdsWhoseHashIsAMultipleOfFreq) {
  for (int freq : {4, 7}) {
    Collector c;
    set_trace_sink(c.sink());
    for (int i = 0; i < 40; ++i) {
      Trace<Auction> t(Auction{"auction-" + std::to_string(i), freq}, "t");
      EXPECT_EQ(t.sampled(), freq == 4
                                 ? (i == 2 || i == 8 || i == 19 || i == 24 || i == 29 || i == 30 || i == 35)
                                 : (i == 9 || i == 13 || i == 21 || i == 24 || i == 32 || i == 39))
          << i;
    }
    std::vector<std::string> ids;
    for (const Tree& t : c.trees()) ids.push_back(t.uniq);
    if (freq == 4) {
      EXPECT_EQ(ids, (std::vector<std::string>{"auction-2", "auction-8", "auction-19", "auction-24",
                                               "auction-29", "auction-30", "auction-35"}));
    } else {
      EXPECT_EQ(ids, (std::vector<std::string>{"auction-9", "auction-13", "auction-21", "auction-24",
                                               "auction-32", "auction-39"}));
    }
  }
}

TEST_F(SpansTest, RepeatedIdsKeepTheirDecision) {
  // The per-thread cache must give the same answers as hashing.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 40; ++i) {
      Auction a{"auction-" + std::to_string(i), 4};
      Trace<Auction> t1(a, "t");
      Trace<Auction> t2(a, "t");
      Trace<Auction> other(Auction{"auction-2", 4}, "t");
      EXPECT_EQ(t1.sampled(), i == 2 || i == 8 || i == 19 || i == 24 || i == 29 || i == 30 || i == 35);
      EXPECT_EQ(t2.sampled(), t1.sampled());
      EXPECT_TRUE(other.sampled());
    }
  }
}

TEST_F(SpansTest, FreqZeroOrNegativeIsNeverTracedAndCounted) {
  uint64_t before = trace_stats().freq_zero;
  for (int freq : {0, -1, -100}) {
    for (int i = 0; i < 3; ++i) {
      Trace<Auction> t(Auction{"z", freq}, "zero");
      EXPECT_FALSE(t.sampled());
    }
  }
  EXPECT_EQ(collector_.size(), 0u);
  EXPECT_EQ(trace_stats().freq_zero - before, 9u);
}

TEST_F(SpansTest, FreqOneTracesEverything) {
  for (int i = 0; i < 50; ++i) {
    Trace<Auction> t(Auction{"id-" + std::to_string(i), 1}, "t");
    EXPECT_TRUE(t.sampled());
  }
  EXPECT_EQ(collector_.size(), 50u);
}

TEST_F(SpansTest, LongIdsAndTagsAndDeepNesting) {
  std::string id(300, 'x');
  std::string tag(2000, 't');
  {
    std::vector<Trace<Auction>> stack;
    for (int i = 0; i < 100; ++i) stack.emplace_back(Auction{id}, i == 50 ? std::string_view(tag) : "deep");
    while (!stack.empty()) stack.pop_back();
  }
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 1u);
  EXPECT_EQ(trees[0].uniq, id);
  ASSERT_EQ(trees[0].spans.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    const Span& s = trees[0].spans[i];
    EXPECT_EQ(s.id, 100 - i);
    EXPECT_EQ(s.pid, 99 - i == 0 ? -1 : 99 - i);
    EXPECT_EQ(s.tag, 100 - i == 51 ? tag : "deep");
  }
}

TEST_F(SpansTest, EmptyAndOddStrings) {
  std::string nul_id("a\0b", 3);
  {
    Trace<Auction> t(Auction{"", 1, nullptr}, "");     // empty id, null kind, empty tag
    Trace<Auction> u(Auction{nul_id, 1, "K"}, "tag");  // an id with a NUL inside
  }
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 2u);
  EXPECT_EQ(trees[0].uniq, nul_id);
  EXPECT_EQ(trees[0].kind, "K");
  EXPECT_EQ(trees[1].uniq, "");
  EXPECT_EQ(trees[1].kind, "");
  EXPECT_EQ(shape(trees[1]), (Shape{{"", 1, -1}}));
  // The tree's kind is its root's, even an empty one.
  {
    Trace<Auction> root(Auction{"k", 1, nullptr}, "root");
    Trace<Auction> child(Auction{"k", 1, "Child"}, "child");
  }
  ASSERT_EQ(collector_.size(), 3u);
  EXPECT_EQ(collector_.trees()[2].kind, "");
  EXPECT_EQ(collector_.trees()[2].spans[0].kind, "Child");
}

TEST_F(SpansTest, MovingATraceMovesTheSpan) {
  Auction a{"a-5"};
  std::vector<Trace<Auction>> held;
  {
    Trace<Auction> t(a, "moved");
    held.push_back(std::move(t));
  }  // the moved-from object ends nothing
  EXPECT_EQ(collector_.size(), 0u);
  held.clear();
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 1u);
  EXPECT_EQ(shape(trees[0]), (Shape{{"moved", 1, -1}}));
}

TEST_F(SpansTest, MoveAssignmentEndsTheOverwrittenSpan) {
  Trace<Auction> t(Auction{"first"}, "one");
  t = Trace<Auction>(Auction{"second"}, "two");
  ASSERT_EQ(collector_.size(), 1u);
  EXPECT_EQ(collector_.trees()[0].uniq, "first");
  t.end();
  t.end();  // idempotent
  ASSERT_EQ(collector_.size(), 2u);
  EXPECT_EQ(collector_.trees()[1].uniq, "second");
}

TEST_F(SpansTest, SharedPtrConstructorAndNull) {
  auto a = std::make_shared<Auction>(Auction{"a-6"});
  { Trace<Auction> t(a, "shared"); }
  std::shared_ptr<Auction> none;
  {
    Trace<Auction> t(none, "null");
    EXPECT_FALSE(t.sampled());
  }
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 1u);
  EXPECT_EQ(trees[0].uniq, "a-6");
}

// Two expansions on one line (as inside another macro) must not collide.
#define TWO_SPANS(a)       \
  PIVOT_TRACE(a, "outer"); \
  PIVOT_TRACE(a, "inner")

TEST_F(SpansTest, TheMacroOpensAScopedSpan) {
  Auction a{"a-7"};
  { TWO_SPANS(a); }
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 1u);
  EXPECT_EQ(shape(trees[0]), (Shape{{"inner", 2, 1}, {"outer", 1, -1}}));
}

TEST_F(SpansTest, OutOfOrderEndsOnOneThread) {
  Auction a{"a-8"};
  auto root = std::make_unique<Trace<Auction>>(a, "root");
  auto child = std::make_unique<Trace<Auction>>(a, "child");
  root.reset();  // the parent ends first; the tree waits for the child
  EXPECT_EQ(collector_.size(), 0u);
  { Trace<Auction> grandchild(a, "grandchild"); }  // its parent is the innermost open span
  child.reset();
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 1u);
  EXPECT_EQ(shape(trees[0]), (Shape{{"root", 1, -1}, {"grandchild", 3, 2}, {"child", 2, 1}}));
}

TEST_F(SpansTest, SpansOnEachThreadAreTheirOwnTrees) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([] {
      Auction a{"shared-id"};
      for (int i = 0; i < 100; ++i) {
        Trace<Auction> r(a, "r");
        Trace<Auction> c(a, "c");
      }
    });
  }
  for (auto& t : threads) t.join();
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 400u);
  for (const Tree& t : trees) EXPECT_EQ(shape(t), (Shape{{"c", 2, 1}, {"r", 1, -1}}));
}

// Cross-thread destruction: the span is closed in its origin thread's tree
// (flagged cross_thread), delivered when the origin thread next traces or
// flushes.
TEST_F(SpansTest, EndingARootOnAnotherThread) {
  auto t = std::make_unique<Trace<Auction>>(Auction{"a-9"}, "handed-off");
  std::thread([&] { t.reset(); }).join();
  EXPECT_EQ(collector_.size(), 0u);
  flush_traces();  // the origin thread picks the close up
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 1u);
  ASSERT_EQ(trees[0].spans.size(), 1u);
  EXPECT_EQ(shape(trees[0]), (Shape{{"handed-off", 1, -1}}));
  EXPECT_TRUE(trees[0].spans[0].cross_thread);
  EXPECT_LE(trees[0].spans[0].t1, trees[0].spans[0].t2);
}

TEST_F(SpansTest, EndingAChildOnAnotherThread) {
  uint64_t before = trace_stats().cross_thread_ends;
  Auction a{"a-10"};
  std::unique_ptr<Trace<Auction>> child;
  {
    Trace<Auction> root(a, "root");
    child = std::make_unique<Trace<Auction>>(a, "child");
  }  // the root ends; the child is still open
  std::thread([&] { child.reset(); }).join();
  { Trace<Auction> other(Auction{"unrelated"}, "x"); }  // any traced span picks the close up
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 2u);
  EXPECT_EQ(trees[0].uniq, "a-10");
  EXPECT_EQ(shape(trees[0]), (Shape{{"root", 1, -1}, {"child", 2, 1}}));
  EXPECT_FALSE(trees[0].spans[0].cross_thread);
  EXPECT_TRUE(trees[0].spans[1].cross_thread);
  EXPECT_EQ(trace_stats().cross_thread_ends - before, 1u);
}

TEST_F(SpansTest, OriginThreadExitsBeforeTheSpanEnds) {
  std::promise<std::unique_ptr<Trace<Auction>>> handoff;
  std::thread origin([&] {
    Auction a{"a-11"};
    auto root = std::make_unique<Trace<Auction>>(a, "root");
    { Trace<Auction> done(a, "done-before-exit"); }
    handoff.set_value(std::move(root));
  });
  auto root = handoff.get_future().get();
  origin.join();  // the origin thread is gone; its tree waits for the root
  root.reset();   // the writer thread closes it and delivers the tree
  ASSERT_TRUE(collector_.wait_for(1));
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 1u);
  EXPECT_EQ(shape(trees[0]), (Shape{{"done-before-exit", 2, 1}, {"root", 1, -1}}));
  EXPECT_TRUE(trees[0].spans[1].cross_thread);
}

TEST_F(SpansTest, ManySpansEndedOnOtherThreads) {
  // Stress: spans handed to a pool of threads while the origin keeps tracing.
  constexpr int kSpans = 2000;
  std::vector<std::unique_ptr<Trace<Auction>>> handed;
  for (int i = 0; i < kSpans; ++i) {
    handed.push_back(std::make_unique<Trace<Auction>>(Auction{"h-" + std::to_string(i % 50)}, "h"));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kSpans; i += 4) handed[i].reset();
    });
  }
  for (int i = 0; i < 1000; ++i) Trace<Auction> mine(Auction{"mine"}, "m");
  for (auto& t : threads) t.join();
  flush_traces();
  size_t handed_spans = 0;
  for (const Tree& t : collector_.trees()) {
    if (t.uniq != "mine") handed_spans += t.spans.size();
  }
  EXPECT_EQ(handed_spans, static_cast<size_t>(kSpans));
}

TEST_F(SpansTest, AThrowingSinkIsCaughtAndCounted) {
  uint64_t before = trace_stats().sink_exceptions;
  set_trace_sink([](const ProbeCtx&, const std::vector<Span>&) { throw std::runtime_error("sink failed"); });
  { Trace<Auction> t(Auction{"a-12"}, "t"); }
  set_trace_sink([](const ProbeCtx&, const std::vector<Span>&) { throw 42; });
  { Trace<Auction> t(Auction{"a-13"}, "t"); }
  EXPECT_EQ(trace_stats().sink_exceptions - before, 2u);
}

TEST_F(SpansTest, SpansInsideTheSinkAreNotTraced) {
  int calls = 0;
  set_trace_sink([&](const ProbeCtx&, const std::vector<Span>&) {
    ++calls;
    Trace<Auction> inner(Auction{"from-sink"}, "inner");
    EXPECT_FALSE(inner.sampled());
  });
  { Trace<Auction> t(Auction{"a-14"}, "t"); }
  EXPECT_EQ(calls, 1);
}

TEST_F(SpansTest, StatsCountDeliveredTrees) {
  TraceStats before = trace_stats();
  {
    Trace<Auction> r(Auction{"a-15"}, "r");
    Trace<Auction> c(Auction{"a-15"}, "c");
  }
  TraceStats after = trace_stats();
  EXPECT_EQ(after.trees_delivered - before.trees_delivered, 1u);
  EXPECT_EQ(after.spans_delivered - before.spans_delivered, 2u);
}

}  // namespace
}  // namespace pivot::testing
