#include "aggregate/distinct_count.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "core/cityhash.h"

namespace pivot::aggregate {
namespace {

// Ertl's sigma(x) and tau(x) (Algorithm 6 of the paper): the series that
// correct the estimate for registers still 0 and for registers at the top.
double sigma(double x) {
  if (x == 1) return std::numeric_limits<double>::infinity();
  double y = 1, z = x;
  for (;;) {
    x *= x;
    const double before = z;
    z += x * y;
    y += y;
    if (z == before) return z;
  }
}

double tau(double x) {
  if (x == 0 || x == 1) return 0;
  double y = 1, z = 1 - x;
  for (;;) {
    x = std::sqrt(x);
    const double before = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z == before) return z / 3;
  }
}

}  // namespace

uint64_t DistinctCount::hash_of(const Value& v) {
  // The payload's CityHash64 (no copy of a string: this runs per event),
  // then the type folded in by an invertible step, so values of one type
  // collide no more than their hashes do.
  auto bytes = [](const void* p) { return CityHash64(static_cast<const char*>(p), 8); };
  uint64_t h = 0, tag = 0;
  switch (v.type()) {
    case ValueType::kNull: break;
    case ValueType::kBool: tag = v.as_bool() ? 1 : 2; break;
    case ValueType::kInt: {
      const int64_t i = v.as_int();
      h = bytes(&i);
      tag = 3;
      break;
    }
    case ValueType::kDouble: {
      const double d = v.as_double();
      // An integral double equals the int, so it counts as the same value.
      if (d >= -0x1p63 && d < 0x1p63 && d == std::trunc(d)) {
        const auto i = static_cast<int64_t>(d);
        h = bytes(&i);
        tag = 3;
      } else {
        h = bytes(&d);
        tag = 4;
      }
      break;
    }
    case ValueType::kString:
      h = CityHash64(v.as_string());
      tag = 5;
      break;
  }
  h = (h ^ tag) * 0x9e3779b97f4a7c15ull;
  return h == 0 ? 1 : h;
}

bool DistinctCount::insert(uint64_t h) {
  if ((size_ + 1) * 2 > slots_.size()) {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, 0);
    size_ = 0;
    for (uint64_t x : old) {
      if (x != 0) insert(x);
    }
  }
  const size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    if (slots_[i] == h) return false;
    if (slots_[i] == 0) {
      slots_[i] = h;
      ++size_;
      return true;
    }
  }
}

void DistinctCount::add_to_registers(uint64_t h) {
  const size_t index = h >> (64 - kHllPrecision);
  const uint64_t rest = h << kHllPrecision;
  const auto rank = static_cast<uint8_t>(rest == 0 ? kHllMaxRegister : __builtin_clzll(rest) + 1);
  registers_[index] = std::max(registers_[index], rank);
}

void DistinctCount::to_sketch() {
  registers_.assign(kHllRegisters, 0);
  for (uint64_t x : slots_) {
    if (x != 0) add_to_registers(x);
  }
  std::vector<uint64_t>().swap(slots_);
  size_ = 0;
}

void DistinctCount::add_hash(uint64_t h) {
  if (!exact()) {
    add_to_registers(h);
    return;
  }
  if (insert(h) && size_ > kDistinctExactMax) to_sketch();
}

void DistinctCount::merge(const DistinctCount& other) {
  if (other.exact()) {
    for (uint64_t x : other.slots_) {
      if (x != 0) add_hash(x);
    }
    return;
  }
  if (exact()) to_sketch();
  for (size_t i = 0; i < kHllRegisters; ++i) registers_[i] = std::max(registers_[i], other.registers_[i]);
}

int64_t DistinctCount::count() const {
  if (exact()) return static_cast<int64_t>(size_);
  // Ertl's improved raw estimator: C[k] registers hold k.
  constexpr int q = 64 - kHllPrecision;
  int64_t c[q + 2] = {};
  for (uint8_t r : registers_) ++c[r];
  const double m = static_cast<double>(kHllRegisters);
  double z = m * tau(1 - static_cast<double>(c[q + 1]) / m);
  for (int k = q; k >= 1; --k) z = 0.5 * (z + static_cast<double>(c[k]));
  z += m * sigma(static_cast<double>(c[0]) / m);
  const double estimate = m * m / (2 * std::log(2.0)) / z;  // z is 0 with every register at the top
  return estimate < 0x1p62 ? std::llround(estimate) : int64_t{1} << 62;
}

std::vector<uint64_t> DistinctCount::hashes() const {
  std::vector<uint64_t> out;
  for (uint64_t x : slots_) {
    if (x != 0) out.push_back(x);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<DistinctCount> DistinctCount::from_hashes(const std::vector<uint64_t>& hashes) {
  if (hashes.size() > kDistinctExactMax) {
    return Error("distinct count: more than " + std::to_string(kDistinctExactMax) + " hashes in exact mode");
  }
  DistinctCount d;
  for (uint64_t h : hashes) {
    if (h == 0) return Error("distinct count: a hash of 0");
    d.add_hash(h);
  }
  return d;
}

Result<DistinctCount> DistinctCount::from_registers(std::vector<uint8_t> registers) {
  if (registers.size() != kHllRegisters) {
    return Error("distinct count: a sketch must have " + std::to_string(kHllRegisters) + " registers");
  }
  for (uint8_t r : registers) {
    if (r > kHllMaxRegister) return Error("distinct count: a register is out of range");
  }
  DistinctCount d;
  d.registers_ = std::move(registers);
  return d;
}

}  // namespace pivot::aggregate
