// PACK and UNPACK on one BagData, whichever baggage it belongs to; the
// entry points on the current thread's baggage (bag.h) call these.
//
// Thread safety: pack changes the BagData, so the caller is its only holder
// (own()); unpack only reads it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "baggage/bag.h"
#include "baggage/bag_data.h"

namespace pivot::internal {

// How many entries a First/MostRecent spec keeps (kFirst and kMostRecent
// keep 1 whatever spec.n says); unlimited for kAll and kAggregate.
inline uint32_t keep_count(const BagSpec& spec) noexcept {
  switch (spec.mode) {
    case PackMode::kFirst:
    case PackMode::kMostRecent: return 1;
    case PackMode::kFirstN:
    case PackMode::kMostRecentN: return spec.n;
    case PackMode::kAll:
    case PackMode::kAggregate: break;
  }
  return UINT32_MAX;
}

// Packs `tuple` per `spec`. A pack that would take d.bytes() past `cap` is
// dropped and sets d.overflow. Strong exception guarantee: if an allocation
// fails, d is unchanged.
void pack(BagData& d, const BagSpec& spec, std::span<const Value> tuple, size_t cap);

// bag_unpack's work (see bag.h). Reuses the capacity of `out` and of the
// tuples already in it.
bool unpack(const BagData& d, const BagSpec& spec, std::vector<Tuple>& out);

// acc = acc (op) x. Null is the identity; kSum keeps int + int an int
// (falling back to double on overflow), anything else sums as double (a
// non-number counts as 0); kMin/kMax order by pivot::compare.
void combine_into(Combine op, Value& acc, const Value& x);

}  // namespace pivot::internal
