// Bounded cost: no query can take a host's memory (docs/architecture.md,
// "Limits"). A text that composes into an exponentially large query is
// refused before anything is built; a GroupBy with a million keys keeps at
// most max_groups groups and says how many events it dropped; a query that
// ends gives its memory back. Each test measures this process's resident
// size (/proc/self/statm) around what it does, so it runs in a binary of
// its own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "core/sanitizers.h"
#include "pivot/pivot.h"

#if PIVOT_ASAN || PIVOT_TSAN
// In both runtimes; GCC ships no header declaring it.
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace {

using namespace std::chrono_literals;

void keyed(int64_t key) { PIVOT_TRACEPOINT("Limits.keyed", key); }

constexpr int64_t kMiB = int64_t{1} << 20;

int64_t resident_bytes() {
  std::ifstream in("/proc/self/statm");
  int64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// What the process holds once a query is gone. A sanitizer keeps the shadow
// of memory once used resident (an eighth of it under AddressSanitizer,
// four times it under ThreadSanitizer), whatever the program gives back;
// there, what its allocator counts in use. The groups' own tables are
// mapped and unmapped by themselves (partial.h), so only the builds without
// a sanitizer see those given back.
int64_t kept_bytes() {
#if PIVOT_ASAN || PIVOT_TSAN
  return static_cast<int64_t>(__sanitizer_get_current_allocated_bytes());
#else
  return resident_bytes();
#endif
}

// q0 reads the tracepoint; each later query adds the previous one's output
// to itself, so inlining doubles it at every line: 22 lines are under 1 KB
// of text and would be 2^23 expression nodes in every process that compiles
// them.
std::string chained_text(int levels) {
  std::string text = "q0 = From k In Limits.keyed Select k.key As a\n";
  for (int i = 1; i <= levels; ++i) {
    text += "q" + std::to_string(i) + " = From x In q" + std::to_string(i - 1) + " Select x.a + x.a As a\n";
  }
  return text;
}

const char* const kChainError =
    "14:17: query 'q13' is too large with query 'q12' inlined: 16384 nodes (expressions and variables); at "
    "most 10000. Each use of a source query's output copies its expression\n"
    "q13 = From x In q12 Select x.a + x.a As a\n"
    "                ^";

TEST(Limits, AnExponentiallyComposedQueryIsRefusedAtOnceAndNothingGrows) {
  std::string text = chained_text(22);
  ASSERT_LT(text.size(), 1024u);
  pivot::Session s;
  ASSERT_TRUE(s.explain(chained_text(11)));  // the compiler's code is paged in: resident, but not the query's
  int64_t before = resident_bytes();
  auto t0 = std::chrono::steady_clock::now();
  auto q = s.install(text);
  auto took = std::chrono::steady_clock::now() - t0;
  int64_t grew = resident_bytes() - before;
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().message(), kChainError);
  EXPECT_EQ(q.error().line(), 14);
  EXPECT_EQ(q.error().column(), 17);
  EXPECT_LT(took, 1s);
  EXPECT_LT(grew, 4 * kMiB);
  auto e = s.explain(text);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(), kChainError);
  std::cout << "refused in " << std::chrono::duration<double, std::milli>(took).count() << " ms, resident "
            << grew / 1024 << " KiB more\n";
}

// The same chain with each sum named by a Let stays linear: the Lets are
// inlined once each, and outputs refer to them by name.
TEST(Limits, TheChainWithLetsIsSmallAndRuns) {
  std::string text = "q0 = From k In Limits.keyed Select k.key As a\n";
  for (int i = 1; i <= 22; ++i) {
    text += "q" + std::to_string(i) + " = From x In q" + std::to_string(i - 1) +
            " Let s = x.a + x.a Select s As a\n";
  }
  text += "From y In q22 Select SUM(y.a) As total";
  pivot::Session s;
  auto q = s.install(text);
  ASSERT_TRUE(q) << q.error().message();
  keyed(1);
  keyed(2);
  EXPECT_EQ(s.results(*q).to_json(), R"json({"columns":["total"],"rows":[[12582912]]})json");  // 3 * 2^22
}

TEST(Limits, AMillionKeyGroupByKeepsTheCapAndSaysWhatItDropped) {
  pivot::Session s;
  int64_t before = resident_bytes();
  auto q = s.install("From k In Limits.keyed GroupBy k.key Select k.key, COUNT");
  ASSERT_TRUE(q) << q.error().message();
  for (int64_t i = 0; i < 1'000'000; ++i) keyed(i);
  pivot::ResultTable t = s.results(*q);
  int64_t grew = resident_bytes() - before;
  EXPECT_LT(grew, 64 * kMiB);
  std::cout << "1000000 keys: resident " << grew / 1024 << " KiB more\n";
  // The first 10000 keys found room, each with its one event; the other
  // 990000 events would each have started a group.
  ASSERT_EQ(t.rows.size(), 10'000u);
  EXPECT_EQ(t.rows.front(), (std::vector<pivot::Value>{int64_t{0}, int64_t{1}}));
  EXPECT_EQ(t.rows.back(), (std::vector<pivot::Value>{int64_t{9999}, int64_t{1}}));
  EXPECT_TRUE(t.incomplete);
  EXPECT_EQ(t.dropped, 990'000u);
  EXPECT_EQ(t.max_groups, 10'000u);
  std::string json = t.to_json();
  EXPECT_EQ(json.substr(json.rfind("]]") + 2), R"(,"incomplete":true,"dropped":990000,"max_groups":10000})");
  std::string text = t.to_text();
  EXPECT_EQ(text.substr(text.rfind('(')),
            "(incomplete: 990000 events dropped: at most 10000 groups per process and interval; see pivot "
            "query --max-groups)\n");
  // Later intervals find the total full: new keys are dropped with their events.
  for (int64_t i = 0; i < 5; ++i) keyed(2'000'000 + i % 2);
  keyed(7);  // a group the total has
  t = s.results(*q);
  EXPECT_EQ(t.rows.size(), 10'000u);
  EXPECT_EQ(t.dropped, 990'005u);
  EXPECT_EQ(t.rows[7], (std::vector<pivot::Value>{int64_t{7}, int64_t{2}}));
}

// QUANTILE's sketch and COUNT(DISTINCT)'s set grow to kilobytes a group:
// such a query holds fewer groups (aggregate::group_cap_for), and says so.
TEST(Limits, SketchesHoldFewerGroupsAndSaySo) {
  pivot::Session s;
  // Under a sanitizer, what its allocator holds: freed sketch buffers wait
  // in AddressSanitizer's quarantine, resident but not the query's.
  int64_t before = kept_bytes();
  auto q = s.install("From k In Limits.keyed GroupBy k.key % 2000 Select P99(k.key), COUNT(DISTINCT k.key)");
  ASSERT_TRUE(q) << q.error().message();
  // 2000 groups, each with values far apart (many sketch buckets, a full set).
  for (int64_t i = 0; i < 4'000'000; ++i) keyed(i * 7919);
  pivot::ResultTable t = s.results(*q);
  int64_t grew = kept_bytes() - before;
  EXPECT_LT(grew, 96 * kMiB);  // two partials of at most 32 MiB of states each, and their tables
  std::cout << "2000 sketch groups: " << grew / 1024 << " KiB more\n";
  EXPECT_EQ(t.rows.size(), 512u);
  EXPECT_TRUE(t.incomplete);
  EXPECT_EQ(t.max_groups, 512u);
  EXPECT_EQ(t.dropped, (2000u - 512u) * 2000u);
}

// Every event is in a group or counted in dropped, when several threads
// each hit the cap and their partials are merged into a full total. Each
// thread has keys of its own (250 of the 1000, those = t mod 4): a key two
// threads share counts against the budget twice (the next test), and the
// total's rows would depend on how the threads interleave.
TEST(Limits, EveryEventIsCountedOrDroppedAcrossThreadsAndIntervals) {
  pivot::Session s;
  auto q = s.install("From k In Limits.keyed GroupBy k.key % 1000 Select k.key % 1000, COUNT",
                     {.max_groups = 300});
  ASSERT_TRUE(q) << q.error().message();
  constexpr int kThreads = 4, kEvents = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int64_t i = 0; i < kEvents; ++i) keyed(i * kThreads + t);
    });
  }
  int64_t kept = 0;
  for (auto& t : threads) {
    t.join();
    (void)s.results(*q);  // an interval boundary between threads' exits
  }
  pivot::ResultTable r = s.results(*q);
  EXPECT_EQ(r.rows.size(), 300u);
  for (const auto& row : r.rows) kept += row[1].as_int();
  EXPECT_TRUE(r.incomplete);
  EXPECT_GT(r.dropped, 0u);
  EXPECT_EQ(kept + static_cast<int64_t>(r.dropped), int64_t{kThreads} * kEvents);
}

// The budget bounds the groups the threads' partials hold, which is the
// memory: a key emitted from two threads is a group in each partial and
// takes two of it. Here one thread after the other in one interval: the
// first makes 200 groups, the second finds room for 100 of the same keys.
TEST(Limits, AKeySeveralThreadsHoldTakesTheBudgetOnceForEach) {
  pivot::Session s;
  auto q = s.install("From k In Limits.keyed GroupBy k.key Select k.key, COUNT", {.max_groups = 300});
  ASSERT_TRUE(q) << q.error().message();
  for (int t = 0; t < 2; ++t) {
    std::thread([] {
      for (int64_t key = 0; key < 200; ++key) keyed(key);
    }).join();
  }
  pivot::ResultTable r = s.results(*q);
  ASSERT_EQ(r.rows.size(), 200u);
  EXPECT_EQ(r.rows[0], (std::vector<pivot::Value>{int64_t{0}, int64_t{2}}));
  EXPECT_EQ(r.rows[99], (std::vector<pivot::Value>{int64_t{99}, int64_t{2}}));
  EXPECT_EQ(r.rows[100], (std::vector<pivot::Value>{int64_t{100}, int64_t{1}}));
  EXPECT_EQ(r.rows[199], (std::vector<pivot::Value>{int64_t{199}, int64_t{1}}));
  EXPECT_TRUE(r.incomplete);
  EXPECT_EQ(r.dropped, 100u);
  EXPECT_EQ(r.max_groups, 300u);
}

// The cap is per process, not per thread: threads share it, so a process
// holds max_groups groups of a query however many threads emit.
TEST(Limits, ThreadsShareTheCapOfTheirProcess) {
  pivot::Session s;
  auto q = s.install("From k In Limits.keyed GroupBy k.key Select k.key, COUNT", {.max_groups = 1000});
  ASSERT_TRUE(q) << q.error().message();
  constexpr int kThreads = 4, kKeys = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int64_t i = 0; i < kKeys; ++i) keyed(int64_t{t} * kKeys + i);
    });
  }
  for (auto& t : threads) t.join();
  pivot::ResultTable r = s.results(*q);
  EXPECT_EQ(r.rows.size(), 1000u);
  EXPECT_EQ(r.dropped, uint64_t{kThreads} * kKeys - 1000);
}

TEST(Limits, MaxGroupsIsChecked) {
  pivot::Session s;
  auto zero = s.install("From k In Limits.keyed GroupBy k.key Select k.key, COUNT", {.max_groups = 0});
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().message(), "max_groups must be 1 to 10000000, not 0");
}

// The groups of a query live in its threads' partials and in the running
// total; after uninstall the process is back to its resting size, even when
// other threads (with malloc arenas of their own) did the allocating.
// Runs a GroupBy of `keys` distinct keys from two threads; returns how much
// more is resident while its groups are held.
int64_t run_and_uninstall(int64_t keys) {
  int64_t before = resident_bytes();
  pivot::Session s;
  auto q = s.install("From k In Limits.keyed GroupBy k.key Select k.key, COUNT, SUM(k.key)",
                     {.max_groups = static_cast<uint32_t>(keys)});
  EXPECT_TRUE(q) << q.error().message();
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([t, keys] {
      for (int64_t i = 0; i < keys / 2; ++i) keyed(t * keys / 2 + i);
    });
  }
  for (auto& t : threads) t.join();
  pivot::ResultTable r = s.results(*q);
  EXPECT_EQ(r.rows.size(), static_cast<size_t>(keys));
  EXPECT_EQ(r.dropped, 0u);
  r = {};
  int64_t held = resident_bytes() - before;
  EXPECT_TRUE(s.uninstall(*q).ok());
  return held;
}

TEST(Limits, TheHostReturnsToItsRestingSizeWhenTheQueryEnds) {
  run_and_uninstall(1000);  // pages in the code, the threads' stacks and arenas once
  int64_t resting = kept_bytes();
  int64_t held = run_and_uninstall(200'000);
  int64_t after = kept_bytes() - resting;
  std::cout << "200000 groups: resident " << held / 1024 << " KiB more while held, " << after / 1024
            << " KiB more kept after uninstall\n";
  EXPECT_GT(held, 16 * kMiB);  // it did hold them
  EXPECT_LT(after, 4 * kMiB);
}

}  // namespace
