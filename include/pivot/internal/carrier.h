// What the inject/extract templates (pivot/baggage.h, pivot/trace_context.h)
// need from pivot/carrier.h. Not public API.
#pragma once

#include "pivot/carrier.h"

namespace pivot::internal {

// The carrier inject/extract use for what they are given: a map is wrapped,
// a carrier is used as it is (by reference).
template <class C>
decltype(auto) as_carrier(C& c) {
  if constexpr (StringMap<C>)
    return MapCarrier<C>(c);
  else
    return (c);
}

}  // namespace pivot::internal
