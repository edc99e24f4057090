#include "aggregate/partial.h"

#include <sys/mman.h>

#include <algorithm>
#include <new>

#include "core/value_ops.h"

namespace pivot::aggregate {

namespace {
constexpr size_t kHugePageBytes = size_t{2} << 20;
}  // namespace

void* map_pages(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // Tables of 2 MiB and more on huge pages where the kernel has them to
  // spare (transparent_hugepage "madvise", Debian's default): a 65,536-group
  // table is filled in a few faults instead of thousands, which cost up to
  // 15 us each on a VM (docs/performance.md), and probed with fewer TLB
  // misses. The pages are the mapping's own: they go back with it.
  if (bytes >= kHugePageBytes) madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

void unmap_pages(void* p, size_t bytes) { munmap(p, bytes); }

namespace {
const Value& deref(const Value& v) { return v; }
const Value& deref(const Value* v) { return *v; }
// A key as a new group takes it: moved from a span of Values it may take
// (take_group), else copied.
Value&& pass(Value& v) { return std::move(v); }
const Value& pass(const Value& v) { return v; }
const Value& pass(const Value* v) { return *v; }
}  // namespace

size_t hash_keys(std::span<const Value> keys) {
  size_t h = kKeyHashSeed;
  for (const Value& v : keys) h = mix_hash(h, v.hash());
  return h;
}

size_t hash_keys(std::span<const Value* const> keys) {
  size_t h = kKeyHashSeed;
  for (const Value* v : keys) h = mix_hash(h, v->hash());
  return h;
}

// Adds `in` (times `weight`) into acc in place; ints stay ints until they
// overflow, and then become doubles: true when that happened here. The
// common case, int into int, allocates nothing.
bool accumulate(Value& acc, const Value& in, int64_t weight) {
  if (int64_t* a = acc.if_int()) {
    if (in.is_int()) {
      int64_t add, sum;  // on overflow the builtins store the wrapped result: not into acc
      if (!__builtin_mul_overflow(in.as_int(), weight, &add) && !__builtin_add_overflow(*a, add, &sum)) {
        *a = sum;
        return false;
      }
    }
  } else if (double* d = acc.if_double()) {
    if (in.is_number()) {
      *d += in.to_double() * static_cast<double>(weight);
      return false;
    }
  }
  const bool ints = in.is_int() && (acc.is_int() || acc.is_null());
  Value add = weight == 1 ? in : value_mul(in, Value(weight));
  acc = acc.is_null() ? add : value_add(acc, add);
  return ints && acc.is_double();
}

// Adds a value (not null) into a boxed state.
void add_boxed(AggFn fn, AggState& s, const DistParams& params, const Value& in, int64_t weight) {
  switch (fn) {
    case AggFn::kHist:
    case AggFn::kLhist: s.box.make<Dist>().add(params, in, weight); break;
    case AggFn::kQuantile: s.box.make<QuantileSketch>().add(in, weight); break;
    case AggFn::kCountDistinct: s.box.make<DistinctCount>().add(in); break;
    default: break;
  }
}

void combine(AggFn fn, AggState& a, const AggState& b) {
  add_saturating(a.count, b.count);
  if (const Dist* d = b.box.get<Dist>()) a.box.make<Dist>().merge(*d);
  if (const QuantileSketch* q = b.box.get<QuantileSketch>()) a.box.make<QuantileSketch>().merge(*q);
  if (const DistinctCount* d = b.box.get<DistinctCount>()) a.box.make<DistinctCount>().merge(*d);
  if (b.acc.is_null()) return;
  if (a.acc.is_null()) {
    a.acc = b.acc;
    return;
  }
  switch (fn) {
    case AggFn::kCount:
    case AggFn::kHist:
    case AggFn::kLhist:
    case AggFn::kQuantile:
    case AggFn::kCountDistinct: break;
    case AggFn::kSum:
    case AggFn::kAvg: a.acc = value_add(a.acc, b.acc); break;
    case AggFn::kMin:
      if (compare(b.acc, a.acc) < 0) a.acc = b.acc;
      break;
    case AggFn::kMax:
      if (compare(b.acc, a.acc) > 0) a.acc = b.acc;
      break;
  }
}

Value final_value(AggFn fn, const AggState& s, const DistParams& params) {
  switch (fn) {
    case AggFn::kCount: return Value(s.count);
    case AggFn::kHist:
    case AggFn::kLhist:
      return Value(s.box.get<Dist>() ? s.box.get<Dist>()->to_json(params) : std::string("[]"));
    case AggFn::kQuantile: {
      const QuantileSketch* q = s.box.get<QuantileSketch>();
      std::optional<double> v = q ? q->quantile(params.q) : std::nullopt;
      return v ? Value(*v) : Value();
    }
    case AggFn::kCountDistinct:
      return Value(s.box.get<DistinctCount>() ? s.box.get<DistinctCount>()->count() : 0);
    case AggFn::kAvg:
      if (s.count == 0 || s.acc.is_null()) return Value();
      return Value(s.acc.to_double() / static_cast<double>(s.count));
    default: return s.acc;
  }
}

size_t max_state_bytes(AggFn fn) {
  switch (fn) {
    // Both stores full (8-byte counts), and the exact set at its most (8-byte hashes).
    case AggFn::kQuantile: return 2 * kSketchMaxBuckets * sizeof(int64_t);
    case AggFn::kCountDistinct: return kDistinctExactMax * sizeof(uint64_t);
    case AggFn::kHist: return kHistBuckets * sizeof(int64_t);
    case AggFn::kLhist: return (kMaxLhistBuckets + 2) * sizeof(int64_t);
    default: return 0;
  }
}

uint32_t group_cap_for(const EmitShape& shape, uint32_t max_groups) {
  size_t per_group = 0;
  for (AggFn fn : shape.aggs) per_group += max_state_bytes(fn);
  if (per_group == 0 || shape.raw) return max_groups;
  return static_cast<uint32_t>(std::clamp<size_t>(kStateBudgetBytes / per_group, 1, max_groups));
}

Partial::Partial(const EmitShape* shape, GroupBudget* budget)
    : shape_(shape),
      budget_(budget),
      n_aggs_(shape->aggs.size()),
      plain_(!shape->raw &&
             std::none_of(shape->presummed.begin(), shape->presummed.end(), [](bool b) { return b; })) {}

template <class Keys>
Partial::Group* Partial::find_or_add(const Keys& keys, size_t hash) {
  if (groups_.size() * 2 >= index_.size()) grow();
  size_t mask = index_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint32_t slot = index_[i];
    if (slot == 0) {
      if (budget_ != nullptr ? !budget_->take(shape_->group_cap) : groups_.size() >= shape_->group_cap)
          [[unlikely]]
        return nullptr;
      index_[i] = static_cast<uint32_t>(groups_.size() + 1);
      return &append(keys, hash);
    }
    Group& g = groups_[slot - 1];
    if (g.hash != hash) continue;
    const Value* gk = keys_.data() + (slot - 1) * shape_->keys;
    bool same = true;
    for (size_t k = 0; k < keys.size() && same; ++k) same = same_key(gk[k], deref(keys[k]));
    if (same) return &g;
  }
}

template <class Keys>
Partial::Group& Partial::append(const Keys& keys, size_t hash) {
  // Over the keys a reset() kept, so that their strings' buffers are reused.
  size_t at = groups_.size() * shape_->keys;
  for (auto&& k : keys) {
    if (at < keys_.size()) {
      keys_[at] = pass(k);
    } else {
      keys_.push_back(pass(k));
    }
    ++at;
  }
  states_.resize(states_.size() + n_aggs_);
  return groups_.emplace_back(Group{hash, 0});
}

void Partial::grow() { rehash(index_.empty() ? 16 : index_.size() * 2); }

void Partial::reserve(size_t groups) {
  groups = std::min<size_t>(groups, shape_->raw ? shape_->raw_cap : shape_->group_cap);
  if (groups <= groups_.size()) return;
  groups_.reserve(groups);
  keys_.reserve(groups * shape_->keys);
  states_.reserve(groups * n_aggs_);
  if (shape_->raw) return;
  size_t n = index_.empty() ? 16 : index_.size();
  while (groups * 2 >= n) n *= 2;
  if (n != index_.size()) rehash(n);
}

void Partial::rehash(size_t n) {
  index_.assign(n, 0);
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    for (size_t i = groups_[gi].hash & (n - 1);; i = (i + 1) & (n - 1)) {
      if (index_[i] == 0) {
        index_[i] = static_cast<uint32_t>(gi + 1);
        break;
      }
    }
  }
}

void Partial::add(const Value* const* keys, const Value* const* inputs, int64_t weight) {
  std::span<const Value* const> key_span(keys, shape_->keys);
  add_hashed(keys, shape_->raw ? 0 : hash_keys(key_span), inputs, weight);
}

void Partial::add_states(AggState* states, const Value* const* inputs, int64_t weight, size_t from) {
  const AggFn* fns = shape_->aggs.data();
  for (size_t i = from, n = n_aggs_; i < n; ++i) {
    AggState& s = states[i];
    const Value& in = *inputs[i];
    if (in.is_null()) continue;  // every aggregate ignores nulls
    s.count += weight;
    switch (fns[i]) {
      case AggFn::kCount: break;
      case AggFn::kSum:
      case AggFn::kAvg:
        // int += int, inline; accumulate() does the rest.
        if (weight == 1 && add_int_inline(s.acc, in)) break;
        overflow_ |= accumulate(s.acc, in, weight);
        break;
      case AggFn::kMin:
        if (s.acc.is_null() || compare(in, s.acc) < 0) s.acc = in;
        break;
      case AggFn::kMax:
        if (s.acc.is_null() || compare(in, s.acc) > 0) s.acc = in;
        break;
      case AggFn::kHist:
      case AggFn::kLhist:
      case AggFn::kQuantile:
      case AggFn::kCountDistinct: add_boxed(fns[i], s, params_of(i), in, weight); break;
    }
  }
}

void Partial::add_slow(const Value* const* keys, size_t hash, const Value* const* inputs, int64_t weight) {
  std::span<const Value* const> key_span(keys, shape_->keys);
  if (plain_) {
    Group* g = find_or_add(key_span, hash);
    if (g == nullptr) {
      dropped_ += static_cast<uint64_t>(weight);
      return;
    }
    g->events += weight;
    add_states(states_of(g), inputs, weight, 0);
    return;
  }
  if (shape_->raw) {
    if (groups_.size() >= shape_->raw_cap) {
      dropped_ += static_cast<uint64_t>(weight);
      return;
    }
    for (int64_t i = 0; i < weight; ++i) append(key_span, 0).events = 1;
    return;
  }
  Group* g = find_or_add(key_span, hash);
  if (g == nullptr) {
    dropped_ += static_cast<uint64_t>(weight);
    return;
  }
  g->events += weight;
  AggState* states = states_of(g);
  for (size_t i = 0; i < shape_->aggs.size(); ++i) {
    AggFn fn = shape_->aggs[i];
    AggState& s = states[i];
    const Value& in = *inputs[i];
    bool presummed = !shape_->presummed.empty() && shape_->presummed[i];
    switch (fn) {
      case AggFn::kCount:
        // COUNT(expr) counts rows where expr is not null; the planner passes
        // `true` for a bare COUNT. Presummed, the input is the count itself.
        if (presummed) {
          if (in.is_int()) s.count += in.as_int();
        } else if (!in.is_null()) {
          s.count += weight;
        }
        break;
      case AggFn::kSum:
      case AggFn::kAvg:
        if (in.is_null()) break;
        s.count += weight;
        overflow_ |= accumulate(s.acc, in, presummed ? 1 : weight);
        break;
      case AggFn::kMin:
      case AggFn::kMax:
        if (in.is_null()) break;
        s.count += weight;
        if (s.acc.is_null() || (fn == AggFn::kMin ? compare(in, s.acc) < 0 : compare(in, s.acc) > 0))
          s.acc = in;
        break;
      case AggFn::kHist:
      case AggFn::kLhist:
      case AggFn::kQuantile:
      case AggFn::kCountDistinct:  // never presummed: the planner does not pre-aggregate boxed states
        if (in.is_null()) break;
        s.count += weight;
        add_boxed(fn, s, params_of(i), in, weight);
        break;
    }
  }
}

const DistParams& Partial::params_of(size_t agg) const {
  static const DistParams kNone;
  return agg < shape_->params.size() ? shape_->params[agg] : kNone;
}

void Partial::add_values(const Value* keys, const Value* inputs, int64_t weight) {
  std::vector<const Value*> k, in;
  for (uint32_t i = 0; i < shape_->keys; ++i) k.push_back(&keys[i]);
  for (size_t i = 0; i < shape_->aggs.size(); ++i) in.push_back(&inputs[i]);
  add(k.data(), in.data(), weight);
}

void Partial::merge_group(std::span<const Value> keys, std::span<const AggState> states, int64_t events) {
  merge_group(keys, shape_->raw ? 0 : hash_keys(keys), states, events);
}

void Partial::merge_group(std::span<const Value> keys, size_t hash, std::span<const AggState> states,
                          int64_t events) {
  if (shape_->raw) {
    if (groups_.size() >= shape_->raw_cap) {
      ++dropped_;
      return;
    }
    append(keys, 0).events = 1;
    return;
  }
  Group* g = find_or_add(keys, hash);
  if (g == nullptr) {
    dropped_ += static_cast<uint64_t>(std::max<int64_t>(events, 0));
    return;
  }
  add_saturating(g->events, events);
  AggState* mine = states_of(g);
  for (size_t i = 0, n = std::min(states.size(), n_aggs_); i < n; ++i) combine_state(i, mine[i], states[i]);
}

void Partial::take_group(std::span<Value> keys, std::span<AggState> states, int64_t events) {
  if (shape_->raw) {
    merge_group(keys, states, events);
    return;
  }
  const size_t before = groups_.size();
  Group* g = find_or_add(keys, hash_keys(keys));  // a new group takes the keys
  if (g == nullptr) {
    dropped_ += static_cast<uint64_t>(std::max<int64_t>(events, 0));
    return;
  }
  add_saturating(g->events, events);
  AggState* mine = states_of(g);
  const size_t n = std::min(states.size(), n_aggs_);
  if (groups_.size() != before) {  // new: what merging into its empty states would make
    for (size_t i = 0; i < n; ++i) mine[i] = std::move(states[i]);
    return;
  }
  for (size_t i = 0; i < n; ++i) combine_state(i, mine[i], states[i]);
}

[[gnu::always_inline]] inline void Partial::merge_states(AggState* mine, const AggState* theirs) {
  for (size_t i = 0; i < n_aggs_; ++i) combine_state(i, mine[i], theirs[i]);
}

[[gnu::always_inline]] inline void Partial::combine_state(size_t i, AggState& m, const AggState& s) {
  const AggFn fn = shape_->aggs[i];
  // SUM and AVG of ints that do not overflow, inline; combine() does the rest.
  if ((fn == AggFn::kSum || fn == AggFn::kAvg) && add_int_inline(m.acc, s.acc)) {
    add_saturating(m.count, s.count);
    return;
  }
  const bool ints = m.acc.is_int() && s.acc.is_int();
  combine(fn, m, s);
  if (ints && m.acc.is_double()) overflow_ = true;  // a sum went past 64 bits
}

void Partial::merge(const Partial& other) {
  if (groups_.empty() && !shape_->raw && budget_ == nullptr && &other != this) {
    copy_groups(other);
  } else {
    merge_groups(other);
  }
  incomplete_ = incomplete_ || other.incomplete_;
  overflow_ = overflow_ || other.overflow_;
  dropped_ += other.dropped_;
}

void Partial::copy_groups(const Partial& other) {
  // Merging into no groups creates each of the other's in its order until
  // the cap, with its states as they are: a copy of the first `n` groups,
  // with no probe per group. The other's index fits them when they are all
  // copied; a capped copy indexes its groups anew.
  const size_t n = std::min<size_t>(other.groups_.size(), shape_->group_cap);
  groups_.assign(other.groups_.begin(), other.groups_.begin() + n);
  // Keys over those a reset() kept (their strings' buffers reused), the
  // rest appended; kept keys past them stay kept.
  const Value* keys = other.keys_.data();
  const size_t n_keys = n * shape_->keys, over = std::min(keys_.size(), n_keys);
  std::copy(keys, keys + over, keys_.begin());
  keys_.insert(keys_.end(), keys + over, keys + n_keys);
  states_.assign(other.states_.begin(), other.states_.begin() + n * n_aggs_);
  if (n == other.groups_.size()) {
    index_ = other.index_;
  } else {
    size_t size = 16;
    while (n * 2 >= size) size *= 2;
    rehash(size);
  }
  for (size_t i = n; i < other.groups_.size(); ++i) {
    dropped_ += static_cast<uint64_t>(std::max<int64_t>(other.groups_[i].events, 0));
  }
}

void Partial::merge_groups(const Partial& other) {
  // Room for the other's groups at once (up to the cap), not a rehash per
  // doubling. The hashes are the other partial's, not computed again.
  reserve(std::max(groups_.size(), other.groups_.size()));
  const size_t n = other.groups_.size();
  const Group* from = other.groups_.data();
  if (shape_->raw || index_.empty()) {  // rows, or no room at all (a cap of 0)
    for (size_t i = 0; i < n; ++i) merge_group(other.keys(i), from[i].hash, other.states(i), from[i].events);
    return;
  }
  if (groups_.size() < kMergePrefetchGroups) {  // tables in the cache: fetching ahead only costs
    for (size_t i = 0; i < n; ++i) merge_one(other, i);
    return;
  }
  // Tables past the caches make every probe a miss, three deep (index;
  // group, keys and states; a long key's bytes). So the loop runs ahead of
  // itself, as a hash join does: the index entry of the group 3 * kAhead on
  // is fetched, then (2 * kAhead on, now cached) the group it points to,
  // then (kAhead on) its keys' bytes and the other's, and the group at hand
  // finds its lines arrived. A prefetch is a hint only: one made stale by a
  // rehash or a collision costs nothing but the hint.
  constexpr size_t kAhead = 4;
  const size_t n_keys = shape_->keys;
  for (size_t i = 0; i < n; ++i) {
    // Read again each time: a merge_group that adds a group may grow them.
    const uint32_t* index = index_.data();
    const size_t mask = index_.size() - 1;
    if (i + 3 * kAhead < n) __builtin_prefetch(&index[from[i + 3 * kAhead].hash & mask]);
    if (i + 2 * kAhead < n) {
      if (const uint32_t slot = index[from[i + 2 * kAhead].hash & mask]) {
        const size_t g = slot - 1;
        __builtin_prefetch(&groups_[g]);
        if (n_keys != 0) {  // a group's keys and states may straddle two lines
          __builtin_prefetch(keys_.data() + g * n_keys);
          __builtin_prefetch(keys_.data() + (g + 1) * n_keys - 1);
        }
        if (n_aggs_ != 0) {
          __builtin_prefetch(states_.data() + g * n_aggs_);
          __builtin_prefetch(states_.data() + (g + 1) * n_aggs_ - 1);
        }
      }
    }
    if (i + kAhead < n) {
      const Value* theirs = other.keys_.data() + (i + kAhead) * n_keys;
      for (size_t j = 0; j < n_keys; ++j) {
        if (theirs[j].is_string()) __builtin_prefetch(theirs[j].as_string().data());
      }
      if (const uint32_t slot = index[from[i + kAhead].hash & mask]) {
        const Value* k = keys_.data() + (slot - 1) * n_keys;
        for (size_t j = 0; j < n_keys; ++j) {
          if (k[j].is_string()) __builtin_prefetch(k[j].as_string().data());
        }
      }
    }
    merge_one(other, i);
  }
}

[[gnu::always_inline]] inline void Partial::merge_one(const Partial& other, size_t i) {
  const Group& from = other.groups_[i];
  const Value* keys = other.keys_.data() + i * shape_->keys;
  const AggState* states = other.states_.data() + i * n_aggs_;
  if (Group* g = find_group(keys, from.hash)) {
    add_saturating(g->events, from.events);
    merge_states(states_of(g), states);
  } else {  // a new group: the cap's
    merge_group({keys, shape_->keys}, from.hash, {states, n_aggs_}, from.events);
  }
}

[[gnu::always_inline]] inline Partial::Group* Partial::find_group(const Value* keys, size_t hash) {
  const uint32_t* index = index_.data();
  const size_t mask = index_.size() - 1;
  const size_t n = shape_->keys;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const uint32_t slot = index[i];
    if (slot == 0) return nullptr;
    Group& g = groups_[slot - 1];
    if (g.hash != hash) continue;
    const Value* gk = keys_.data() + (slot - 1) * n;
    size_t k = 0;
    while (k < n && same_key(gk[k], keys[k])) ++k;
    if (k == n) return &g;
  }
}

void Partial::clear() {
  // Give the memory back, not just the elements: a partial that held many
  // groups once should not keep their room for the rest of the query.
  Groups().swap(groups_);
  decltype(keys_)().swap(keys_);
  decltype(states_)().swap(states_);
  decltype(index_)().swap(index_);
  incomplete_ = false;
  overflow_ = false;
  dropped_ = 0;
}

void Partial::reset() {
  groups_.clear();
  // keys_ stays: the next groups' keys are assigned over these (append,
  // copy_groups), long strings into the buffers they already have.
  states_.clear();
  std::fill(index_.begin(), index_.end(), 0);
  incomplete_ = false;
  overflow_ = false;
  dropped_ = 0;
}

std::vector<std::vector<Value>> Partial::rows() const {
  std::vector<std::vector<Value>> out;
  out.reserve(groups_.size());
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    std::span<const Value> k = keys(gi);
    std::span<const AggState> st = states(gi);
    std::vector<Value> row(k.begin(), k.end());
    for (size_t i = 0; i < st.size(); ++i) {
      row.push_back(final_value(shape_->aggs[i], st[i], params_of(i)));
    }
    out.push_back(std::move(row));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  });
  return out;
}

}  // namespace pivot::aggregate
