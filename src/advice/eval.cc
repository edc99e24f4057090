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

// The value of e, by reference when it is a register or a constant, so that
// operands (strings especially) are not copied; else computed into tmp.
const Value& operand(const Expr& e, const Value* const* regs, Value& tmp) {
  if (e.kind == Expr::Kind::kReg) return *regs[e.reg];
  if (e.kind == Expr::Kind::kConst) return e.constant;
  tmp = eval(e, regs);
  return tmp;
}

}  // namespace

Value eval(const Expr& e, const Value* const* regs) {
  switch (e.kind) {
    case Expr::Kind::kConst: return e.constant;
    case Expr::Kind::kReg: return *regs[e.reg];
    case Expr::Kind::kUnary: {
      Value ta;
      const Value& a = operand(*e.a, regs, ta);
      if (e.op == Op::kNot) return a.is_bool() ? Value(!a.as_bool()) : Value();
      return value_neg(a);
    }
    case Expr::Kind::kBinary: {
      Value ta, tb;
      if (e.op == Op::kAnd) {
        if (!operand(*e.a, regs, ta).truthy()) return Value(false);
        return Value(operand(*e.b, regs, tb).truthy());
      }
      if (e.op == Op::kOr) {
        if (operand(*e.a, regs, ta).truthy()) return Value(true);
        return Value(operand(*e.b, regs, tb).truthy());
      }
      const Value& a = operand(*e.a, regs, ta);
      const Value& b = operand(*e.b, regs, tb);
      if (a.is_int() && b.is_int()) {  // the common case, without the general path's conversions
        Value r;
        if (int_binary(e.op, a.as_int(), b.as_int(), r)) return r;
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
