#include "core/value_ops.h"

#include <cmath>
#include <limits>

namespace pivot {
namespace {

template <class IntOp, class DoubleOp>
Value arith(const Value& a, const Value& b, IntOp int_op, DoubleOp double_op) {
  if (!a.is_number() || !b.is_number()) return Value();
  if (a.is_int() && b.is_int()) {
    int64_t out;
    if (!int_op(a.as_int(), b.as_int(), &out)) return double_op(a.to_double(), b.to_double());
    return Value(out);
  }
  return double_op(a.to_double(), b.to_double());
}

}  // namespace

Value value_add(const Value& a, const Value& b) {
  return arith(
      a, b, [](int64_t x, int64_t y, int64_t* o) { return !__builtin_add_overflow(x, y, o); },
      [](double x, double y) { return Value(x + y); });
}

Value value_sub(const Value& a, const Value& b) {
  return arith(
      a, b, [](int64_t x, int64_t y, int64_t* o) { return !__builtin_sub_overflow(x, y, o); },
      [](double x, double y) { return Value(x - y); });
}

Value value_mul(const Value& a, const Value& b) {
  return arith(
      a, b, [](int64_t x, int64_t y, int64_t* o) { return !__builtin_mul_overflow(x, y, o); },
      [](double x, double y) { return Value(x * y); });
}

Value value_div(const Value& a, const Value& b) {
  if (b.is_number() && b.to_double() == 0) return Value();
  return arith(
      a, b,
      [](int64_t x, int64_t y, int64_t* o) {
        if (x == std::numeric_limits<int64_t>::min() && y == -1) return false;
        *o = x / y;
        return true;
      },
      [](double x, double y) { return Value(x / y); });
}

Value value_mod(const Value& a, const Value& b) {
  if (b.is_number() && b.to_double() == 0) return Value();
  return arith(
      a, b,
      [](int64_t x, int64_t y, int64_t* o) {
        *o = (y == -1) ? 0 : x % y;
        return true;
      },
      [](double x, double y) { return Value(std::fmod(x, y)); });
}

Value value_neg(const Value& a) { return value_sub(Value(int64_t{0}), a); }

}  // namespace pivot
