#include "core/clock.h"

#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

namespace pivot::internal {
namespace {

int64_t realtime() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constexpr int64_t kMs = 1'000'000;

TEST(Clock, NowIsWallClockWithinAFewMilliseconds) {
  for (int i = 0; i < 20; ++i) {
    int64_t before = realtime();
    int64_t now = now_ns();
    int64_t after = realtime();
    EXPECT_GE(now, before - 2 * kMs);
    EXPECT_LE(now, after + 2 * kMs);
    std::this_thread::sleep_for(std::chrono::milliseconds(15));  // crosses re-anchors
  }
}

TEST(Clock, NowNeverGoesBackwardsOnOneThread) {
  int64_t prev = now_ns();
  int backwards = 0;
  for (int i = 0; i < 2'000'000; ++i) {
    int64_t v = now_ns();
    backwards += v < prev;
    prev = v;
  }
  EXPECT_EQ(backwards, 0);
}

TEST(Clock, TicksConvertInOrder) {
  uint64_t t1 = tsc_now();
  uint64_t t2 = tsc_now();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  uint64_t t3 = tsc_now();
  EXPECT_LE(t1, t2);
  EXPECT_LE(ticks_to_ns(t1), ticks_to_ns(t2));
  int64_t slept = ticks_to_ns(t3) - ticks_to_ns(t2);
  EXPECT_GE(slept, 2 * kMs - kMs / 10);  // a sleep may not be shorter than asked
  EXPECT_LT(slept, 500 * kMs);
}

TEST(Clock, UsesTheTscWhenInvariant) {
  // Every machine pivot targets is x86-64 with an invariant TSC; on one
  // without, the realtime fallback must have been chosen instead.
  if (std::getenv("PIVOT_CLOCK") != nullptr) GTEST_SKIP() << "PIVOT_CLOCK overrides the choice";
  TickSource s = tick_source();
  EXPECT_TRUE(s == TickSource::kTsc || s == TickSource::kRealtime);
  EXPECT_EQ(g_tick_source.load(), static_cast<int>(s));
}

TEST(TscClock, RealtimeFallbackIsTheIdentity) {
  TscClock c(TickSource::kRealtime);
  EXPECT_EQ(c.source(), TickSource::kRealtime);
  int64_t before = realtime();
  uint64_t t = c.ticks();
  int64_t after = realtime();
  EXPECT_GE(static_cast<int64_t>(t), before);
  EXPECT_LE(static_cast<int64_t>(t), after);
  EXPECT_EQ(c.to_ns(t), static_cast<int64_t>(t));
  EXPECT_EQ(c.ns_per_tick(), 1.0);
}

TEST(TscClock, TracksRealtimeAcrossRecalibrations) {
  if (tick_source() != TickSource::kTsc) GTEST_SKIP() << "no invariant TSC here";
  TscClock c(TickSource::kTsc);
  double rate = c.ns_per_tick();
  EXPECT_GT(rate, 0.01);
  EXPECT_LT(rate, 100);
  int64_t prev = c.now_ns();
  for (int i = 0; i < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (i % 7 == 0) c.recalibrate_now();
    int64_t before = realtime();
    int64_t now = c.now_ns();
    int64_t after = realtime();
    EXPECT_GE(now, before - kMs);
    EXPECT_LE(now, after + kMs);
    EXPECT_GE(now, prev);
    prev = now;
  }
  // The measured rate agrees with the first estimate to within 1%.
  EXPECT_NEAR(c.ns_per_tick(), rate, rate * 0.01);
}

// between_ns (the hook stub's fast path) is the difference of two to_ns
// on one line, to the nanosecond, and refuses what to_ns would re-anchor for.
TEST(TscClock, BetweenIsTheDifferenceOfTwoConversionsOnOneLine) {
  if (tick_source() != TickSource::kTsc) GTEST_SKIP() << "no invariant TSC here";
  TscClock c(TickSource::kTsc);
  c.recalibrate_now();
  c.recalibrate_now();  // from the second re-anchor on, a line lasts 200 ms
  uint64_t t = c.ticks();
  int64_t d = -1;
  for (uint64_t t1 : {t - 5'000'000, t, t + 17}) {  // before the anchor, at, after
    for (uint64_t t2 : {t1, t1 + 1, t1 + 12'345, t1 + 1'000'000}) {
      ASSERT_TRUE(c.between_ns(t1, t2, &d));
      EXPECT_EQ(d, c.to_ns(t2) - c.to_ns(t1));
    }
  }
  // Ten minutes on: to_ns would re-anchor first.
  uint64_t far = t + static_cast<uint64_t>(600e9 / c.ns_per_tick());
  EXPECT_FALSE(c.between_ns(t, far, &d));
  TscClock realtime_clock(TickSource::kRealtime);
  EXPECT_FALSE(realtime_clock.between_ns(1, 2, &d));
}

TEST(Clock, TicksBetweenAgreesWithTicksToNs) {
  if (tick_source() != TickSource::kTsc) GTEST_SKIP() << "no invariant TSC here";
  int agreed = 0;
  for (int i = 0; i < 100 && agreed == 0; ++i) {
    (void)ticks_to_ns(tsc_now());  // re-anchors if due: the line lasts 10 ms or more from here
    uint64_t t1 = tsc_now();
    uint64_t t2 = t1 + 4321;
    int64_t d = -1;
    if (!tsc_ticks_between_ns(t1, t2, &d)) continue;  // descheduled past the line's end
    EXPECT_EQ(d, ticks_to_ns(t2) - ticks_to_ns(t1));
    ++agreed;
  }
  EXPECT_EQ(agreed, 1);
}

TEST(TscClock, ReadersAndRecalibrationRaceSafely) {
  if (tick_source() != TickSource::kTsc) GTEST_SKIP() << "no invariant TSC here";
  TscClock c(TickSource::kTsc);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop.load()) {
      c.recalibrate_now();
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  std::vector<std::thread> readers;
  std::atomic<int> far_off{0};
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      for (int i = 0; i < 100'000; ++i) {
        int64_t before = realtime();
        int64_t now = c.now_ns();
        int64_t after = realtime();
        if (now < before - 2 * kMs || now > after + 2 * kMs) far_off.fetch_add(1);
      }
    });
  }
  for (auto& t : readers) t.join();
  stop = true;
  writer.join();
  EXPECT_EQ(far_off.load(), 0);
}

}  // namespace
}  // namespace pivot::internal
