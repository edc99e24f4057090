// Distributions: the state of HIST(x) and LHIST(x, min, max, step), a count
// per bucket that merges exactly (bucket-wise addition) across threads,
// intervals and agents.
//
//   DistParams p = hist_params();
//   Dist d;
//   d.add(p, Value(int64_t{5}), 1);   // bucket [4, 8)
//   d.to_json(p);                     // [{"lo":4,"hi":8,"count":1}]
//
// HIST uses bpftrace's power-of-two buckets: one for negative values, [0],
// [1], then [2^k, 2^(k+1)) up to 2^63. LHIST has `(max - min) / step`
// buckets of width `step` from `min` (the last one ending at `max`), one below
// `min` and one from `max` up. A double falls in the bucket its value is in
// (0.5 in [0, 1), printed `[0]` by HIST); NaN and non-numbers are skipped,
// as every aggregate skips nulls.
//
// Thread safety: none; a Dist belongs to one Partial.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pivot/value.h"

namespace pivot::aggregate {

// What a distribution aggregate (or QUANTILE) was asked for; the same on
// every agent and the frontend, since each compiles the same text.
struct DistParams {
  enum Kind : uint8_t { kNone, kHist, kLhist } kind = kNone;
  int64_t min = 0, max = 0, step = 1;  // LHIST
  double q = 0;                        // QUANTILE: the quantile asked for, 0 < q <= 1
  // Bucket count: 66 for HIST (below 0, [0], [1], 2^1..2^63), LHIST's
  // (max - min + step - 1) / step + 2.
  int32_t buckets() const;
  // The bucket of a number; -1 for NaN or a non-number.
  int32_t bucket_of(const Value& v) const;
  // Bucket i covers [lo, hi); lo of the first and hi of the last are open.
  double lo(int32_t i) const;
  double hi(int32_t i) const;
};

inline constexpr int32_t kHistBuckets = 66;
// LHIST's buckets between min and max, at most.
inline constexpr int64_t kMaxLhistBuckets = 1000;

DistParams hist_params();
DistParams lhist_params(int64_t min, int64_t max, int64_t step);
DistParams quantile_params(double q);

// Counts from bucket `offset` on; empty until a value arrives. Buckets are
// bounded by the parameters (at most kMaxLhistBuckets + 2), so the vector is.
struct Dist {
  int32_t offset = 0;
  std::vector<int64_t> counts;

  void add(const DistParams& p, const Value& v, int64_t weight);
  void add_bucket(int32_t index, int64_t n);
  void merge(const Dist& other);
  int64_t total() const;
  bool operator==(const Dist&) const = default;
  // The buckets from the first with events to the last, empty ones between
  // included: [{"lo":L,"hi":H,"count":N},...], lo and hi null where the
  // bucket is open (docs/query-language.md, "Distributions").
  std::string to_json(const DistParams& p) const;
};

}  // namespace pivot::aggregate
