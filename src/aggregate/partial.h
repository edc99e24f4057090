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
#include <cstring>
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

// The hash of a group key: mix_hash(... mix_hash(kKeyHashSeed, k0.hash()) ..., kn.hash()).
// Advice computes it itself, so that it can use hashes it knows in advance.
inline constexpr size_t kKeyHashSeed = 0x84222325cbf29ce4ull;
inline size_t mix_hash(size_t h, size_t v) { return (h ^ v) * 0x100000001b3ull + (h >> 29); }

class Partial {
 public:
  explicit Partial(const EmitShape* shape);

  // keys: shape.keys values; inputs: one per aggregate (`true` for a bare
  // COUNT). Pointers, so that advice passes its registers without copying.
  void add(const Value* const* keys, const Value* const* inputs, int64_t weight = 1);
  // The same, with the keys' hash (as hash_keys computes it) given. Inline
  // for advice: an existing group of the common shape is found and updated
  // here, the rest (new groups, other shapes) in add_slow.
  [[gnu::always_inline]] inline void add_hashed(const Value* const* keys, size_t hash,
                                                const Value* const* inputs, int64_t weight);
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

  // What add_hashed's inline part reads, for advice that runs on the
  // general-purpose registers only (advice/gpr_run.cc, which finds and
  // updates an existing group of the plain shape itself). False for other
  // shapes.
  struct PlainView {
    const uint32_t* index;  // open addressing, as index_; size a power of 2
    size_t index_size;
    Group* groups;
    const AggFn* aggs;
    uint32_t n_keys;
  };
  [[gnu::always_inline]] bool plain_view(PlainView* out) {
    if (!plain_ || index_.empty()) return false;
    *out = {index_.data(), index_.size(), groups_.data(), shape_->aggs.data(), shape_->keys};
    return true;
  }
  // Adds a group's states as they are (used to merge and to decode).
  void merge_group(std::span<const Value> keys, std::span<const AggState> states);

 private:
  template <class Keys>
  Group& find_or_add(const Keys& keys, size_t hash);
  Group* find(const Value* const* keys, size_t n, size_t hash);
  void add_slow(const Value* const* keys, size_t hash, const Value* const* inputs, int64_t weight);
  // Adds inputs[from...] into g's states (plain shape).
  void add_states(Group& g, const Value* const* inputs, int64_t weight, size_t from);
  void grow();

  const EmitShape* shape_;
  bool plain_;  // no raw rows and no presummed inputs: the common shape
  std::vector<Group> groups_;
  std::vector<uint32_t> index_;  // open addressing: group index + 1, 0 = empty
  bool incomplete_ = false;
  uint64_t dropped_ = 0;
};

// n bytes at a and b are equal. Inline, with word loads: group keys are
// short strings, where calling memcmp costs more than comparing.
[[gnu::always_inline]] inline bool same_bytes(const char* a, const char* b, size_t n) {
  auto load8 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (load8(a + i) != load8(b + i)) return false;
    }
    return load8(a + n - 8) == load8(b + n - 8);
  }
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// Key equality as Value's ==, with ints and strings (the common group keys)
// inline.
[[gnu::always_inline]] inline bool same_key(const Value& a, const Value& b) {
  if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
  if (a.is_string() && b.is_string()) {
    const std::string& x = a.as_string();
    const std::string& y = b.as_string();
    return x.size() == y.size() && same_bytes(x.data(), y.data(), x.size());
  }
  return a == b;
}

[[gnu::always_inline]] inline Partial::Group* Partial::find(const Value* const* keys, size_t n, size_t hash) {
  if (index_.empty()) [[unlikely]]
    return nullptr;
  const uint32_t* index = index_.data();
  size_t mask = index_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint32_t slot = index[i];
    if (slot == 0) return nullptr;
    Group& g = groups_[slot - 1];
    if (g.hash != hash || g.keys.size() != n) continue;
    const Value* gk = g.keys.data();
    size_t k = 0;
    while (k < n && same_key(gk[k], *keys[k])) ++k;
    if (k == n) return &g;
  }
}

[[gnu::always_inline]] inline void Partial::add_hashed(const Value* const* keys, size_t hash,
                                                       const Value* const* inputs, int64_t weight) {
  Group* g = plain_ && weight == 1 ? find(keys, shape_->keys, hash) : nullptr;
  if (g == nullptr) [[unlikely]] {
    add_slow(keys, hash, inputs, weight);
    return;
  }
  // An existing group of the common shape, one row: COUNT, and SUM/AVG of
  // ints that do not overflow, here; add_states does the rest.
  const AggFn* fns = shape_->aggs.data();
  AggState* states = g->states.data();
  for (size_t i = 0, n = g->states.size(); i < n; ++i) {
    const Value& in = *inputs[i];
    AggState& s = states[i];
    int64_t sum;
    if (fns[i] == AggFn::kCount) {
      s.count += !in.is_null();
    } else if ((fns[i] == AggFn::kSum || fns[i] == AggFn::kAvg) && in.is_int() && s.acc.is_int() &&
               !__builtin_add_overflow(s.acc.as_int(), in.as_int(), &sum)) {
      ++s.count;
      *s.acc.if_int() = sum;
    } else {
      add_states(*g, inputs, 1, i);
      return;
    }
  }
}

size_t hash_keys(std::span<const Value> keys);
size_t hash_keys(std::span<const Value* const> keys);
// Combines b into a for aggregate fn.
void combine(AggFn fn, AggState& a, const AggState& b);
Value final_value(AggFn fn, const AggState& s);

}  // namespace pivot::aggregate
