// The storage behind a pivot::Baggage, and the operations on it that do not
// depend on which baggage is current (the thread-local lives in baggage.cc).
//
// Layout: one flat vector of entries sorted by (bag_id, seq, id), so a bag is
// a contiguous range and its entries are already in the order First/
// MostRecent select by; and one arena string holding every entry's values in
// their wire encoding (core/codec.h), back to back. Encoding is then a walk
// plus memcpy, decoding a validation plus memcpy, and the byte size the cap
// counts is known at all times without encoding anything.
//
// An entry is identified by (bag_id, seq, id): seq is fixed when the entry
// is packed, so two copies of one entry always sort next to each other,
// which makes join a single merge of two sorted vectors.
//
// Copies share: a copy of a Baggage (a fork, a pooled task's) holds the
// same BagData, counted in `holders`, and a holder that would change it
// while others hold it changes a copy of its own instead (own()).
//
// Thread safety: holders may be on different threads and read at once. Only
// the one holder of a BagData changes it; adding and dropping holders is
// atomic.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "pivot/baggage.h"

namespace pivot::internal {

// Wire format constants (docs/baggage.md has the byte-by-byte layout).
// Encoders write version 2; decoders also read version 1.
inline constexpr uint8_t kWireVersion = 2;
inline constexpr uint8_t kWireVersion1 = 1;
inline constexpr uint8_t kOverflowFlag = 0x01;  // header flags
inline constexpr uint8_t kV1SharedFlag = 0x01;  // version 1's entry flags
// Smallest possible encodings, used to reject counts that the remaining
// bytes cannot hold before allocating anything for them.
inline constexpr size_t kMinEntryBytes = 1 + 1 + 1;             // seq, id, n_values
inline constexpr size_t kMinEntryBytesV1 = 8 + 1 + 1 + 1;       // id, seq, flags, n_values
inline constexpr size_t kMinBagBytes = 1 + 1 + kMinEntryBytes;  // bag_id, count, one entry
inline constexpr size_t kMinBagBytesV1 = 1 + 1 + kMinEntryBytesV1;
// Input limits: text beyond kMaxTextBytes is rejected before any work;
// kMaxBinaryBytes is the binary size whose base64url is exactly that long.
// The byte cap is clamped to kMaxBinaryBytes so that whatever one process
// encodes, another can decode.
inline constexpr size_t kMaxTextBytes = 64 * 1024;
inline constexpr size_t kMaxBinaryBytes = kMaxTextBytes / 4 * 3;
// The default cap is the largest binary size whose base64url text (4090
// characters) fits, as "pivot=<text>", in 4096 bytes: OpenTelemetry drops a
// W3C baggage entry longer than that.
inline constexpr size_t kDefaultByteCap = 3067;

struct Entry {
  uint64_t bag_id;
  uint64_t seq;     // Lamport time at pack
  uint64_t id;      // random: 32 bits when packed here, 64 from a version 1 sender
  uint32_t offset;  // of the encoded values in BagData::arena
  uint32_t size;    // bytes of encoded values
  uint32_t n_values;
  bool shared;  // may exist in another branch: never change it in place
};

inline bool entry_less(const Entry& a, const Entry& b) noexcept {
  if (a.bag_id != b.bag_id) return a.bag_id < b.bag_id;
  if (a.seq != b.seq) return a.seq < b.seq;
  return a.id < b.id;
}
inline bool same_entry(const Entry& a, const Entry& b) noexcept {
  return a.bag_id == b.bag_id && a.seq == b.seq && a.id == b.id;
}

// Wire bytes of one entry: seq, id, n_values, values.
inline size_t entry_wire_size(const Entry& e) noexcept {
  return varint_size(e.seq) + varint_size(e.id) + varint_size(e.n_values) + e.size;
}
// Wire bytes of a bag's header: bag_id, count.
inline size_t bag_header_size(uint64_t bag_id, size_t count) noexcept {
  return varint_size(bag_id) + varint_size(count);
}

// A BagData's binary encoding once made (or decoded), while its tuples stay
// as they are: an unchanged baggage, sent on every RPC of a request or
// forwarded by a server, re-encodes as a copy. Kept inline, and only when it
// fits, as a baggage of a few tuples does: keeping it then costs one small
// memcpy and never allocates.
struct KeptEncoding {
  static constexpr size_t kCapacity = 128;
  bool valid = false;
  uint32_t size = 0;
  char bytes[kCapacity];

  std::string_view view() const noexcept { return {bytes, size}; }
  // Keeps `b` if it fits (b may already be in `bytes`).
  void keep(std::string_view b) noexcept {
    if (b.size() > kCapacity) return;
    if (b.data() != bytes) std::memcpy(bytes, b.data(), b.size());
    size = static_cast<uint32_t>(b.size());
    valid = true;
  }
};

struct BagData {
  std::vector<Entry> entries;  // sorted by entry_less; no bag is empty
  std::string arena;           // encoded values of the entries
  size_t garbage = 0;          // arena bytes that no entry refers to
  size_t body = 0;             // wire bytes of all bags (headers + entries)
  uint64_t max_seq = 0;        // Lamport clock: highest seq ever seen here
  uint32_t n_bags = 0;
  bool overflow = false;
  std::atomic<uint32_t> holders{1};  // the Baggage (or current pointers) sharing it
  // A cache, written only by the sole holder: own() forgets it, and
  // encoding or decoding fills it.
  mutable KeptEncoding kept;

  bool empty() const noexcept { return entries.empty() && !overflow; }
  // Exact size of the binary encoding.
  size_t bytes() const noexcept { return empty() ? 0 : 2 + varint_size(n_bags) + body; }
  std::string_view values(const Entry& e) const noexcept {
    return std::string_view(arena).substr(e.offset, e.size);
  }
};

// BagData objects are recycled per thread (a couple, with their capacity)
// so that a request's pack -> encode -> decode -> unpack path does not go
// to malloc for them; BagDataDeleter hands them back.
using BagPtr = std::unique_ptr<BagData, BagDataDeleter>;
// An empty BagData, recycled if the thread has one. Throws std::bad_alloc.
BagPtr make_bag_data();

// One more holder of d: what copying a Baggage costs.
inline BagData* share(BagData* d) noexcept {
  d->holders.fetch_add(1, std::memory_order_relaxed);
  return d;
}
// Whether the caller, a holder of d, is its only one and may change it. No
// one else can become a holder meanwhile: that takes a holder's copy.
inline bool sole_holder(const BagData& d) noexcept { return d.holders.load(std::memory_order_acquire) == 1; }
// Drops the caller's hold on d; true if it was the last, and d is the
// caller's to free. The sole holder drops without an atomic write.
inline bool drop_holder(BagData* d) noexcept {
  if (sole_holder(*d)) return true;
  if (d->holders.fetch_sub(1, std::memory_order_acq_rel) != 1) return false;
  d->holders.store(1, std::memory_order_relaxed);
  return true;
}
// The BagData the caller, a holder of d, may change: d itself when it is
// the only holder; else a copy (without arena garbage), which replaces d in
// `d` and whose entries are all shared, since the other holders keep them.
// Either way its kept encoding is forgotten. Throws std::bad_alloc, leaving
// d as it was.
BagData& own_copy(BagPtr& d);
inline BagData& own(BagPtr& d) {
  if (!sole_holder(*d)) return own_copy(d);
  d->kept.valid = false;
  return *d;
}
// Drops the hold without recycling: for thread-exit paths. Null: nothing.
inline void free_bag_data(BagData* d) noexcept {
  if (d != nullptr && drop_holder(d)) delete d;
}

// The friend of Baggage that reaches its data.
struct BagAccess {
  static BagData* get(const Baggage& b) noexcept { return b.data_.get(); }
  static BagPtr& data(Baggage& b) noexcept { return b.data_; }
  static Baggage make(BagPtr d) noexcept {
    Baggage b;
    b.data_ = std::move(d);
    return b;
  }
};

// [first, last) of bag `bag_id` in d.entries (first == last if absent).
struct Range {
  size_t first, last;
  size_t size() const noexcept { return last - first; }
};
Range bag_range(const BagData& d, uint64_t bag_id) noexcept;

// Recomputes body and n_bags from the entries.
void recount(BagData& d) noexcept;
// Rewrites the arena without garbage when garbage is over half of it (or
// not at all if that allocation fails).
void maybe_compact(BagData& d) noexcept;
// Every entry becomes shared (the baggage is being forked or sent).
void mark_shared(BagData& d) noexcept;

// Drops entries until d.bytes() <= cap, and sets d.overflow if it dropped
// any. Deterministic: entries with prefer_drop[i] set go first, then the
// rest, each group by highest (seq, id, bag_id) first.
void shrink_to_cap(BagData& d, size_t cap, const std::vector<bool>* prefer_drop = nullptr);

// Merges `branch` into `into`: union by entry, keeping one copy of an entry
// present in both (the unshared copy if one is, since only an unshared copy
// can have been pre-aggregated into; else `into`'s), Lamport max, overflow
// OR-ed, then the cap enforced dropping branch-only entries first.
void merge(BagData& into, const BagData& branch, size_t cap);

// A fresh random entry id of 32 bits, 31 of them random (splitmix64,
// per-thread state), always a 5-byte varint. An id only tells apart entries
// of one bag packed with the same seq on branches that ran concurrently:
// a 2^-31 chance of a clash per such pair.
uint64_t next_entry_id() noexcept;
// 64 random bits from the same per-thread state (trace_context's span ids).
uint64_t next_random64() noexcept;
// Makes the calling thread's entry ids reproducible (tests only).
void seed_entry_ids_for_testing(uint64_t seed) noexcept;

// Checks every invariant above (tests and the fuzzer); "" when all hold,
// else what is wrong.
std::string check_invariants(const BagData& d);

}  // namespace pivot::internal
