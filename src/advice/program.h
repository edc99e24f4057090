// Advice programs: what a query compiles to, one per tracepoint it touches.
//
// A program is a fixed sequence, with no loops or jumps, so it always
// terminates:
//   OBSERVE   read the tracepoint's exports into registers
//   UNPACK    read tuples that earlier advice packed into the baggage
//   FILTER    drop the row unless a predicate holds
//   LET       compute a register
//   PACK      put a tuple into the baggage for later advice
//   EMIT      add the row to the query's per-thread partial aggregate
// A row is one combination of the observed values (a list-valued export
// contributes each element) and the unpacked tuples (a cross product, which
// First/MostRecent selection keeps small). See docs/architecture.md.
//
// Programs are immutable once built and shared by every site they are
// installed on; run-time state lives in the interpreter's per-thread scratch.
//
// The names a program carries (its label, its registers', its bags') are
// for `explain`, which prints a program from its fields alone; the
// interpreter never reads them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aggregate/collector.h"
#include "baggage/bag.h"
#include "pivot/value.h"
#include "tracepoint/registry.h"

namespace pivot::advice {

enum class Op : uint8_t { kAdd, kSub, kMul, kDiv, kMod, kEq, kNe, kLt, kLe, kGt, kGe, kAnd, kOr, kNot, kNeg };

// An expression over registers.
struct Expr {
  enum class Kind : uint8_t { kConst, kReg, kUnary, kBinary };
  Kind kind = Kind::kConst;
  Op op = Op::kAdd;
  uint16_t reg = 0;
  Value constant;
  std::shared_ptr<const Expr> a, b;
};
using ExprPtr = std::shared_ptr<const Expr>;

// x op y for two ints, as eval computes it, into *out; false where eval
// takes its general path (overflow, division by 0 or -1, And/Or/Not/Neg).
[[gnu::always_inline]] inline bool int_binary(Op op, int64_t x, int64_t y, Value& out) {
  int64_t r;
  switch (op) {
    case Op::kAdd:
      if (__builtin_add_overflow(x, y, &r)) return false;
      break;
    case Op::kSub:
      if (__builtin_sub_overflow(x, y, &r)) return false;
      break;
    case Op::kMul:
      if (__builtin_mul_overflow(x, y, &r)) return false;
      break;
    case Op::kDiv:
    case Op::kMod:
      if (y == 0 || y == -1) return false;
      r = op == Op::kDiv ? x / y : x % y;
      break;
    case Op::kEq: out = Value(x == y); return true;
    case Op::kNe: out = Value(x != y); return true;
    case Op::kLt: out = Value(x < y); return true;
    case Op::kLe: out = Value(x <= y); return true;
    case Op::kGt: out = Value(x > y); return true;
    case Op::kGe: out = Value(x >= y); return true;
    default: return false;
  }
  out = Value(r);
  return true;
}

// regs[r] points at register r's value. Operands that are registers or
// constants are read in place, not copied.
Value eval(const Expr& e, const Value* const* regs);

// Reads one export; a site's own export wins over a builtin of that name.
struct Observe {
  std::string name;
  uint16_t reg = 0;
};

struct Unpack {
  internal::BagSpec spec;
  uint16_t first_reg = 0;  // the tuple's fields go to first_reg, first_reg+1, ...
  uint16_t n_fields = 0;
  std::string bag;  // its name, "q1.cl"
};

struct Step {
  bool is_filter = true;  // else LET
  ExprPtr expr;
  uint16_t reg = 0;  // LET target
};

// Runs FILTER and LET steps on one row: a LET computes into vals[reg] and
// points regs[reg] at it. False when a FILTER drops the row.
[[gnu::always_inline]] inline bool run_steps(const Step* steps, size_t n, Value* vals, const Value** regs) {
  for (size_t i = 0; i < n; ++i) {
    const Step& step = steps[i];
    if (step.is_filter) {
      if (!eval(*step.expr, regs).truthy()) return false;
    } else {
      vals[step.reg] = eval(*step.expr, regs);
      regs[step.reg] = &vals[step.reg];
    }
  }
  return true;
}

struct Pack {
  internal::BagSpec spec;
  std::vector<ExprPtr> values;
  std::string bag;  // its name, "q1.cl"
};

struct Emit {
  aggregate::Collector* collector = nullptr;  // owned by the query
  std::vector<ExprPtr> keys;
  std::vector<ExprPtr> inputs;  // one per aggregate
  int weight_reg = -1;          // register with the row count of a pre-aggregated bag
};

struct Program {
  std::string label;       // "A1"
  std::string tracepoint;  // where it is installed
  int depth = 0;           // distance from the query's emitting variable; lower runs first
  const std::atomic<bool>* enabled = nullptr;  // the query's switch; all programs flip at once
  uint16_t n_regs = 0;
  std::vector<std::string> reg_names;  // per register: "procName", "cl.procName", "kb", ...
  std::vector<Observe> observe;
  std::vector<Unpack> unpacks;
  std::vector<Step> steps;
  std::optional<Pack> pack;
  std::optional<Emit> emit;
};

}  // namespace pivot::advice
