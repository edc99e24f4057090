#include "baggage/bag_data.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>

namespace pivot::internal {

namespace {

// The recycling cache. Trivially destructible thread-locals; CacheReaper
// frees what is cached at thread exit and is touched only on the first
// recycle, since touching it costs an init-guard check.
constexpr int kCacheSlots = 2;
constexpr size_t kMaxCachedArena = 1024;
constexpr size_t kMaxCachedEntries = 32;
constinit thread_local BagData* t_cache[kCacheSlots] = {};
constinit thread_local int t_cached = 0;
constinit thread_local bool t_cache_armed = false;
constinit thread_local bool t_cache_closed = false;

struct CacheReaper {
  bool armed = false;
  ~CacheReaper() {
    if (!armed) return;
    t_cache_closed = true;
    while (t_cached > 0) delete t_cache[--t_cached];
  }
};
thread_local CacheReaper t_cache_reaper;

[[gnu::noinline, gnu::cold]] void arm_cache_reaper() noexcept {
  t_cache_armed = true;
  t_cache_reaper.armed = true;
}

// Behind the per-thread caches, a few BagData for any thread. A baggage
// made on one thread and dropped last on another (a server that reads each
// request on its connection's thread and serves it on a pool thread) fills
// the second thread's cache and empties the first's; through the stash
// both stay off malloc. Only ever try-locked: a thread that finds it busy
// goes to malloc instead, so it never waits, and a child of fork() whose
// parent was changing it abandons it (reset_stash_in_child).
constexpr int kStashSlots = 16;
struct Stash {
  std::atomic<bool> busy{false};
  std::atomic<int> count{0};  // changed under `busy`; read without it as a hint
  BagData* items[kStashSlots] = {};
};
constinit Stash g_stash;

bool lock_stash() noexcept { return !g_stash.busy.exchange(true, std::memory_order_acquire); }
void unlock_stash() noexcept { g_stash.busy.store(false, std::memory_order_release); }

bool stash_put(BagData* d) noexcept {
  if (g_stash.count.load(std::memory_order_relaxed) == kStashSlots || !lock_stash()) return false;
  int n = g_stash.count.load(std::memory_order_relaxed);
  bool room = n < kStashSlots;
  if (room) {
    g_stash.items[n] = d;
    g_stash.count.store(n + 1, std::memory_order_relaxed);
  }
  unlock_stash();
  return room;
}

BagData* stash_take() noexcept {
  if (g_stash.count.load(std::memory_order_relaxed) == 0 || !lock_stash()) return nullptr;
  int n = g_stash.count.load(std::memory_order_relaxed);
  BagData* d = nullptr;
  if (n > 0) {
    d = g_stash.items[n - 1];
    g_stash.count.store(n - 1, std::memory_order_relaxed);
  }
  unlock_stash();
  return d;
}

// In a child of fork(): the parent's other threads are gone. If one was
// halfway through a change of the stash, what it held is left to leak.
void reset_stash_in_child() noexcept {
  if (!g_stash.busy.load(std::memory_order_relaxed)) return;
  g_stash.count.store(0, std::memory_order_relaxed);
  g_stash.busy.store(false, std::memory_order_relaxed);
}

}  // namespace

void BagDataDeleter::operator()(BagData* d) const noexcept {
  if (!drop_holder(d)) return;
  if (d->arena.capacity() > kMaxCachedArena || d->entries.capacity() > kMaxCachedEntries) {
    delete d;
    return;
  }
  d->entries.clear();
  d->arena.clear();
  d->kept.valid = false;
  d->garbage = 0;
  d->body = 0;
  d->max_seq = 0;
  d->n_bags = 0;
  d->overflow = false;
  if (t_cached < kCacheSlots && !t_cache_closed) {
    if (!t_cache_armed) [[unlikely]] {
      arm_cache_reaper();
    }
    t_cache[t_cached++] = d;
    return;
  }
  if (!stash_put(d)) delete d;
}

BagPtr make_bag_data() {
  if (t_cached > 0) return BagPtr(t_cache[--t_cached]);
  if (BagData* d = stash_take()) return BagPtr(d);
  return BagPtr(new BagData);
}

// own()'s copy, when others hold d.
BagData& own_copy(BagPtr& d) {
  BagPtr copy = make_bag_data();
  copy->entries = d->entries;
  if (d->garbage == 0) {
    copy->arena = d->arena;
  } else {
    copy->arena.reserve(d->arena.size() - d->garbage);
    for (Entry& e : copy->entries) {
      uint32_t offset = static_cast<uint32_t>(copy->arena.size());
      copy->arena.append(d->values(e));
      e.offset = offset;
    }
  }
  copy->body = d->body;
  copy->max_seq = d->max_seq;
  copy->n_bags = d->n_bags;
  copy->overflow = d->overflow;
  mark_shared(*copy);
  d = std::move(copy);  // drops the hold on the original
  return *d;
}

Range bag_range(const BagData& d, uint64_t bag_id) noexcept {
  auto first = std::lower_bound(d.entries.begin(), d.entries.end(), bag_id,
                                [](const Entry& e, uint64_t id) { return e.bag_id < id; });
  auto last = first;
  while (last != d.entries.end() && last->bag_id == bag_id) ++last;
  return {static_cast<size_t>(first - d.entries.begin()), static_cast<size_t>(last - d.entries.begin())};
}

void recount(BagData& d) noexcept {
  size_t body = 0;
  uint32_t n_bags = 0;
  const std::vector<Entry>& es = d.entries;
  for (size_t i = 0; i < es.size();) {
    size_t j = i;
    while (j < es.size() && es[j].bag_id == es[i].bag_id) body += entry_wire_size(es[j++]);
    body += bag_header_size(es[i].bag_id, j - i);
    ++n_bags;
    i = j;
  }
  d.body = body;
  d.n_bags = n_bags;
}

void maybe_compact(BagData& d) noexcept {
  if (d.garbage == 0) return;
  if (d.entries.empty()) {
    d.arena.clear();
    d.garbage = 0;
    return;
  }
  if (d.garbage * 2 < d.arena.size()) return;
  std::string arena;
  try {
    arena.reserve(d.arena.size() - d.garbage);
  } catch (...) {
    return;  // compacting is an optimisation; try again next time
  }
  for (Entry& e : d.entries) {
    uint32_t offset = static_cast<uint32_t>(arena.size());
    arena.append(d.values(e));
    e.offset = offset;
  }
  d.arena = std::move(arena);
  d.garbage = 0;
}

void mark_shared(BagData& d) noexcept {
  for (Entry& e : d.entries) e.shared = true;
}

void shrink_to_cap(BagData& d, size_t cap, const std::vector<bool>* prefer_drop) {
  if (d.bytes() <= cap) return;
  std::vector<Entry>& es = d.entries;
  // Per-entry index of its bag, and each bag's live count.
  std::vector<uint32_t> bag_of(es.size());
  std::vector<uint32_t> count;
  for (size_t i = 0; i < es.size(); ++i) {
    if (i == 0 || es[i].bag_id != es[i - 1].bag_id) count.push_back(0);
    bag_of[i] = static_cast<uint32_t>(count.size() - 1);
    ++count.back();
  }
  std::vector<uint32_t> order(es.size());
  for (size_t i = 0; i < es.size(); ++i) order[i] = static_cast<uint32_t>(i);
  auto preferred = [&](uint32_t i) { return prefer_drop != nullptr && (*prefer_drop)[i]; };
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (preferred(a) != preferred(b)) return preferred(a);
    const Entry& x = es[a];
    const Entry& y = es[b];
    if (x.seq != y.seq) return x.seq > y.seq;
    if (x.id != y.id) return x.id > y.id;
    return x.bag_id > y.bag_id;
  });

  std::vector<bool> dropped(es.size(), false);
  size_t body = d.body;
  uint32_t n_bags = d.n_bags;
  auto total = [&] { return 2 + varint_size(n_bags) + body; };  // overflow is set: never the empty encoding
  for (uint32_t i : order) {
    if (total() <= cap) break;
    uint32_t& c = count[bag_of[i]];
    body -= entry_wire_size(es[i]);
    body -= bag_header_size(es[i].bag_id, c);
    --c;
    if (c > 0) {
      body += bag_header_size(es[i].bag_id, c);
    } else {
      --n_bags;
    }
    dropped[i] = true;
    d.garbage += es[i].size;
  }
  size_t out = 0;
  for (size_t i = 0; i < es.size(); ++i) {
    if (!dropped[i]) es[out++] = es[i];
  }
  es.resize(out);
  d.body = body;
  d.n_bags = n_bags;
  d.overflow = true;
  maybe_compact(d);
}

namespace {

// Whether merging `branch` would keep `into`'s entries as they are: every
// branch entry is in `into`, and not as a newer unshared copy of a shared
// one. The common join: a reply from a server that packed nothing.
bool adds_no_entry(const BagData& into, const BagData& branch) noexcept {
  const std::vector<Entry>& a = into.entries;
  size_t i = 0;
  for (const Entry& e : branch.entries) {
    while (i < a.size() && entry_less(a[i], e)) ++i;
    if (i == a.size() || !same_entry(a[i], e) || (a[i].shared && !e.shared)) return false;
    ++i;
  }
  return true;
}

}  // namespace

void merge(BagData& into, const BagData& branch, size_t cap) {
  if (adds_no_entry(into, branch)) {
    // Only the clock and the mark can change: no copy, no allocation.
    into.max_seq = std::max(into.max_seq, branch.max_seq);
    into.overflow = into.overflow || branch.overflow;
    shrink_to_cap(into, cap);
    return;
  }
  const std::vector<Entry>& a = into.entries;
  const std::vector<Entry>& b = branch.entries;
  std::vector<Entry> out;
  out.reserve(a.size() + b.size());
  std::vector<bool> from_branch;
  from_branch.reserve(a.size() + b.size());
  // Branch values that are kept go to the end of into's arena. Copy them
  // into a separate string first so that a failed allocation leaves `into`
  // untouched.
  std::string extra;
  size_t replaced = 0;  // bytes of into's copies superseded by the branch's
  auto take_branch = [&](const Entry& e) {
    Entry copy = e;
    copy.offset = static_cast<uint32_t>(into.arena.size() + extra.size());
    extra.append(branch.values(e));
    out.push_back(copy);
  };
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && entry_less(a[i], b[j]))) {
      out.push_back(a[i++]);
      from_branch.push_back(false);
    } else if (i == a.size() || entry_less(b[j], a[i])) {
      take_branch(b[j++]);
      from_branch.push_back(true);
    } else {
      // One entry, two copies. Only an unshared copy can have been
      // aggregated into, so it is the newer one; shared copies are equal.
      if (a[i].shared && !b[j].shared) {
        replaced += a[i].size;
        take_branch(b[j]);
      } else {
        out.push_back(a[i]);
      }
      from_branch.push_back(false);
      ++i;
      ++j;
    }
  }
  into.arena.append(extra);  // the last allocation that can fail
  into.garbage += replaced;
  into.entries = std::move(out);
  into.max_seq = std::max(into.max_seq, branch.max_seq);
  into.overflow = into.overflow || branch.overflow;
  recount(into);
  shrink_to_cap(into, cap, &from_branch);
  maybe_compact(into);
}

namespace {

constinit thread_local uint64_t t_rng_state = 0;
std::atomic<uint64_t> g_rng_threads{0};

uint64_t splitmix64_mix(uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

[[gnu::noinline, gnu::cold]] void seed_rng() noexcept {
  uint64_t seed = reinterpret_cast<uintptr_t>(&t_rng_state);
  seed ^= splitmix64_mix(static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  seed ^= splitmix64_mix(static_cast<uint64_t>(::gettid()) << 32 | static_cast<uint64_t>(::getpid()));
  seed ^= splitmix64_mix(g_rng_threads.fetch_add(1, std::memory_order_relaxed) + 0x5851f42d4c957f2dull);
  t_rng_state = seed == 0 ? 1 : seed;
}

// A child made by fork() would go on with the parent's sequence (the state
// is the calling thread's, copied), and its siblings with the same one: the
// same entry ids, W3C trace ids and span ids in different processes, so
// that joining their baggage counts distinct tuples once. The child seeds
// anew (seed_rng mixes in its pid).
void reseed_after_fork() noexcept { t_rng_state = 0; }

void after_fork_in_child() noexcept {
  reseed_after_fork();
  reset_stash_in_child();
}
[[maybe_unused]] const int g_fork_handler = pthread_atfork(nullptr, nullptr, after_fork_in_child);

}  // namespace

uint64_t next_random64() noexcept {
  if (t_rng_state == 0) [[unlikely]] {
    seed_rng();
  }
  t_rng_state += 0x9e3779b97f4a7c15ull;
  return splitmix64_mix(t_rng_state);
}

// 31 random bits with bit 31 set: every id is a 5-byte varint, so an
// entry's size does not depend on its id.
uint64_t next_entry_id() noexcept { return (next_random64() >> 33) | (uint64_t{1} << 31); }

void seed_entry_ids_for_testing(uint64_t seed) noexcept { t_rng_state = seed == 0 ? 1 : seed; }

std::string check_invariants(const BagData& d) {
  const std::vector<Entry>& es = d.entries;
  uint64_t max_seq = 0;
  size_t live = 0;
  for (size_t i = 0; i < es.size(); ++i) {
    const Entry& e = es[i];
    if (i > 0 && !entry_less(es[i - 1], e)) return "entries not sorted at " + std::to_string(i);
    if (static_cast<size_t>(e.offset) + e.size > d.arena.size())
      return "entry outside arena at " + std::to_string(i);
    ByteReader r(d.values(e));
    for (uint32_t v = 0; v < e.n_values; ++v) {
      if (!r.skip_value()) return "bad values at " + std::to_string(i) + ": " + r.error_message();
    }
    if (!r.at_end()) return "values longer than n_values at " + std::to_string(i);
    max_seq = std::max(max_seq, e.seq);
    live += e.size;
  }
  if (d.max_seq < max_seq) return "max_seq below an entry's seq";
  if (live + d.garbage != d.arena.size()) {
    return "arena accounting: live " + std::to_string(live) + " + garbage " + std::to_string(d.garbage) +
           " != " + std::to_string(d.arena.size());
  }
  BagData copy;
  copy.entries = es;
  recount(copy);
  if (copy.body != d.body || copy.n_bags != d.n_bags) {
    return "size accounting: body " + std::to_string(d.body) + " (expected " + std::to_string(copy.body) +
           "), bags " + std::to_string(d.n_bags) + " (expected " + std::to_string(copy.n_bags) + ")";
  }
  return "";
}

}  // namespace pivot::internal
