// Arithmetic on Values, shared by advice expressions and aggregation.
//
// int op int stays int (overflow falls back to double); a double on either
// side gives double; null on either side, a non-number, or division by zero
// gives null. int / int truncates toward zero, as in C++.
#pragma once

#include <cstdint>
#include <limits>

#include "pivot/value.h"

namespace pivot {

// a += b for counts (events, rows, bucket counts) that a hostile report or a
// long-running total could push past 64 bits: they stop at the limit rather
// than wrap.
inline void add_saturating(int64_t& a, int64_t b) noexcept {
  if (__builtin_add_overflow(a, b, &a))
    a = b < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
}

Value value_add(const Value& a, const Value& b);
Value value_sub(const Value& a, const Value& b);
Value value_mul(const Value& a, const Value& b);
Value value_div(const Value& a, const Value& b);
Value value_mod(const Value& a, const Value& b);
Value value_neg(const Value& a);

}  // namespace pivot
