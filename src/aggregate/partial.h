// Partial aggregation: the state of one query's EMIT on one thread (or one
// process, or one interval) that merges with others of the same shape.
//
//   EmitShape shape{.keys = 1, .aggs = {AggFn::kSum}};
//   Partial p(&shape);
//   Value key = "HBase", delta = int64_t{10};
//   p.add(&key, &delta, /*weight=*/1);
//
// A shape with `raw` keeps rows as they come (a Select without aggregates
// or GroupBy), at most `raw_cap` of them; the rest are counted as dropped.
//
// Inputs may be pre-aggregated (PACK with aggregation in the baggage): each
// add() then stands for `weight` rows, and an input marked `presummed` is
// already the sum of those rows.
//
// Thread safety: none; a Partial is owned by one thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "pivot/result_table.h"
#include "pivot/value.h"

namespace pivot::aggregate {

enum class AggFn : uint8_t { kCount, kSum, kMin, kMax, kAvg };

struct EmitShape {
  uint32_t keys = 0;
  std::vector<AggFn> aggs;
  std::vector<bool> presummed;  // per agg; empty means none
  bool raw = false;
  uint32_t raw_cap = 10000;
};

struct AggState {
  int64_t count = 0;  // COUNT, AVG
  Value acc;          // SUM, MIN, MAX, AVG (sum); null until a value arrives
};

class Partial {
 public:
  explicit Partial(const EmitShape* shape) : shape_(shape) {}

  // keys: shape.keys values; inputs: one per aggregate (`true` for a bare
  // COUNT). Pointers, so that advice passes its registers without copying.
  void add(const Value* const* keys, const Value* const* inputs, int64_t weight = 1);
  // Convenience for contiguous values (tests, decoding).
  void add_values(const Value* keys, const Value* inputs, int64_t weight = 1);
  void mark_incomplete() { incomplete_ = true; }
  void add_dropped(uint64_t n) { dropped_ += n; }
  void merge(const Partial& other);
  void clear();
  bool empty() const { return groups_.empty() && dropped_ == 0 && !incomplete_; }

  // The final value of each aggregate (AVG divides), one row per group:
  // keys then aggregates, sorted.
  std::vector<std::vector<Value>> rows() const;
  bool incomplete() const { return incomplete_; }
  uint64_t dropped() const { return dropped_; }
  const EmitShape& shape() const { return *shape_; }

  struct Group {
    size_t hash;
    std::vector<Value> keys;
    std::vector<AggState> states;
  };
  const std::vector<Group>& groups() const { return groups_; }
  // Adds a group's states as they are (used to merge and to decode).
  void merge_group(std::span<const Value> keys, std::span<const AggState> states);

 private:
  template <class Keys>
  Group& find_or_add(const Keys& keys, size_t hash);
  void grow();

  const EmitShape* shape_;
  std::vector<Group> groups_;
  std::vector<uint32_t> index_;  // open addressing: group index + 1, 0 = empty
  bool incomplete_ = false;
  uint64_t dropped_ = 0;
};

size_t hash_keys(std::span<const Value> keys);
size_t hash_keys(std::span<const Value* const> keys);
// Combines b into a for aggregate fn.
void combine(AggFn fn, AggState& a, const AggState& b);
Value final_value(AggFn fn, const AggState& s);

}  // namespace pivot::aggregate
