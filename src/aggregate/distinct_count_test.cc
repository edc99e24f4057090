#include "aggregate/distinct_count.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace pivot::aggregate {
namespace {

const double kStandardError = 1.04 / std::sqrt(static_cast<double>(kHllRegisters));

TEST(DistinctCount, ExactUpToTheBound) {
  DistinctCount d;
  for (int round = 0; round < 3; ++round) {
    for (int64_t i = 0; i < static_cast<int64_t>(kDistinctExactMax); ++i) d.add(Value(i * 7919));
  }
  EXPECT_TRUE(d.exact());
  EXPECT_EQ(d.count(), static_cast<int64_t>(kDistinctExactMax));
  d.add(Value());  // null: skipped
  EXPECT_EQ(d.count(), static_cast<int64_t>(kDistinctExactMax));
  d.add(Value("one more"));
  EXPECT_FALSE(d.exact());
}

TEST(DistinctCount, ValuesThatCompareEqualCountOnce) {
  DistinctCount d;
  for (const Value& v :
       {Value(int64_t{3}), Value(3.0), Value("3"), Value(true), Value(3.5), Value(int64_t{3})})
    d.add(v);
  EXPECT_EQ(d.count(), 4);  // 3 (int and double), "3", true, 3.5
}

// Past the bound: within three standard errors on fixed-seed data.
TEST(DistinctCount, SketchWithinThreeStandardErrors) {
  std::mt19937_64 rng(5);
  for (int64_t n : {5000, 20000, 60000, 200000, 1000000}) {
    DistinctCount d;
    for (int64_t i = 0; i < n; ++i) {
      int64_t v = static_cast<int64_t>(rng());
      d.add(Value(v));
      if (i % 3 == 0) d.add(Value(v));  // repeats do not count
    }
    ASSERT_FALSE(d.exact());
    double error = std::abs(static_cast<double>(d.count() - n)) / static_cast<double>(n);
    EXPECT_LE(error, 3 * kStandardError) << n << " counted as " << d.count();
  }
}

TEST(DistinctCount, MergesEqualTheCountOfEverything) {
  // Two exact sets that stay exact, two that pass the bound together, and
  // a set merged into a sketch.
  for (int64_t n : {1000, 6000, 50000}) {
    DistinctCount a, b, whole;
    for (int64_t i = 0; i < n; ++i) {
      Value v("key" + std::to_string(i));
      (i % 3 == 0 ? a : b).add(v);
      if (i % 5 == 0) a.add(v);  // in both
      whole.add(v);
    }
    DistinctCount ab = a, ba = b;
    ab.merge(b);
    ba.merge(a);
    EXPECT_EQ(ab, whole) << n;
    EXPECT_EQ(ba, whole) << n;
    EXPECT_EQ(ab.count(), whole.count());
    EXPECT_EQ(ab.exact(), n <= static_cast<int64_t>(kDistinctExactMax));
  }
}

TEST(DistinctCount, FromTheWireChecked) {
  EXPECT_FALSE(DistinctCount::from_hashes({1, 0}));
  EXPECT_FALSE(DistinctCount::from_hashes(std::vector<uint64_t>(kDistinctExactMax + 1, 1)));
  auto d = DistinctCount::from_hashes({5, 9, 5});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->count(), 2);
  EXPECT_FALSE(DistinctCount::from_registers(std::vector<uint8_t>(10, 0)));
  EXPECT_FALSE(DistinctCount::from_registers(std::vector<uint8_t>(kHllRegisters, kHllMaxRegister + 1)));
  auto r = DistinctCount::from_registers(std::vector<uint8_t>(kHllRegisters, kHllMaxRegister));
  ASSERT_TRUE(r);
  EXPECT_GT(r->count(), 0);  // every register at the top: huge, but a number
}

}  // namespace
}  // namespace pivot::aggregate
