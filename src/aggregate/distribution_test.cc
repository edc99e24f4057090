#include "aggregate/distribution.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "aggregate/histogram_text.h"
#include "aggregate/partial.h"

namespace pivot::aggregate {
namespace {

Dist of(const DistParams& p, const std::vector<Value>& values) {
  Dist d;
  for (const Value& v : values) d.add(p, v, 1);
  return d;
}

TEST(Dist, HistHasBpftracesPowerOfTwoBuckets) {
  DistParams p = hist_params();
  EXPECT_EQ(p.bucket_of(Value(int64_t{-7})), 0);
  EXPECT_EQ(p.bucket_of(Value(int64_t{0})), 1);
  EXPECT_EQ(p.bucket_of(Value(int64_t{1})), 2);
  EXPECT_EQ(p.bucket_of(Value(int64_t{2})), 3);
  EXPECT_EQ(p.bucket_of(Value(int64_t{3})), 3);
  EXPECT_EQ(p.bucket_of(Value(int64_t{4})), 4);
  EXPECT_EQ(p.bucket_of(Value(INT64_MAX)), 64);
  EXPECT_EQ(p.bucket_of(Value(0.5)), 1);
  EXPECT_EQ(p.bucket_of(Value(1e300)), 65);
  EXPECT_EQ(p.bucket_of(Value("x")), -1);
  EXPECT_EQ(of(p, {-3, 0, 1, 1, 2, 3, 5}).to_json(p),
            R"([{"lo":null,"hi":0,"count":1},{"lo":0,"hi":1,"count":1},{"lo":1,"hi":2,"count":2},)"
            R"({"lo":2,"hi":4,"count":2},{"lo":4,"hi":8,"count":1}])");
  // Empty buckets between are kept; none outside.
  EXPECT_EQ(
      of(p, {1024, 5000}).to_json(p),
      R"([{"lo":1024,"hi":2048,"count":1},{"lo":2048,"hi":4096,"count":0},{"lo":4096,"hi":8192,"count":1}])");
  EXPECT_EQ(of(p, {INT64_MAX}).to_json(p), R"([{"lo":4611686018427387904,"hi":null,"count":1}])");
}

TEST(Dist, LhistHasBucketsBelowBetweenAndAbove) {
  DistParams p = lhist_params(0, 25, 10);  // [0,10) [10,20) [20,25), below, from 25 up
  EXPECT_EQ(p.buckets(), 5);
  EXPECT_EQ(of(p, {-1, 0, 9, 10, 24, 24.5, 25, 1000}).to_json(p),
            R"([{"lo":null,"hi":0,"count":1},{"lo":0,"hi":10,"count":2},{"lo":10,"hi":20,"count":1},)"
            R"({"lo":20,"hi":25,"count":2},{"lo":25,"hi":null,"count":2}])");
  DistParams neg = lhist_params(-100, 100, 50);
  EXPECT_EQ(of(neg, {-100, -51, -50, 99.9}).to_json(neg),
            R"([{"lo":-100,"hi":-50,"count":2},{"lo":-50,"hi":0,"count":1},{"lo":0,"hi":50,"count":0},)"
            R"({"lo":50,"hi":100,"count":1}])");
}

// Merging the distributions of any split of the data gives the
// distribution of all of it, bucket for bucket.
TEST(Dist, MergeIsExact) {
  std::mt19937_64 rng(16);
  std::lognormal_distribution<double> latency(10, 2);
  for (const DistParams& p : {hist_params(), lhist_params(0, 100000, 1000)}) {
    Dist all, parts[4];
    for (int i = 0; i < 10000; ++i) {
      Value v(static_cast<int64_t>(latency(rng)));
      all.add(p, v, 1);
      parts[rng() % 4].add(p, v, 1);
    }
    Dist merged;
    for (const Dist& d : parts) merged.merge(d);
    EXPECT_EQ(merged.to_json(p), all.to_json(p));
    EXPECT_EQ(merged.total(), 10000);
  }
}

TEST(Dist, PartialsMergeDistributionsPerGroup) {
  EmitShape shape{.keys = 1, .aggs = {AggFn::kHist, AggFn::kCount}, .params = {hist_params(), {}}};
  Partial a(&shape), b(&shape), all(&shape);
  for (int i = 0; i < 100; ++i) {
    Value key = i % 2 ? "odd" : "even";
    Value v[2] = {Value(int64_t{i}), Value(true)};
    (i < 30 ? a : b).add_values(&key, v);
    all.add_values(&key, v);
  }
  a.merge(b);
  EXPECT_EQ(a.rows(), all.rows());
  EXPECT_EQ(all.rows()[1][1].as_string(),
            R"([{"lo":1,"hi":2,"count":1},{"lo":2,"hi":4,"count":1},{"lo":4,"hi":8,"count":2},)"
            R"({"lo":8,"hi":16,"count":4},{"lo":16,"hi":32,"count":8},{"lo":32,"hi":64,"count":16},)"
            R"({"lo":64,"hi":128,"count":18}])");
}

TEST(HistogramText, DrawsAsBpftrace) {
  DistParams p = hist_params();
  EXPECT_EQ(draw_histogram(of(p, {0, 1, 2, 3, 2048, 3000}).to_json(p), ""),
            "[0]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
            "[1]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
            "[2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
            "[4, 8)                 0 |                                                    |\n"
            "[8, 16)                0 |                                                    |\n"
            "[16, 32)               0 |                                                    |\n"
            "[32, 64)               0 |                                                    |\n"
            "[64, 128)              0 |                                                    |\n"
            "[128, 256)             0 |                                                    |\n"
            "[256, 512)             0 |                                                    |\n"
            "[512, 1K)              0 |                                                    |\n"
            "[1K, 2K)               0 |                                                    |\n"
            "[2K, 4K)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n");
  DistParams l = lhist_params(0, 20, 10);
  EXPECT_EQ(draw_histogram(of(l, {-5, 5, 15, 15, 15, 40}).to_json(l), "  "),
            "  (..., 0)               1 |@@@@@@@@@@@@@@@@@                                   |\n"
            "  [0, 10)                1 |@@@@@@@@@@@@@@@@@                                   |\n"
            "  [10, 20)               3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
            "  [20, ...)              1 |@@@@@@@@@@@@@@@@@                                   |\n");
  EXPECT_EQ(draw_histogram("not json", ""), "not json\n");
}

}  // namespace
}  // namespace pivot::aggregate
