#include "aggregate/partial.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "aggregate/test_util.h"

namespace pivot::aggregate {
namespace {

using testing::rows_json;

TEST(Partial, IntSumOverflowTurnsDoubleWithoutLosingTheAddend) {
  EmitShape shape{.keys = 1, .aggs = {AggFn::kSum}};
  Partial p(&shape);
  Value key = "k";
  Value big = std::numeric_limits<int64_t>::max();
  Value one = int64_t{1};
  p.add_values(&key, &big);
  p.add_values(&key, &one);  // existing group: the inline path; overflows
  auto rows = p.rows();
  ASSERT_EQ(rows.size(), 1u);
  const Value& sum = rows[0][1];
  ASSERT_TRUE(sum.is_double());
  EXPECT_EQ(sum.as_double(), 9223372036854775808.0);
  EXPECT_TRUE(p.overflow());  // and the result says so
}

// Merging two int sums that together pass 64 bits is an overflow too; a sum
// that stays in range is not, and clear() forgets it.
TEST(Partial, OverflowIsMarkedWhenMergingAndCleared) {
  EmitShape shape{.keys = 0, .aggs = {AggFn::kSum}};
  Partial a(&shape), b(&shape), total(&shape);
  Value big = std::numeric_limits<int64_t>::max() - 5;
  Value ten = int64_t{10};
  a.add_values(nullptr, &big);
  b.add_values(nullptr, &ten);
  total.merge(a);
  EXPECT_FALSE(total.overflow());
  total.merge(b);
  EXPECT_TRUE(total.overflow());
  EXPECT_TRUE(total.rows()[0][0].is_double());
  Partial again(&shape);
  again.merge(total);
  EXPECT_TRUE(again.overflow());
  again.clear();
  EXPECT_FALSE(again.overflow());
}

TEST(Partial, WeightedSumOverflowKeepsTheSum) {
  EmitShape shape{.keys = 0, .aggs = {AggFn::kSum}};
  Partial p(&shape);
  Value big = std::numeric_limits<int64_t>::max() - 1;
  Value two = int64_t{2};
  p.add_values(nullptr, &big);
  p.add_values(nullptr, &two, 2);  // weight 2: 4 more, through accumulate
  auto rows = p.rows();
  const Value& sum = rows[0][0];
  ASSERT_TRUE(sum.is_double());
  EXPECT_EQ(sum.as_double(), 9223372036854775810.0);
  EXPECT_TRUE(p.overflow());
}

// add_hashed with the hash the advice computes is add.
TEST(Partial, AddHashedMatchesAddForEveryAggregate) {
  EmitShape shape{.keys = 2, .aggs = {AggFn::kCount, AggFn::kSum, AggFn::kMin, AggFn::kMax, AggFn::kAvg}};
  Partial a(&shape), b(&shape);
  for (int i = 0; i < 200; ++i) {
    Value k0 = int64_t{i % 7}, k1 = (i % 3 == 0) ? Value("x") : Value(static_cast<double>(i % 2));
    Value in = (i % 11 == 0) ? Value() : (i % 5 == 0 ? Value(i * 0.5) : Value(int64_t{i}));
    const Value* keys[] = {&k0, &k1};
    const Value* inputs[] = {&in, &in, &in, &in, &in};
    a.add(keys, inputs, 1);
    size_t h = kKeyHashSeed;
    for (const Value* k : keys) h = mix_hash(h, k->hash());
    b.add_hashed(keys, h, inputs, 1);
  }
  EXPECT_EQ(rows_json(a), rows_json(b));
  EXPECT_EQ(a.groups().size(), 21u);
}

TEST(Partial, IntAndEqualDoubleKeysAreOneGroup) {
  EmitShape shape{.keys = 1, .aggs = {AggFn::kCount}};
  Partial p(&shape);
  Value k3 = int64_t{3}, k3d = 3.0, t = true;
  p.add_values(&k3, &t);
  p.add_values(&k3d, &t);
  p.add_values(&k3, &t);
  EXPECT_EQ(rows_json(p), "[3,3]");
}

TEST(Partial, NullsAreNotCountedOrSummed) {
  EmitShape shape{.keys = 0, .aggs = {AggFn::kCount, AggFn::kSum}};
  Partial p(&shape);
  Value n, five = int64_t{5};
  Value in1[] = {five, five}, in2[] = {n, n};
  p.add_values(nullptr, in1);
  p.add_values(nullptr, in2);
  p.add_values(nullptr, in1);
  EXPECT_EQ(rows_json(p), "[2,10]");
}

// The group cap: an event that would start a group past it is dropped and
// counted; events of groups already there still count, on the inline path
// and the slow one (weights), and the partial never holds more.
TEST(Partial, GroupCapDropsTheEventsOfNewGroupsAndCountsThem) {
  EmitShape shape{.keys = 1, .aggs = {AggFn::kCount, AggFn::kSum}, .group_cap = 3};
  Partial p(&shape);
  Value yes = true;
  for (int64_t k : {0, 1, 2, 3, 4, 0, 3, 2}) {
    Value key = k, in[2] = {yes, Value(k * 10)};
    p.add_values(&key, in);
  }
  Value key = int64_t{4}, in[2] = {yes, Value(int64_t{1})};
  p.add_values(&key, in, /*weight=*/5);  // five events of a group with no room
  key = int64_t{1};
  p.add_values(&key, in, /*weight=*/2);
  EXPECT_EQ(rows_json(p), "[0,2,0][1,3,12][2,2,40]");
  EXPECT_EQ(p.groups().size(), 3u);
  EXPECT_EQ(p.dropped(), 8u);  // 3, 4, 3, and the five of 4
  EXPECT_FALSE(p.incomplete());
  EXPECT_EQ(p.groups()[0].events, 2);
  EXPECT_EQ(p.groups()[1].events, 3);
}

// Merging into a full partial drops whole groups and counts their events,
// so every event is either in a group or in dropped().
TEST(Partial, MergingIntoAFullPartialCountsTheEventsOfTheGroupsLeftOut) {
  EmitShape shape{.keys = 1, .aggs = {AggFn::kSum}, .group_cap = 2};
  Partial a(&shape), b(&shape);
  auto add = [](Partial& p, int64_t k, int64_t times) {
    Value key = k, one = int64_t{1};
    for (int64_t i = 0; i < times; ++i) p.add_values(&key, &one);
  };
  add(a, 1, 4);
  add(a, 2, 1);
  add(a, 9, 7);  // no room in a: 7 dropped
  add(b, 2, 2);
  add(b, 3, 5);
  a.merge(b);  // 2 joins its group; 3 has no room: its 5 events are dropped
  EXPECT_EQ(rows_json(a), "[1,4][2,3]");
  EXPECT_EQ(a.dropped(), 12u);
  int64_t kept = 0;
  for (const auto& g : a.groups()) kept += g.events;
  EXPECT_EQ(kept + static_cast<int64_t>(a.dropped()), 4 + 1 + 7 + 2 + 5);
  a.clear();
  EXPECT_TRUE(a.empty());
  add(a, 5, 1);
  EXPECT_EQ(rows_json(a), "[5,1]");  // a cleared partial has room again
}

// Partials sharing a budget hold group_cap groups together, until a reset.
TEST(Partial, PartialsSharingABudgetHoldTheCapTogether) {
  EmitShape shape{.keys = 1, .aggs = {AggFn::kCount}, .group_cap = 3};
  GroupBudget budget;
  Partial a(&shape, &budget), b(&shape, &budget);
  Value yes = true;
  auto add = [&](Partial& p, int64_t k) {
    Value key = k;
    p.add_values(&key, &yes);
  };
  add(a, 1);
  add(b, 2);
  add(a, 3);
  add(b, 4);  // the fourth group of the budget: dropped
  add(b, 2);  // an existing group still counts
  EXPECT_EQ(rows_json(a), "[1,1][3,1]");
  EXPECT_EQ(rows_json(b), "[2,2]");
  EXPECT_EQ(b.dropped(), 1u);
  budget.reset();
  add(b, 4);
  EXPECT_EQ(rows_json(b), "[2,2][4,1]");
}

// A NaN key is one group however often it comes (NaN != NaN would make a
// group per event, and fill the cap).
TEST(Partial, NanKeysAreOneGroup) {
  EmitShape shape{.keys = 1, .aggs = {AggFn::kCount}};
  Partial p(&shape), q(&shape);
  Value yes = true;
  const Value nans[] = {Value(std::numeric_limits<double>::quiet_NaN()),
                        Value(-std::numeric_limits<double>::quiet_NaN()), Value(std::nan("7"))};
  for (const Value& k : nans) p.add_values(&k, &yes);
  ASSERT_EQ(p.groups().size(), 1u);
  EXPECT_EQ(p.states(0)[0].count, 3);
  q.merge(p);
  q.merge(p);
  ASSERT_EQ(q.groups().size(), 1u);
  EXPECT_EQ(q.states(0)[0].count, 6);
}

// Counts merged past 64 bits (a hostile report, a long total) stop at the
// limit instead of wrapping (which would also be undefined behaviour).
TEST(Partial, MergedCountsSaturate) {
  EmitShape shape{.keys = 0, .aggs = {AggFn::kCount, AggFn::kSum}};
  Partial big(&shape), total(&shape);
  const AggState states[] = {{std::numeric_limits<int64_t>::max() - 1, Value(), {}},
                             {std::numeric_limits<int64_t>::max() - 1, Value(int64_t{1}), {}}};
  big.merge_group({}, states, std::numeric_limits<int64_t>::max());
  total.merge(big);
  total.merge(big);
  ASSERT_EQ(total.groups().size(), 1u);
  EXPECT_EQ(total.groups()[0].events, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(total.states(0)[0].count, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(total.states(0)[1].count, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(total.states(0)[1].acc, Value(int64_t{2}));
}

// States that grow to kilobytes lower the group cap, so that a partial's
// states stay within kStateBudgetBytes however its groups fill.
TEST(Partial, BigStatesLowerTheGroupCap) {
  const EmitShape sum{.keys = 1, .aggs = {AggFn::kSum}};
  const EmitShape quantile{.keys = 1, .aggs = {AggFn::kQuantile, AggFn::kSum}};
  const EmitShape both{.keys = 1, .aggs = {AggFn::kQuantile, AggFn::kCountDistinct}};
  const EmitShape hist{.keys = 1, .aggs = {AggFn::kHist}};
  EXPECT_EQ(group_cap_for(sum, kDefaultMaxGroups), kDefaultMaxGroups);
  EXPECT_EQ(group_cap_for(hist, kDefaultMaxGroups), kDefaultMaxGroups);
  EXPECT_EQ(group_cap_for(quantile, kDefaultMaxGroups), 1024u);  // 32 MiB / 32 KiB
  EXPECT_EQ(group_cap_for(both, kDefaultMaxGroups), 512u);
  EXPECT_EQ(group_cap_for(both, 100), 100u);  // a lower --max-groups stands
  EXPECT_EQ(group_cap_for(quantile, kMaxMaxGroups), 1024u);
}

}  // namespace
}  // namespace pivot::aggregate
