// Arithmetic on Values, shared by advice expressions and aggregation.
//
// int op int stays int (overflow falls back to double); a double on either
// side gives double; null on either side, a non-number, or division by zero
// gives null. int / int truncates toward zero, as in C++.
#pragma once

#include "pivot/value.h"

namespace pivot {

Value value_add(const Value& a, const Value& b);
Value value_sub(const Value& a, const Value& b);
Value value_mul(const Value& a, const Value& b);
Value value_div(const Value& a, const Value& b);
Value value_mod(const Value& a, const Value& b);
Value value_neg(const Value& a);

}  // namespace pivot
