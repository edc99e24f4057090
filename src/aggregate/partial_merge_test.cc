// Partial::merge's paths: a copy of the other's tables into a partial
// without groups (with the cap), the group-by-group merge that fetches its
// probes ahead (collisions, growth in the middle), reset(), and
// take_group (what decoders use).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "aggregate/partial.h"
#include "aggregate/test_util.h"

namespace pivot::aggregate {
namespace {

using testing::rows_json;

void add(Partial& p, Value key, int64_t v, int64_t times = 1) {
  Value in = v;
  for (int64_t i = 0; i < times; ++i) p.add_values(&key, &in);
}

// Into no groups, merge copies the other's groups in their order until the
// cap and counts the events of the rest as dropped, as group by group; the
// copy's index finds its groups afterwards.
TEST(PartialMerge, IntoEmptyCopiesUpToTheCapAndCountsTheRest) {
  const EmitShape wide{.keys = 1, .aggs = {AggFn::kSum}, .group_cap = 100};
  const EmitShape narrow{.keys = 1, .aggs = {AggFn::kSum}, .group_cap = 3};
  Partial from(&wide);
  for (int64_t k = 1; k <= 5; ++k) add(from, k * 10, k, /*times=*/k);  // group k: k events of k
  from.add_dropped(7);
  from.mark_incomplete();

  Partial into(&narrow);
  into.merge(from);
  EXPECT_EQ(rows_json(into), "[10,1][20,4][30,9]");
  EXPECT_EQ(into.dropped(), 4u + 5u + 7u);
  EXPECT_TRUE(into.incomplete());

  // The same through the group-by-group path (a budget rules out the copy).
  GroupBudget budget;
  Partial budgeted(&narrow, &budget);
  budgeted.merge(from);
  EXPECT_EQ(rows_json(budgeted), rows_json(into));
  EXPECT_EQ(budgeted.dropped(), into.dropped());

  into.merge(from);  // now group by group: the three grow, 40 and 50 are dropped again
  EXPECT_EQ(rows_json(into), "[10,2][20,8][30,18]");
  EXPECT_EQ(into.dropped(), 2 * (4u + 5u + 7u));
  add(into, int64_t{20}, 100);  // found through the rebuilt index
  add(into, int64_t{60}, 1);    // no room
  EXPECT_EQ(rows_json(into), "[10,2][20,108][30,18]");
  EXPECT_EQ(into.groups().size(), 3u);
  EXPECT_EQ(into.dropped(), 2 * (4u + 5u + 7u) + 1);
}

// A full copy keeps NaN keys one group, boxed states deep, and owes the
// other nothing afterwards.
TEST(PartialMerge, IntoEmptyCopyIsDeepAndKeepsNanKeysOneGroup) {
  const EmitShape shape{.keys = 1, .aggs = {AggFn::kCount, AggFn::kHist}};
  Value nan = std::numeric_limits<double>::quiet_NaN(), word = "a long key past the short string buffer";
  Value one = int64_t{1}, hundred = int64_t{100};
  auto fill = [&](Partial& p) {
    const Value in1[] = {true, one}, in2[] = {true, hundred};
    p.add_values(&nan, in1);
    p.add_values(&word, in2);
  };
  Partial from(&shape), into(&shape);
  fill(from);
  into.merge(from);
  const std::string once = rows_json(into);
  from.clear();
  fill(from);
  fill(from);  // the source changes; the copy does not
  EXPECT_EQ(rows_json(into), once);
  into.merge(from);
  ASSERT_EQ(into.groups().size(), 2u);
  Value again = -std::numeric_limits<double>::quiet_NaN();
  const Value in[] = {true, one};
  into.add_values(&again, in);
  ASSERT_EQ(into.groups().size(), 2u);  // the copied index finds the NaN group
  int64_t counts = 0;
  for (size_t g = 0; g < into.groups().size(); ++g) counts += into.states(g)[0].count;
  EXPECT_EQ(counts, 2 + 4 + 1);
}

// Group by group with many thousand groups (index entries collide under
// linear probing, long string keys live on the heap), half of them new, so
// the tables grow in the middle of the merge and the probes fetched ahead
// go stale: every sum still exact.
TEST(PartialMerge, ManyGroupsWithCollisionsAndGrowthMergeExactly) {
  const EmitShape shape{.keys = 2, .aggs = {AggFn::kSum, AggFn::kCount}, .group_cap = kMaxMaxGroups};
  Partial a(&shape), b(&shape);
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> want;
  auto put = [&](Partial& p, int64_t i, int64_t v) {
    const Value keys[] = {Value(i % 7), Value("/data/a-long-file-name-" + std::to_string(i))};
    const Value in[] = {Value(v), Value(true)};
    p.add_values(keys, in);
    auto& w = want[{i % 7, keys[1].as_string()}];
    w.first += v;
    w.second += 1;
  };
  // a holds kMergePrefetchGroups and more: the path that fetches ahead.
  const int64_t n = static_cast<int64_t>(kMergePrefetchGroups) + 1000;
  for (int64_t i = 0; i < n; ++i) put(a, i, i);
  for (int64_t i = n / 2; i < 2 * n; ++i) put(b, i, 2 * i + 1);
  a.add_values(std::array{Value(int64_t{0}), Value("/data/a-long-file-name-0")}.data(),
               std::array{Value(int64_t{5}), Value(true)}.data());  // an existing group again
  want[{0, "/data/a-long-file-name-0"}].first += 5;
  want[{0, "/data/a-long-file-name-0"}].second += 1;
  a.merge(b);
  ASSERT_EQ(a.groups().size(), want.size());
  std::string expected;
  for (const auto& [k, v] : want) {
    expected += "[" + std::to_string(k.first) + ",\"" + k.second + "\"," + std::to_string(v.first) + "," +
                std::to_string(v.second) + "]";
  }
  EXPECT_EQ(rows_json(a), expected);  // rows sort as the map does: int key, then string
  EXPECT_EQ(a.dropped(), 0u);
}

// reset() empties and unmarks, as clear(), and the partial fills again.
TEST(PartialMerge, ResetEmptiesAndKeepsWorking) {
  const EmitShape shape{.keys = 1, .aggs = {AggFn::kSum}, .group_cap = 2};
  Partial p(&shape);
  add(p, int64_t{1}, 10);
  add(p, int64_t{2}, 20);
  add(p, int64_t{3}, 30);  // over the cap
  p.mark_incomplete();
  p.mark_overflow();
  p.reset();
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(rows_json(p), "");
  add(p, int64_t{3}, 30);  // room again, and no stale index entry finds 1 or 2
  add(p, int64_t{1}, 1);
  add(p, int64_t{4}, 4);
  EXPECT_EQ(rows_json(p), "[1,1][3,30]");
  EXPECT_EQ(p.dropped(), 1u);
  EXPECT_FALSE(p.incomplete());
}

// reset() keeps the keys' strings for the next groups: a copy, an add and a
// take_group assign over them (a long key reuses the buffer it finds), and
// what they leave over is never read as a group's.
TEST(PartialMerge, ResetKeepsKeyBuffersForEveryWayOfAddingGroups) {
  const EmitShape shape{.keys = 1, .aggs = {AggFn::kSum}};
  auto key = [](int i) { return Value("a key longer than the short-string buffer, " + std::to_string(i)); };
  auto with = [&](std::initializer_list<int> keys) {
    Partial p(&shape);
    for (int k : keys) add(p, key(k), k);
    return p;
  };
  const std::string k1 = "[\"a key longer than the short-string buffer, 1\",1]";
  const std::string k2 = "[\"a key longer than the short-string buffer, 2\",2]";
  const std::string k3 = "[\"a key longer than the short-string buffer, 3\",3]";
  const std::string k4 = "[\"a key longer than the short-string buffer, 4\",4]";

  Partial p = with({1, 2, 3});
  const char* buffer = p.keys(0)[0].as_string().data();
  p.reset();
  p.merge(with({2, 4}));  // a copy over two of the three kept keys
  EXPECT_EQ(rows_json(p), k2 + k4);
  EXPECT_EQ(p.keys(0)[0].as_string().data(), buffer);

  p.reset();
  p.merge(with({1, 2, 3, 4}));  // a copy past the kept keys
  EXPECT_EQ(rows_json(p), k1 + k2 + k3 + k4);

  p.reset();
  add(p, key(3), 3);  // an add over a kept key, then found again
  add(p, key(3), 3);
  EXPECT_EQ(p.groups().size(), 1u);
  EXPECT_EQ(rows_json(p), "[\"a key longer than the short-string buffer, 3\",6]");

  p.reset();
  Value k = key(4);
  AggState st;
  st.acc = int64_t{4};
  st.count = 1;
  p.take_group({&k, 1}, {&st, 1}, 1);  // a decoder's group, moved over a kept key
  p.merge(with({1}));                  // and a merge after it, group by group
  EXPECT_EQ(rows_json(p), k1 + k4);
}

// take_group: a new group takes the keys and states; a repeated key (a
// hostile report) merges into its group as merge_group would.
TEST(PartialMerge, TakeGroupMovesNewGroupsAndMergesRepeats) {
  const EmitShape shape{.keys = 1, .aggs = {AggFn::kSum, AggFn::kMax}, .group_cap = 2};
  Partial p(&shape);
  auto take = [&](Value key, int64_t sum, int64_t max, int64_t events) {
    Value keys[] = {std::move(key)};
    AggState states[] = {{events, Value(sum), {}}, {events, Value(max), {}}};
    p.take_group(keys, states, events);
  };
  take("a key long enough to be on the heap", 5, 5, 1);
  take("b", 7, 7, 2);
  take("a key long enough to be on the heap", 10, 3, 4);
  take("c", 1, 1, 9);  // no room: its 9 events are dropped
  EXPECT_EQ(rows_json(p), "[\"a key long enough to be on the heap\",15,5][\"b\",7,7]");
  EXPECT_EQ(p.groups()[0].events, 5);
  EXPECT_EQ(p.states(0)[0].count, 5);
  EXPECT_EQ(p.dropped(), 9u);
}

}  // namespace
}  // namespace pivot::aggregate
