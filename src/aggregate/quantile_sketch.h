// QUANTILE(x, q)'s state: a relative-error quantile sketch in the manner of
// DDSketch (Masson, Rim, Lee; VLDB 2019) that merges exactly.
//
//   QuantileSketch s;
//   for (int64_t v : {1, 2, 3, 1000}) s.add(Value(v), 1);
//   s.quantile(0.5);  // 2 within 1 %: a value x with |x - 2| <= 0.01 * 2
//
// A value x != 0 falls in the logarithmic bucket i = ceil(log_gamma |x|),
// gamma = (1 + a) / (1 - a), a = kQuantileAlpha, of its sign's store; 0 is
// counted on its own. The bucket (gamma^(i-1), gamma^i] stands for
// 2 gamma^i / (gamma + 1), which is within a of every value in it. The value
// at quantile q is that of the bucket holding the value of rank
// floor(q (n - 1)) (0-based, ascending), clamped to the least and greatest
// value seen, so it is within a of that value (relative to it).
//
// Each store keeps at most kSketchMaxBuckets buckets, from its highest
// bucket down: past that, its lowest buckets (the values nearest 0) fold
// into the lowest one kept, as DDSketch's collapsing-lowest store does, and
// collapsed() counts the values that were folded. A folded value is
// overstated; a quantile that lands on one is then an upper bound of its
// magnitude instead of within a. With a = 1 %, 2048 buckets span a factor
// of about 6e17 from the greatest magnitude: nothing folds unless the
// values do.
//
// Merging is exact: the merge of two sketches is the sketch of all their
// values, bucket for bucket (including the folding, which depends only on
// the greatest bucket), whatever the order of adds and merges.
//
// Thread safety: none; a sketch belongs to one Partial.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>

#include "aggregate/distribution.h"
#include "pivot/result.h"
#include "pivot/value.h"

namespace pivot::aggregate {

inline constexpr double kQuantileAlpha = 0.01;
inline constexpr int32_t kSketchMaxBuckets = 2048;  // per sign
// Every finite double's bucket is between these (|x| from 2^-1074 to 2^1024).
inline constexpr int32_t kSketchMinIndex = -38000;
inline constexpr int32_t kSketchMaxIndex = 36000;
// The most values a sketch from elsewhere may hold: ranks stay exact in a double.
inline constexpr int64_t kSketchMaxCount = int64_t{1} << 53;

struct QuantileSketch {
  // The buckets of one sign: Dist's counts from bucket `offset` on, at
  // most kSketchMaxBuckets of them.
  struct Store {
    Dist buckets;
    int64_t collapsed = 0;  // values in the lowest bucket whose own bucket was lower
    int32_t top() const { return buckets.offset + static_cast<int32_t>(buckets.counts.size()) - 1; }
    bool operator==(const Store&) const = default;
  };

  Store positive, negative;  // negative: the buckets of -x
  int64_t zero = 0;
  // Of the values added; +inf and -inf while there are none.
  double min = std::numeric_limits<double>::infinity(), max = -std::numeric_limits<double>::infinity();

  // Numbers only: null, non-numbers, NaN and infinities are skipped.
  void add(const Value& v, int64_t weight);
  void add(double x, int64_t weight);
  void merge(const QuantileSketch& other);
  int64_t count() const;
  int64_t collapsed() const { return positive.collapsed + negative.collapsed; }
  // The value at quantile q, 0 < q <= 1; nullopt when empty.
  std::optional<double> quantile(double q) const;
  // What a sketch from another process must satisfy (bucket ranges, counts,
  // min <= max) before it is merged; the wire decoder checks it.
  Status check() const;
  bool operator==(const QuantileSketch&) const = default;

  // The bucket of |x| > 0, and the value a bucket stands for.
  static int32_t index_of(double magnitude);
  static double value_of(int32_t index);
};

}  // namespace pivot::aggregate
