// Spans as tracepoints: SpanBegin and SpanEnd fire with their exports while
// advice is installed on them. The advice here is a stand-in that records
// what the sites export (the query engine installs real advice the same way).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "trace/trace_test_util.h"
#include "tracepoint/registry.h"

namespace pivot::testing {
namespace {

using internal::ExportSink;
using internal::Site;
using internal::SiteAdvice;

struct Event {
  std::string tracepoint;
  std::vector<Value> exports;
  int64_t tid;
};

// Records every firing of the site it is installed on.
struct Recorder : SiteAdvice {
  Recorder() { run = &Recorder::record; }
  static void record(const SiteAdvice& self, const Site& site, void* ctx,
                     internal::GetExportFn get) noexcept {
    auto& r = const_cast<Recorder&>(static_cast<const Recorder&>(self));
    Event e{std::string(site.info->tracepoint), {}, static_cast<int64_t>(::gettid())};
    for (uint32_t i = 0; i < site.info->n_exports; ++i) {
      Value v;
      std::vector<Value> list;
      ExportSink sink(&v, &list);
      get(ctx, i, sink);
      e.exports.push_back(v);
    }
    std::lock_guard<std::mutex> lock(r.mu);
    r.events.push_back(std::move(e));
  }
  std::vector<Event> take() {
    std::lock_guard<std::mutex> lock(mu);
    return std::exchange(events, {});
  }
  std::mutex mu;
  std::vector<Event> events;
};

class SpanTracepointTest : public SpanTest {
 protected:
  void watch_begin() { internal::SpanBeginSite::site.advice.store(&begin_, std::memory_order_release); }
  void watch_end() { internal::SpanEndSite::site.advice.store(&end_, std::memory_order_release); }
  void TearDown() override {
    internal::SpanBeginSite::site.advice.store(nullptr);
    internal::SpanEndSite::site.advice.store(nullptr);
    SpanTest::TearDown();
  }
  Recorder begin_;
  Recorder end_;
};

std::vector<std::string> export_names(const Site& site) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < site.info->n_exports; ++i) out.emplace_back(site.info->exports[i].name);
  return out;
}

std::vector<Unit> export_units(const Site& site) {
  std::vector<Unit> out;
  for (uint32_t i = 0; i < site.info->n_exports; ++i) out.push_back(site.info->exports[i].unit);
  return out;
}

TEST_F(SpanTracepointTest, SitesAreRegisteredWithTheirExports) {
  EXPECT_EQ(export_names(internal::SpanBeginSite::site),
            (std::vector<std::string>{"tag", "kind", "uniq", "span", "parent", "t1"}));
  EXPECT_EQ(export_names(internal::SpanEndSite::site),
            (std::vector<std::string>{"tag", "kind", "uniq", "span", "parent", "t1", "t2", "duration"}));
  // t1 and t2 are times (ns since the epoch), duration is in ns.
  const Unit none = Unit::kNone, time = Unit::kEpochNanoseconds;
  EXPECT_EQ(export_units(internal::SpanBeginSite::site),
            (std::vector<Unit>{none, none, none, none, none, time}));
  EXPECT_EQ(export_units(internal::SpanEndSite::site),
            (std::vector<Unit>{none, none, none, none, none, time, time, Unit::kNanoseconds}));
  auto all = internal::list_tracepoints();
  auto named = [&](std::string_view n) {
    return std::any_of(all.begin(), all.end(),
                       [&](const internal::TracepointInfo& t) { return t.name == n; });
  };
  EXPECT_TRUE(named("SpanBegin"));
  EXPECT_TRUE(named("SpanEnd"));
}

TEST_F(SpanTracepointTest, SampledSpansFireBeginAndEnd) {
  watch_begin();
  watch_end();
  int64_t before = internal::now_ns();
  {
    Auction a{"tp-1", 1};
    Trace<Auction> root(a, "root");
    Trace<Auction> child(a, "readBlock");
  }
  int64_t after = internal::now_ns();
  auto begins = begin_.take();
  auto ends = end_.take();
  ASSERT_EQ(begins.size(), 2u);
  ASSERT_EQ(ends.size(), 2u);
  // SpanBegin: tag, kind, uniq, span, parent, t1.
  EXPECT_EQ(begins[0].exports[0], Value("root"));
  EXPECT_EQ(begins[0].exports[1], Value("Auction"));
  EXPECT_EQ(begins[0].exports[2], Value("tp-1"));
  EXPECT_EQ(begins[0].exports[3], Value(1));
  EXPECT_EQ(begins[0].exports[4], Value(-1));
  EXPECT_EQ(begins[1].exports[0], Value("readBlock"));
  EXPECT_EQ(begins[1].exports[3], Value(2));
  EXPECT_EQ(begins[1].exports[4], Value(1));
  // SpanEnd: the child ends first; duration = t2 - t1.
  const auto& e = ends[0].exports;
  EXPECT_EQ(e[0], Value("readBlock"));
  EXPECT_EQ(e[3], Value(2));
  EXPECT_EQ(e[4], Value(1));
  EXPECT_EQ(e[5], begins[1].exports[5]);
  EXPECT_LE(before, e[5].as_int());
  EXPECT_LE(e[5].as_int(), e[6].as_int());
  EXPECT_LE(e[6].as_int(), after);
  EXPECT_EQ(e[7].as_int(), e[6].as_int() - e[5].as_int());
  EXPECT_EQ(ends[1].exports[0], Value("root"));
  // The sink got the same spans, with the same times.
  auto trees = collector_.trees();
  ASSERT_EQ(trees.size(), 1u);
  EXPECT_EQ(trees[0].spans[0].t1, e[5].as_int());
  EXPECT_EQ(trees[0].spans[0].t2, e[6].as_int());
}

TEST_F(SpanTracepointTest, UnsampledSpansFireButDoNotReachTheSink) {
  watch_begin();
  watch_end();
  {
    Auction a{"tp-2", 0};  // never sampled
    Trace<Auction> root(a, "root");
    Trace<Auction> child(a, "child");
    EXPECT_FALSE(root.sampled());
  }
  auto ends = end_.take();
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_EQ(ends[0].exports[0], Value("child"));
  EXPECT_EQ(ends[0].exports[3], Value(2));
  EXPECT_EQ(ends[0].exports[4], Value(1));
  EXPECT_EQ(ends[1].exports[3], Value(1));
  EXPECT_EQ(ends[1].exports[4], Value(-1));
  EXPECT_EQ(begin_.take().size(), 2u);
  EXPECT_EQ(collector_.size(), 0u);
}

TEST_F(SpanTracepointTest, WatchingOnlySpanEndStillTimesUnsampledSpans) {
  watch_end();
  { Trace<Auction> t(Auction{"tp-3", -5}, "only-end"); }
  auto ends = end_.take();
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].exports[0], Value("only-end"));
  EXPECT_GE(ends[0].exports[7].as_int(), 0);
  EXPECT_GT(ends[0].exports[5].as_int(), 0);
}

TEST_F(SpanTracepointTest, DormantSitesDoNotFire) {
  { Trace<Auction> t(Auction{"tp-4", 1}, "quiet"); }
  EXPECT_TRUE(begin_.take().empty());
  EXPECT_TRUE(end_.take().empty());
  EXPECT_EQ(collector_.size(), 1u);
}

TEST_F(SpanTracepointTest, SpanEndFiresOnTheThreadThatEndsTheSpan) {
  watch_end();
  auto t = std::make_unique<Trace<Auction>>(Auction{"tp-5", 1}, "handed-off");
  int64_t other_tid = 0;
  std::thread([&] {
    other_tid = ::gettid();
    t.reset();
  }).join();
  auto ends = end_.take();
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].tid, other_tid);
  EXPECT_EQ(ends[0].exports[2], Value("tp-5"));
  flush_traces();
  EXPECT_EQ(collector_.size(), 1u);
}

}  // namespace
}  // namespace pivot::testing
