#include "aggregate/distribution.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/value_ops.h"

namespace pivot::aggregate {

DistParams hist_params() { return DistParams{DistParams::kHist, 0, 0, 1}; }

DistParams lhist_params(int64_t min, int64_t max, int64_t step) {
  return DistParams{DistParams::kLhist, min, max, step};
}

DistParams quantile_params(double q) { return DistParams{DistParams::kNone, 0, 0, 1, q}; }

int32_t DistParams::buckets() const {
  switch (kind) {
    case kHist: return kHistBuckets;
    case kLhist: {
      // min < max and 0 < step, with at most kMaxLhistBuckets: the parser checked.
      auto width = static_cast<uint64_t>(max) - static_cast<uint64_t>(min);
      return static_cast<int32_t>((width + static_cast<uint64_t>(step) - 1) / static_cast<uint64_t>(step)) +
             2;
    }
    case kNone: break;
  }
  return 0;
}

namespace {

// HIST: 0 below zero, 1 for [0, 1), 2 for [1, 2), k + 2 for [2^k, 2^(k+1)).
int32_t hist_bucket_of_int(int64_t v) {
  if (v < 0) return 0;
  if (v == 0) return 1;
  return 2 + (63 - __builtin_clzll(static_cast<uint64_t>(v)));
}

int32_t hist_bucket_of_double(double v) {
  if (v < 0) return 0;
  if (v < 1) return 1;
  if (v >= 0x1p63) return kHistBuckets - 1;
  return hist_bucket_of_int(static_cast<int64_t>(v));
}

}  // namespace

int32_t DistParams::bucket_of(const Value& v) const {
  if (!v.is_number()) return -1;
  if (v.is_double() && std::isnan(v.as_double())) return -1;
  if (kind == kHist)
    return v.is_int() ? hist_bucket_of_int(v.as_int()) : hist_bucket_of_double(v.as_double());
  // LHIST: 0 below min, 1 + (v - min) / step between, the last from max up.
  const int32_t last = buckets() - 1;
  if (v.is_int()) {
    int64_t x = v.as_int();
    if (x < min) return 0;
    if (x >= max) return last;
    return 1 + static_cast<int32_t>((static_cast<uint64_t>(x) - static_cast<uint64_t>(min)) /
                                    static_cast<uint64_t>(step));
  }
  double x = v.as_double();
  if (x < static_cast<double>(min)) return 0;
  if (x >= static_cast<double>(max)) return last;
  auto i = static_cast<int32_t>(std::floor((x - static_cast<double>(min)) / static_cast<double>(step)));
  return std::clamp(1 + i, 1, last - 1);
}

double DistParams::lo(int32_t i) const {
  if (i <= 0) return -std::numeric_limits<double>::infinity();
  if (kind == kHist) return i == 1 ? 0 : std::ldexp(1.0, i - 2);
  if (i == buckets() - 1) return static_cast<double>(max);
  return static_cast<double>(min) + static_cast<double>(i - 1) * static_cast<double>(step);
}

double DistParams::hi(int32_t i) const {
  if (i >= buckets() - 1) return std::numeric_limits<double>::infinity();
  if (kind == kHist) return i == 0 ? 0 : std::ldexp(1.0, i - 1);
  return std::min(static_cast<double>(max),
                  static_cast<double>(min) + static_cast<double>(i) * static_cast<double>(step));
}

void Dist::add(const DistParams& p, const Value& v, int64_t weight) {
  int32_t i = p.bucket_of(v);
  if (i >= 0) add_bucket(i, weight);
}

void Dist::add_bucket(int32_t index, int64_t n) {
  if (counts.empty()) {
    offset = index;
    counts.push_back(n);
    return;
  }
  if (index < offset) {
    counts.insert(counts.begin(), static_cast<size_t>(offset - index), 0);
    offset = index;
  }
  size_t at = static_cast<size_t>(index - offset);
  if (at >= counts.size()) counts.resize(at + 1, 0);
  add_saturating(counts[at], n);
}

void Dist::merge(const Dist& other) {
  for (size_t i = 0; i < other.counts.size(); ++i) {
    if (other.counts[i] != 0) add_bucket(other.offset + static_cast<int32_t>(i), other.counts[i]);
  }
}

int64_t Dist::total() const {
  int64_t n = 0;
  for (int64_t c : counts) n += c;
  return n;
}

namespace {
void append_bound(std::string& out, double b) {
  if (std::isinf(b)) {
    out += "null";
  } else {
    out += Value(static_cast<int64_t>(b)).to_json();  // bucket bounds are integers
  }
}
}  // namespace

std::string Dist::to_json(const DistParams& p) const {
  std::string out = "[";
  bool first = true;
  // counts runs from the first bucket with events to the last (add_bucket
  // only ever grows it to a bucket it adds to), zeros between included.
  for (size_t k = 0; k < counts.size(); ++k) {
    int32_t i = offset + static_cast<int32_t>(k);
    out += first ? "{\"lo\":" : ",{\"lo\":";
    first = false;
    append_bound(out, p.lo(i));
    out += ",\"hi\":";
    // 2^63, HIST's last bound, is past int64: the last bucket is open instead.
    double hi = p.hi(i);
    append_bound(out, hi >= 0x1p63 ? std::numeric_limits<double>::infinity() : hi);
    out += ",\"count\":" + std::to_string(counts[k]) + "}";
  }
  out += "]";
  return out;
}

}  // namespace pivot::aggregate
