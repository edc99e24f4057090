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
// Otherwise a partial holds at most `group_cap` groups: an event that would
// start one more is dropped and counted, and so is a group that a merge
// finds no room for (with the events it holds). Each Group counts its
// events for that. Partials made with a GroupBudget (the per-thread
// partials of one query in one process) share the cap instead: together
// they hold at most group_cap groups until the budget is reset. The check
// is made only where a group is created; updates of existing groups do not
// see it.
//
// Inputs may be pre-aggregated (PACK with aggregation in the baggage): each
// add() then stands for `weight` rows, and an input marked `presummed` is
// already the sum of those rows.
//
// Thread safety: none; a Partial is owned by one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "aggregate/distribution.h"
#include "aggregate/state_box.h"
#include "pivot/result_table.h"
#include "pivot/value.h"

namespace pivot::aggregate {

enum class AggFn : uint8_t { kCount, kSum, kMin, kMax, kAvg, kHist, kLhist, kQuantile, kCountDistinct };

// Groups a query may hold per process and interval unless told otherwise
// (pivot query --max-groups): a few MB of a host. A group of one int key and
// one SUM takes about 120 bytes in a partial (up to twice that while its
// tables grow), so a full partial is 1 to 2.5 MB.
inline constexpr uint32_t kDefaultMaxGroups = 10'000;
// The most --max-groups accepts.
inline constexpr uint32_t kMaxMaxGroups = 10'000'000;

// The groups that several partials may create together: the per-thread
// partials of one query in one process, per interval (Collector resets it).
// Past the cap, a plain load refuses, so threads flooding new keys do not
// fight over the cache line.
struct alignas(64) GroupBudget {
  std::atomic<uint32_t> used{0};
  bool take(uint32_t cap) {
    if (used.load(std::memory_order_relaxed) >= cap) return false;
    return used.fetch_add(1, std::memory_order_relaxed) < cap;  // a loser's overshoot refuses the rest too
  }
  void reset() { used.store(0, std::memory_order_relaxed); }
};

struct EmitShape {
  uint32_t keys = 0;
  std::vector<AggFn> aggs;
  std::vector<bool> presummed;     // per agg; empty means none
  std::vector<DistParams> params;  // per agg, for HIST, LHIST and QUANTILE; empty means none
  bool raw = false;
  uint32_t raw_cap = 10000;
  uint32_t group_cap = kDefaultMaxGroups;
};

// A query's groups may hold QUANTILE sketches, COUNT(DISTINCT) sets and
// LHIST buckets, which grow to kilobytes a group (the rest take a few dozen
// bytes, HIST half a kilobyte):
// its group cap is lowered so that one partial's states stay within this
// however the groups fill. The host holds up to two such partials per query
// (its threads' together, and their merge).
inline constexpr size_t kStateBudgetBytes = size_t{32} << 20;
// The most one state of fn grows to, past its AggState.
size_t max_state_bytes(AggFn fn);
// The group cap of `shape` under `max_groups`: max_groups, or lower when its
// states may grow big (kStateBudgetBytes); at least 1.
uint32_t group_cap_for(const EmitShape& shape, uint32_t max_groups);

struct AggState {
  int64_t count = 0;  // COUNT, AVG
  Value acc;          // SUM, MIN, MAX, AVG (sum); null until a value arrives
  StateBox box;       // HIST, LHIST, QUANTILE, COUNT(DISTINCT); null until a value arrives
};

// Storage for a partial's group table and index: from the heap while small,
// mapped pages of its own once it passes kDirectMapBytes, unmapped when
// freed. A query's big tables then leave nothing behind in the host's malloc
// arenas: glibc keeps freed memory at the top of a thread's arena, and
// malloc_trim does not return it; worse, freeing a large chunk that malloc
// had mapped raises glibc's trim threshold, after which even the main arena
// keeps what later queries free.
inline constexpr size_t kDirectMapBytes = size_t{64} << 10;
void* map_pages(size_t bytes);  // throws std::bad_alloc
void unmap_pages(void* p, size_t bytes);

template <class T>
struct TableAllocator {
  using value_type = T;
  TableAllocator() = default;
  template <class U>
  TableAllocator(const TableAllocator<U>&) {}
  T* allocate(size_t n) {
    size_t bytes = n * sizeof(T);
    return static_cast<T*>(bytes < kDirectMapBytes ? ::operator new(bytes) : map_pages(bytes));
  }
  void deallocate(T* p, size_t n) {
    size_t bytes = n * sizeof(T);
    if (bytes < kDirectMapBytes) {
      ::operator delete(p);
    } else {
      unmap_pages(p, bytes);
    }
  }
  friend bool operator==(const TableAllocator&, const TableAllocator&) { return true; }
};

// A merge into a partial of fewer groups than this finds its tables in the
// caches and does not fetch ahead (Partial::merge).
inline constexpr size_t kMergePrefetchGroups = 8192;

// The hash of a group key: mix_hash(... mix_hash(kKeyHashSeed, k0.hash()) ..., kn.hash()).
// Advice computes it itself, so that it can use hashes it knows in advance.
inline constexpr size_t kKeyHashSeed = 0x84222325cbf29ce4ull;
inline size_t mix_hash(size_t h, size_t v) { return (h ^ v) * 0x100000001b3ull + (h >> 29); }

class Partial {
 public:
  explicit Partial(const EmitShape* shape, GroupBudget* budget = nullptr);

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
  // A baggage overflowed: some tuples were not there to count.
  void mark_incomplete() { incomplete_ = true; }
  // A SUM or AVG of integers went past 64 bits (and became a double).
  void mark_overflow() { overflow_ = true; }
  void add_dropped(uint64_t n) { dropped_ += n; }
  void merge(const Partial& other);
  // Empties the partial and gives its tables' memory back.
  void clear();
  // Empties the partial but keeps its tables' room, for one that fills
  // again at once to about the same size (the frontend's partial that
  // decodes every report, its interval's): no pages mapped and unmapped,
  // and no table grown, per report; its keys' strings keep their buffers
  // too, for the next groups' keys.
  void reset();
  // From now on this partial's own group_cap bounds it, not its budget's
  // (a thread's partial that Collector::collect() took to merge into).
  void detach_budget() { budget_ = nullptr; }
  bool empty() const { return groups_.empty() && dropped_ == 0 && !incomplete_ && !overflow_; }

  // The final value of each aggregate (AVG divides), one row per group:
  // keys then aggregates, sorted.
  std::vector<std::vector<Value>> rows() const;
  // Some baggage overflowed (mark_incomplete).
  bool incomplete() const { return incomplete_; }
  bool overflow() const { return overflow_; }
  // Events a limit left out: rows over raw_cap, events of groups over group_cap.
  uint64_t dropped() const { return dropped_; }
  const EmitShape& shape() const { return *shape_; }

  // A group's keys and states live in flat tables beside it (shape().keys
  // and shape().aggs.size() per group), so a group allocates nothing of its
  // own (but strings longer than the short-string buffer).
  struct Group {
    size_t hash;
    int64_t events;  // added into it (weighted): what dropping it loses
  };
  using Groups = std::vector<Group, TableAllocator<Group>>;
  const Groups& groups() const { return groups_; }
  std::span<const Value> keys(size_t group) const {
    return {keys_.data() + group * shape_->keys, shape_->keys};
  }
  std::span<const AggState> states(size_t group) const { return {states_.data() + group * n_aggs_, n_aggs_}; }
  // Adds a group's states as they are (used to merge and to decode); when
  // the partial is full, counts its `events` as dropped instead.
  void merge_group(std::span<const Value> keys, std::span<const AggState> states, int64_t events);
  // The same for a decoder that refills its keys and states for each group:
  // a new group takes them (moved, not copied), leaving them unspecified.
  void take_group(std::span<Value> keys, std::span<AggState> states, int64_t events);
  // Room for `groups` groups (at most the cap) without growing.
  void reserve(size_t groups);

  // What add_hashed's inline part reads, for advice that runs on the
  // general-purpose registers only (advice/gpr_run.cc, which finds and
  // updates an existing group of the plain shape itself, counting its
  // events as add_hashed does; it never creates a group, so the group cap
  // and the dropped count stay add_slow's). False for other shapes.
  struct PlainView {
    const uint32_t* index;  // open addressing, as index_; size a power of 2
    size_t index_size;
    Group* groups;
    const Value* keys;  // n_keys per group, as keys_
    AggState* states;   // n_aggs per group, as states_
    const AggFn* aggs;
    uint32_t n_keys;
    uint32_t n_aggs;
  };
  [[gnu::always_inline]] bool plain_view(PlainView* out) {
    if (!plain_ || index_.empty()) return false;
    *out = {index_.data(),  index_.size(),       groups_.data(), keys_.data(),
            states_.data(), shape_->aggs.data(), shape_->keys,   static_cast<uint32_t>(n_aggs_)};
    return true;
  }

 private:
  // The group of `keys`, created if there is room; null when the partial
  // already holds group_cap groups.
  template <class Keys>
  Group* find_or_add(const Keys& keys, size_t hash);
  Group* find(const Value* const* keys, size_t n, size_t hash);
  void add_slow(const Value* const* keys, size_t hash, const Value* const* inputs, int64_t weight);
  // Adds inputs[from...] into a group's states (plain shape).
  void add_states(AggState* states, const Value* const* inputs, int64_t weight, size_t from);
  // The parameters of aggregate `agg`; none when the shape gives none.
  const DistParams& params_of(size_t agg) const;
  AggState* states_of(const Group* g) { return states_.data() + (g - groups_.data()) * n_aggs_; }
  // A new group: appends its keys and empty states to the tables.
  template <class Keys>
  Group& append(const Keys& keys, size_t hash);
  void grow();
  void rehash(size_t index_size);
  // merge_group with the keys' hash known (hash_keys(keys)).
  void merge_group(std::span<const Value> keys, size_t hash, std::span<const AggState> states,
                   int64_t events);
  // merge() into no groups (and no budget): a copy of the other's tables.
  void copy_groups(const Partial& other);
  // merge() group by group, probes fetched ahead.
  void merge_groups(const Partial& other);
  // Group `i` of other into this partial (merge_groups' step).
  void merge_one(const Partial& other, size_t i);
  // The existing group of these keys (shape().keys of them), or null.
  Group* find_group(const Value* keys, size_t hash);
  // Combines a group's states (n_aggs_ of them) into one of this partial's.
  void merge_states(AggState* mine, const AggState* theirs);
  void combine_state(size_t agg, AggState& mine, const AggState& theirs);

  const EmitShape* shape_;
  GroupBudget* budget_;  // null: this partial's own group_cap
  size_t n_aggs_;
  bool plain_;  // no raw rows and no presummed inputs: the common shape
  Groups groups_;
  // shape.keys per group; past the groups' keys, those a reset() kept for
  // their strings' buffers (assigned over, never read).
  std::vector<Value, TableAllocator<Value>> keys_;
  std::vector<AggState, TableAllocator<AggState>> states_;  // n_aggs_ per group
  std::vector<uint32_t, TableAllocator<uint32_t>> index_;   // open addressing: group index + 1, 0 = empty
  bool incomplete_ = false;
  bool overflow_ = false;
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

// acc += b when both are ints and the sum fits in 64 bits, inline: SUM and
// AVG's common case. False (acc unchanged) for the general path to take.
[[gnu::always_inline]] inline bool add_int_inline(Value& acc, const Value& b) {
  int64_t* a = acc.if_int();
  int64_t sum;
  if (a == nullptr || !b.is_int() || __builtin_add_overflow(*a, b.as_int(), &sum)) return false;
  *a = sum;
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
  // NaN keys are one group (Value's hash agrees), not one group per event.
  if (a.is_double() && b.is_double() && a.as_double() != a.as_double()) return b.as_double() != b.as_double();
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
    if (g.hash != hash) continue;
    const Value* gk = keys_.data() + (slot - 1) * n;
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
  ++g->events;
  const AggFn* fns = shape_->aggs.data();
  AggState* states = states_of(g);
  for (size_t i = 0, n = n_aggs_; i < n; ++i) {
    const Value& in = *inputs[i];
    AggState& s = states[i];
    if (fns[i] == AggFn::kCount) {
      s.count += !in.is_null();
    } else if ((fns[i] == AggFn::kSum || fns[i] == AggFn::kAvg) && add_int_inline(s.acc, in)) {
      ++s.count;
    } else {
      add_states(states, inputs, 1, i);
      return;
    }
  }
}

size_t hash_keys(std::span<const Value> keys);
size_t hash_keys(std::span<const Value* const> keys);
// Combines b into a for aggregate fn.
void combine(AggFn fn, AggState& a, const AggState& b);
// A distribution's value is its buckets as JSON text (Dist::to_json), a
// QUANTILE's the value at params.q (null without values), a COUNT
// (DISTINCT)'s the count.
Value final_value(AggFn fn, const AggState& s, const DistParams& params = {});
inline bool is_distribution(AggFn fn) { return fn == AggFn::kHist || fn == AggFn::kLhist; }

}  // namespace pivot::aggregate
