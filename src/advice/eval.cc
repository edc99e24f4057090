#include "advice/program.h"
#include "core/value_ops.h"

namespace pivot::advice {
namespace {

// Comparison of two values: null compares unequal to everything (so a
// missing export never matches); numbers by value; other types must match.
Value compare_op(Op op, const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return Value(op == Op::kNe);
  bool comparable = (a.is_number() && b.is_number()) || a.type() == b.type();
  if (!comparable) return Value(op == Op::kNe);
  int c = compare(a, b);
  switch (op) {
    case Op::kEq: return Value(c == 0);
    case Op::kNe: return Value(c != 0);
    case Op::kLt: return Value(c < 0);
    case Op::kLe: return Value(c <= 0);
    case Op::kGt: return Value(c > 0);
    case Op::kGe: return Value(c >= 0);
    default: return Value();
  }
}

}  // namespace

Value eval(const Expr& e, const Value* regs) {
  switch (e.kind) {
    case Expr::Kind::kConst: return e.constant;
    case Expr::Kind::kReg: return regs[e.reg];
    case Expr::Kind::kUnary: {
      Value a = eval(*e.a, regs);
      if (e.op == Op::kNot) return a.is_bool() ? Value(!a.as_bool()) : Value();
      return value_neg(a);
    }
    case Expr::Kind::kBinary: {
      if (e.op == Op::kAnd) {
        Value a = eval(*e.a, regs);
        if (!a.truthy()) return Value(false);
        return Value(eval(*e.b, regs).truthy());
      }
      if (e.op == Op::kOr) {
        Value a = eval(*e.a, regs);
        if (a.truthy()) return Value(true);
        return Value(eval(*e.b, regs).truthy());
      }
      Value a = eval(*e.a, regs);
      Value b = eval(*e.b, regs);
      if (a.is_int() && b.is_int()) {  // the common case, without the general path's conversions
        int64_t x = a.as_int(), y = b.as_int(), r;
        switch (e.op) {
          case Op::kAdd:
            if (!__builtin_add_overflow(x, y, &r)) return Value(r);
            break;
          case Op::kSub:
            if (!__builtin_sub_overflow(x, y, &r)) return Value(r);
            break;
          case Op::kMul:
            if (!__builtin_mul_overflow(x, y, &r)) return Value(r);
            break;
          case Op::kDiv:
          case Op::kMod:
            if (y != 0 && y != -1) return Value(e.op == Op::kDiv ? x / y : x % y);
            break;
          case Op::kEq: return Value(x == y);
          case Op::kNe: return Value(x != y);
          case Op::kLt: return Value(x < y);
          case Op::kLe: return Value(x <= y);
          case Op::kGt: return Value(x > y);
          case Op::kGe: return Value(x >= y);
          default: break;
        }
      }
      switch (e.op) {
        case Op::kAdd: return value_add(a, b);
        case Op::kSub: return value_sub(a, b);
        case Op::kMul: return value_mul(a, b);
        case Op::kDiv: return value_div(a, b);
        case Op::kMod: return value_mod(a, b);
        default: return compare_op(e.op, a, b);
      }
    }
  }
  return Value();
}

}  // namespace pivot::advice
