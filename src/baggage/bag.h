// The advice side of baggage: PACK and UNPACK on the current thread's
// baggage. Not public API.
//
// A baggage holds bags; a bag is identified by a 64-bit id that the query
// planner derives from the query and the joined variable, and holds tuples
// (vectors of Values) packed according to a BagSpec. Every tuple (entry) has
// a random 64-bit id and a Lamport sequence number (one more than the highest
// in the baggage when it was packed), so that:
//   - fork marks all entries shared; an entry is only ever changed (by
//     pre-aggregation) while it is not shared, so two copies of an entry
//     with one id are identical and join keeps one;
//   - First/MostRecent choose by sequence number, then by id, which is
//     deterministic after any fork/join history.
//
// Pack modes in detail (docs/baggage.md has the reasoning):
//   kAll         append.
//   kFirst*      dropped when the bag already has >= n entries.
//   kMostRecent* append, then evict the entries that have n later ones in
//                the bag, shared or not (no join can bring them back into
//                the n latest, since a join only adds entries).
//   kAggregate   combine into an unshared entry whose first `keys` fields
//                equal the tuple's (by pivot::compare, so 3 == 3.0) and
//                whose arity is the tuple's; else append. Field keys + i
//                combines with combine[i]; fields without an op keep the
//                entry's value. Null is the identity; kSum keeps int + int
//                an int (double on overflow), else sums as double.
//
// Storage, encoding and the cap: bag_data.h, wire.h, pack.h.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "pivot/baggage.h"
#include "pivot/value.h"

namespace pivot::internal {

using Tuple = std::vector<Value>;

enum class PackMode : uint8_t {
  kAll,          // keep every tuple
  kFirst,        // keep the earliest tuple (n = 1)
  kMostRecent,   // keep the latest tuple (n = 1)
  kFirstN,       // keep the n earliest
  kMostRecentN,  // keep the n latest
  kAggregate,    // pre-aggregate: first `keys` fields are a group key; the
                 // rest are combined with `combine[i]` per key
};

enum class Combine : uint8_t { kSum, kMin, kMax };

struct BagSpec {
  uint64_t bag_id = 0;
  PackMode mode = PackMode::kAll;
  uint32_t n = 0;                // kFirst*/kMostRecent*: how many to keep
  uint32_t keys = 0;             // kAggregate: number of key fields
  std::vector<Combine> combine;  // kAggregate: one per non-key field
};

// Packs one tuple into the current thread's baggage. Never throws; on
// overflow of the byte cap the tuple is dropped and the baggage marked.
void bag_pack(const BagSpec& spec, std::span<const Value> tuple) noexcept;

// The tuples of bag `spec.bag_id` visible now, in sequence order, after the
// spec's selection (First/MostRecent/N) and, for kAggregate, with entries of
// equal key combined (one tuple per key, in order of first appearance).
// Returns false when the bag is absent or empty. `*overflowed` (if not null)
// is set to whether the baggage dropped tuples. `out` is overwritten,
// reusing the capacity of the vector and of the tuples already in it, so a
// caller that keeps `out` unpacks without allocating. Reading an empty
// baggage is one thread-local load and allocates nothing.
bool bag_unpack(const BagSpec& spec, std::vector<Tuple>& out, bool* overflowed) noexcept;

struct BagAccess;  // defined in bag_data.h

}  // namespace pivot::internal
