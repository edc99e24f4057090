#include "aggregate/quantile_sketch.h"

#include <algorithm>
#include <cmath>

namespace pivot::aggregate {
namespace {

const double kGamma = (1 + kQuantileAlpha) / (1 - kQuantileAlpha);
const double kLogGamma = std::log(kGamma);

using Store = QuantileSketch::Store;

// Folds the buckets of `s` below `lowest` into `lowest`. The values folded
// before sit in the lowest bucket, so the count moved is every value whose
// own bucket is below `lowest`.
void fold_below(Store& s, int32_t lowest) {
  Dist& d = s.buckets;
  if (d.counts.empty() || d.offset >= lowest) return;
  const size_t n = std::min(static_cast<size_t>(lowest - d.offset), d.counts.size());
  int64_t moved = 0;
  for (size_t i = 0; i < n; ++i) moved += d.counts[i];
  d.counts.erase(d.counts.begin(), d.counts.begin() + static_cast<ptrdiff_t>(n));
  if (d.counts.empty()) d.counts.push_back(0);
  d.offset = lowest;
  d.counts[0] += moved;
  s.collapsed = moved;
}

// Adds buckets [offset, offset + counts.size()) of a store holding
// `collapsed` folded values into `s`, keeping at most kSketchMaxBuckets
// below the highest bucket of either: the result is the store of all the
// values of both.
void merge_into(Store& s, int32_t offset, std::span<const int64_t> counts, int64_t collapsed) {
  if (counts.empty()) return;
  const int32_t top = offset + static_cast<int32_t>(counts.size()) - 1;
  Dist& d = s.buckets;
  const int32_t lowest = (d.counts.empty() ? top : std::max(top, s.top())) - kSketchMaxBuckets + 1;
  fold_below(s, lowest);
  // The other's values below `lowest`: its folded ones, or all those in
  // buckets below (which include its folded ones, in its lowest bucket).
  int64_t folded = collapsed;
  if (offset < lowest) {
    folded = 0;
    for (int32_t i = offset; i < lowest && i <= top; ++i) folded += counts[static_cast<size_t>(i - offset)];
  }
  for (size_t k = 0; k < counts.size(); ++k) {
    if (counts[k] != 0) d.add_bucket(std::max(offset + static_cast<int32_t>(k), lowest), counts[k]);
  }
  s.collapsed += folded;
}

void add_to(Store& s, int32_t index, int64_t n) {
  Dist& d = s.buckets;
  // The common case: a bucket the store already has.
  if (!d.counts.empty() && index >= d.offset && index <= s.top()) {
    d.counts[static_cast<size_t>(index - d.offset)] += n;
    return;
  }
  merge_into(s, index, std::span<const int64_t>(&n, 1), 0);
}

int64_t total(const Store& s) { return s.buckets.total(); }

Status check_store(const Store& s, const char* sign) {
  const Dist& d = s.buckets;
  if (d.counts.empty()) {
    if (s.collapsed != 0)
      return Error(std::string("quantile sketch: collapsed values in an empty ") + sign + " store");
    return Status();
  }
  if (d.counts.size() > static_cast<size_t>(kSketchMaxBuckets) || d.offset < kSketchMinIndex ||
      d.offset > kSketchMaxIndex - static_cast<int32_t>(d.counts.size()) + 1) {
    return Error(std::string("quantile sketch: the ") + sign + " buckets are out of range");
  }
  int64_t n = 0;
  for (int64_t c : d.counts) {
    if (c < 0 || c > kSketchMaxCount || (n += c) > kSketchMaxCount) {
      return Error(std::string("quantile sketch: a bucket's count must be between 0 and 2^53"));
    }
  }
  if (s.collapsed < 0 || s.collapsed > d.counts[0]) {
    return Error(std::string("quantile sketch: more collapsed values than the lowest ") + sign +
                 " bucket holds");
  }
  return Status();
}

}  // namespace

int32_t QuantileSketch::index_of(double magnitude) {
  return static_cast<int32_t>(std::ceil(std::log(magnitude) / kLogGamma));
}

double QuantileSketch::value_of(int32_t index) {
  return 2 * std::exp(static_cast<double>(index) * kLogGamma) / (kGamma + 1);
}

void QuantileSketch::add(const Value& v, int64_t weight) {
  if (v.is_number()) add(v.to_double(), weight);
}

void QuantileSketch::add(double x, int64_t weight) {
  if (!std::isfinite(x)) return;
  if (x > 0) {
    add_to(positive, index_of(x), weight);
  } else if (x < 0) {
    add_to(negative, index_of(-x), weight);
  } else {
    zero += weight;
  }
  min = std::min(min, x);
  max = std::max(max, x);
}

void QuantileSketch::merge(const QuantileSketch& other) {
  if (other.count() == 0) return;
  if (count() == 0) {
    *this = other;
    return;
  }
  merge_into(positive, other.positive.buckets.offset, other.positive.buckets.counts,
             other.positive.collapsed);
  merge_into(negative, other.negative.buckets.offset, other.negative.buckets.counts,
             other.negative.collapsed);
  zero += other.zero;
  min = std::min(min, other.min);
  max = std::max(max, other.max);
}

int64_t QuantileSketch::count() const { return zero + total(positive) + total(negative); }

std::optional<double> QuantileSketch::quantile(double q) const {
  const int64_t n = count();
  if (n == 0) return std::nullopt;
  const double rank = q * static_cast<double>(n - 1);
  // The ends are known exactly.
  if (rank < 1) return min;
  if (rank >= static_cast<double>(n - 1)) return max;
  // Ascending: the negative values from the greatest magnitude, 0, the
  // positive ones from the least.
  auto answer = [&](double v) { return std::clamp(v, min, max); };
  double seen = 0;
  const Dist& neg = negative.buckets;
  for (size_t k = neg.counts.size(); k-- > 0;) {
    seen += static_cast<double>(neg.counts[k]);
    if (seen > rank) return answer(-value_of(neg.offset + static_cast<int32_t>(k)));
  }
  seen += static_cast<double>(zero);
  if (seen > rank) return answer(0);
  const Dist& pos = positive.buckets;
  for (size_t k = 0; k < pos.counts.size(); ++k) {
    seen += static_cast<double>(pos.counts[k]);
    if (seen > rank) return answer(value_of(pos.offset + static_cast<int32_t>(k)));
  }
  return max;  // q == 1 with rounding: the greatest value
}

Status QuantileSketch::check() const {
  if (auto st = check_store(positive, "positive"); !st) return st;
  if (auto st = check_store(negative, "negative"); !st) return st;
  if (zero < 0 || zero > kSketchMaxCount)
    return Error("quantile sketch: the count of zeros must be between 0 and 2^53");
  const int64_t n = count();
  if (n > kSketchMaxCount) return Error("quantile sketch: more than 2^53 values");
  if (n > 0 && !(std::isfinite(min) && std::isfinite(max) && min <= max)) {
    return Error("quantile sketch: min and max must be finite, min <= max");
  }
  return Status();
}

}  // namespace pivot::aggregate
