// COUNT(DISTINCT x)'s state: the 64-bit hashes of the values seen, exactly
// while there are at most kDistinctExactMax of them, then a HyperLogLog
// sketch of 2^kHllPrecision registers.
//
//   DistinctCount d;
//   d.add(Value("a"), 1); d.add(Value("b"), 1); d.add(Value("a"), 1);
//   d.count();  // 2, d.exact()
//
// A value's hash is CityHash64 of its bytes with its type folded in, so
// every process hashes the same value alike; a double equal to an int
// hashes as that int, as the two compare equal. Exact mode is exact up to hash
// collisions (about n^2 / 2^65: none in practice). Past the bound, the
// registers estimate the count with a standard error of 1.04 / sqrt(m),
// m = 2^kHllPrecision (0.81 %), by Ertl's improved estimator ("New
// cardinality estimation algorithms for HyperLogLog sketches", 2017),
// unbiased from small to huge counts without correction tables.
//
// Merging is exact: the union of two sets, the register-wise maximum of two
// sketches, or a set's hashes added into a sketch; the merge equals the
// state of all the values, whatever the order of adds and merges (a sketch
// is a function of the set of hashes, and a set turns into one exactly
// when it passes the bound).
//
// Memory: a set up to 64 KB (open addressing, at most half full), the
// registers 16 KB.
//
// Thread safety: none; it belongs to one Partial.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pivot/result.h"
#include "pivot/value.h"

namespace pivot::aggregate {

inline constexpr size_t kDistinctExactMax = 4096;
inline constexpr int kHllPrecision = 14;
inline constexpr size_t kHllRegisters = size_t{1} << kHllPrecision;
// A register holds the position of the first 1 bit of the hash's low
// 64 - p bits: 0 (never set) to 64 - p + 1.
inline constexpr uint8_t kHllMaxRegister = 64 - kHllPrecision + 1;

class DistinctCount {
 public:
  // The hash COUNT(DISTINCT) counts: never 0 (0 marks an empty slot).
  static uint64_t hash_of(const Value& v);

  // Null is skipped, as every aggregate skips it; the weight does not matter.
  void add(const Value& v) {
    if (!v.is_null()) add_hash(hash_of(v));
  }
  void add_hash(uint64_t h);
  void merge(const DistinctCount& other);
  // The exact count, or the estimate once past kDistinctExactMax.
  int64_t count() const;
  bool exact() const { return registers_.empty(); }

  // For the wire: the hashes (exact; ascending) or the registers.
  std::vector<uint64_t> hashes() const;
  const std::vector<uint8_t>& registers() const { return registers_; }
  // A state from another process; the error names what is wrong.
  static Result<DistinctCount> from_hashes(const std::vector<uint64_t>& hashes);
  static Result<DistinctCount> from_registers(std::vector<uint8_t> registers);

  bool operator==(const DistinctCount& o) const {
    return hashes() == o.hashes() && registers_ == o.registers_;
  }

 private:
  void to_sketch();
  void add_to_registers(uint64_t h);
  bool insert(uint64_t h);  // into the set; true when new

  std::vector<uint64_t> slots_;     // exact: open addressing, 0 = empty, at most half full
  size_t size_ = 0;                 // hashes in slots_
  std::vector<uint8_t> registers_;  // sketch: kHllRegisters of them; empty while exact
};

}  // namespace pivot::aggregate
