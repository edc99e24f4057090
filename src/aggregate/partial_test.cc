#include "aggregate/partial.h"

#include <gtest/gtest.h>

#include <limits>

namespace pivot::aggregate {
namespace {

std::string rows_json(const Partial& p) {
  std::string out;
  for (const auto& row : p.rows()) {
    out += "[";
    for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + row[i].to_json();
    out += "]";
  }
  return out;
}

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

}  // namespace
}  // namespace pivot::aggregate
