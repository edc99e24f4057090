// Advice for the fast path of hooked functions: the common shape, compiled
// to a plan that code using only the general-purpose registers runs
// (tracepoint/gpr_code.h, SiteAdvice::run_gpr).
//
// A program has a plan when it is the interpreter's simple shape without
// UNPACK (one row, no PACK, an EMIT without weight) with no LET, when every EMIT
// key and input is a register or a constant, every FILTER is a comparison
// of two such ints (or an And of comparisons), and every register they
// read holds an int export of the site, the thread id, or a value fixed
// when the program is bound (a constant, host, procName, procId, or null
// for an export the site lacks). run_gpr() then does for an event what the
// interpreter's run_simple and Partial::add_hashed do for an existing group:
// the filters, COUNT, and SUM and AVG of ints that do not overflow.
// Anything else (the thread's first event for the query, a new group, a key
// it cannot compare without floating point, MIN, a non-int input) makes it
// return false having changed nothing, and the caller runs the interpreter
// instead.
//
// Plans are built with the advice (bind.cc) and immutable after.
#pragma once

#include <atomic>
#include <cstdint>

#include "advice/program.h"
#include "pivot/value.h"
#include "tracepoint/registry.h"

namespace pivot::advice {

inline constexpr uint32_t kGprPrograms = 4;  // per site
inline constexpr uint32_t kGprOperands = 4;  // keys, inputs, and filters, per program
inline constexpr uint32_t kGprExports = 64;  // export indexes a plan can read (bits of `have`)

// Where an EMIT key or input comes from.
struct GprSource {
  enum class Kind : uint8_t { kExport, kTid, kValue };
  Kind kind = Kind::kValue;
  uint8_t index = 0;             // kExport: the site's export, an int
  const Value* value = nullptr;  // kValue
  size_t hash = 0;               // kValue: value->hash()
};

// A FILTER (or one term of an And of them): a op b, ints.
struct GprFilter {
  Op op = Op::kEq;  // kEq .. kGe
  GprSource a, b;
};

struct GprPlan {
  const std::atomic<bool>* enabled = nullptr;  // the query's switch
  uint32_t slot = 0;                           // of the query's collector (thread_state.h)
  uint8_t n_filters = 0, n_keys = 0, n_inputs = 0;
  uint64_t needs = 0;  // the exports it reads, as bits
  GprFilter filters[kGprOperands];
  GprSource keys[kGprOperands], inputs[kGprOperands];
};

// Advice whose every program has a plan (n_plans of them); the
// interpreter's advice derives from it, and sets run_gpr to run_gpr() when
// n_plans covers all its programs.
struct GprAdvice : internal::SiteAdvice {
  uint32_t n_plans = 0;
  GprPlan plans[kGprPrograms];
};

// SiteAdvice::run_gpr of a GprAdvice. General-purpose registers only.
bool run_gpr(const internal::SiteAdvice& self, const int64_t* exports, uint64_t have,
             internal::ThreadState& ts) noexcept;

}  // namespace pivot::advice
