#include "aggregate/quantile_sketch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace pivot::aggregate {
namespace {

// The value of rank floor(q (n - 1)) of the sorted values: what the sketch
// approximates.
double exact_quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(std::floor(q * static_cast<double>(v.size() - 1)))];
}

QuantileSketch sketch_of(const std::vector<double>& values) {
  QuantileSketch s;
  for (double v : values) s.add(v, 1);
  return s;
}

const std::vector<double> kQs = {0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0};

// Every quantile is within alpha of the exact one, relative to it (plus
// rounding in log and exp).
void expect_within_alpha(const std::vector<double>& values, const QuantileSketch& s) {
  for (double q : kQs) {
    double want = exact_quantile(values, q);
    auto got = s.quantile(q);
    ASSERT_TRUE(got);
    EXPECT_LE(std::abs(*got - want), kQuantileAlpha * std::abs(want) * (1 + 1e-9))
        << "q=" << q << " want " << want << " got " << *got;
  }
}

TEST(QuantileSketch, WithinAlphaOnLognormalData) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> d(10, 2);  // latencies in ns: heavy right tail
  std::vector<double> values(100000);
  for (double& v : values) v = d(rng);
  QuantileSketch s = sketch_of(values);
  EXPECT_EQ(s.count(), 100000);
  EXPECT_EQ(s.collapsed(), 0);
  expect_within_alpha(values, s);
}

TEST(QuantileSketch, WithinAlphaOnParetoIntegers) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> values(50000);
  // Pareto with shape 1.2 and scale 100, rounded to integers (byte counts).
  for (double& v : values) v = std::round(100 / std::pow(1 - u(rng), 1 / 1.2));
  QuantileSketch s;
  for (double v : values) s.add(Value(static_cast<int64_t>(v)), 1);
  expect_within_alpha(values, s);
}

TEST(QuantileSketch, NegativeZeroAndMixedSigns) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> d(0, 1000);
  std::vector<double> values(20000);
  for (double& v : values) v = std::round(d(rng));  // many zeros among them
  QuantileSketch s = sketch_of(values);
  EXPECT_GT(s.zero, 0);
  expect_within_alpha(values, s);
}

TEST(QuantileSketch, ExactAtTheEndsAndForConstantData) {
  QuantileSketch s;
  for (int i = 0; i < 10; ++i) s.add(Value(int64_t{65536}), 1);
  EXPECT_EQ(*s.quantile(0.5), 65536.0);  // clamped to min and max
  s.add(Value(int64_t{3}), 1);
  s.add(Value(int64_t{1000000}), 1);
  EXPECT_EQ(*s.quantile(1.0), 1000000.0);
  EXPECT_EQ(*s.quantile(0.01), 3.0);
  EXPECT_FALSE(QuantileSketch().quantile(0.5));
}

TEST(QuantileSketch, SkipsWhatIsNotAFiniteNumber) {
  QuantileSketch s;
  for (const Value& v :
       {Value(), Value("x"), Value(true), Value(std::nan("")), Value(HUGE_VAL), Value(-HUGE_VAL)})
    s.add(v, 1);
  EXPECT_EQ(s.count(), 0);
  s.add(Value(2.5), 3);
  EXPECT_EQ(s.count(), 3);
  EXPECT_EQ(*s.quantile(0.5), 2.5);
}

TEST(QuantileSketch, MergeOfPartitionsIsTheSketchOfTheWhole) {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> d(0, 3);
  std::vector<double> values(30000);
  for (double& v : values) v = (rng() % 5 == 0 ? -1 : 1) * d(rng);
  std::vector<QuantileSketch> parts(7);
  for (size_t i = 0; i < values.size(); ++i) parts[rng() % parts.size()].add(values[i], 1);
  QuantileSketch merged;
  for (const auto& p : parts) merged.merge(p);
  QuantileSketch tree = parts[6];  // another order, as agents and intervals merge
  for (int i = 5; i >= 0; --i) {
    QuantileSketch t = parts[static_cast<size_t>(i)];
    t.merge(tree);
    tree = t;
  }
  QuantileSketch whole = sketch_of(values);
  EXPECT_EQ(merged, whole);
  EXPECT_EQ(tree, whole);
  expect_within_alpha(values, merged);
}

// Values over more than kSketchMaxBuckets buckets: the lowest fold into the
// lowest kept, in any order of adds and merges, and are counted.
TEST(QuantileSketch, CollapsesTheLowestBucketsAndCountsThem) {
  std::vector<double> values;
  for (int i = 0; i < 3000; ++i) values.push_back(std::pow(1.03, i));  // ~1.5 buckets apart
  QuantileSketch whole = sketch_of(values);
  EXPECT_EQ(whole.positive.buckets.counts.size(), static_cast<size_t>(kSketchMaxBuckets));
  const int32_t lowest = whole.positive.top() - kSketchMaxBuckets + 1;
  EXPECT_EQ(whole.positive.buckets.offset, lowest);
  int64_t below = 0;
  for (double v : values) below += QuantileSketch::index_of(v) < lowest;
  EXPECT_GT(below, 0);
  EXPECT_EQ(whole.collapsed(), below);
  EXPECT_EQ(whole.positive.buckets.counts[0], below + (QuantileSketch::index_of(values[below]) == lowest));

  std::vector<double> reversed(values.rbegin(), values.rend());
  EXPECT_EQ(sketch_of(reversed), whole);
  QuantileSketch low = sketch_of({values.begin(), values.begin() + 1500});
  QuantileSketch high = sketch_of({values.begin() + 1500, values.end()});
  QuantileSketch merged = low;
  merged.merge(high);
  EXPECT_EQ(merged, whole);
  high.merge(low);
  EXPECT_EQ(high, whole);
  // Upper quantiles keep the guarantee; one among the folded values is
  // overstated, never understated.
  EXPECT_LE(std::abs(*whole.quantile(0.99) - exact_quantile(values, 0.99)),
            kQuantileAlpha * exact_quantile(values, 0.99) * (1 + 1e-9));
  EXPECT_GE(*whole.quantile(0.01), exact_quantile(values, 0.01));
}

TEST(QuantileSketch, IndicesOfEveryFiniteMagnitudeAreInRange) {
  for (double m : {std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::min(), 1e-300, 1.0,
                   1e300, std::numeric_limits<double>::max()}) {
    int32_t i = QuantileSketch::index_of(m);
    EXPECT_GE(i, kSketchMinIndex) << m;
    EXPECT_LE(i, kSketchMaxIndex) << m;
  }
  QuantileSketch s;
  s.add(std::numeric_limits<double>::max(), 1);
  s.add(-std::numeric_limits<double>::denorm_min(), 1);
  EXPECT_EQ(*s.quantile(1), std::numeric_limits<double>::max());
  EXPECT_EQ(*s.quantile(0.1), -std::numeric_limits<double>::denorm_min());
  EXPECT_TRUE(s.check());
}

TEST(QuantileSketch, CheckRefusesWhatNoSketchHolds) {
  QuantileSketch ok = sketch_of({1, 2, 3});
  ASSERT_TRUE(ok.check());
  QuantileSketch bad = ok;
  bad.positive.buckets.counts.assign(kSketchMaxBuckets + 1, 1);
  EXPECT_FALSE(bad.check());
  bad = ok;
  bad.positive.buckets.offset = kSketchMaxIndex;
  EXPECT_FALSE(bad.check());
  bad = ok;
  bad.positive.buckets.counts[0] = -1;
  EXPECT_FALSE(bad.check());
  bad = ok;
  bad.positive.collapsed = 5;
  EXPECT_FALSE(bad.check());
  bad = ok;
  bad.min = 10;
  EXPECT_FALSE(bad.check());
  bad = ok;
  bad.zero = kSketchMaxCount;
  EXPECT_FALSE(bad.check());
}

}  // namespace
}  // namespace pivot::aggregate
