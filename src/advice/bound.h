// What the advice of a site is made of, shared by the three jobs of this
// module: binding programs to a site (bind.cc), running them at its events
// (run.cc), and installing and publishing the advice (install.cc). Not
// used outside src/advice.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "advice/gpr_plan.h"
#include "advice/interpreter.h"
#include "baggage/pack.h"
#include "tracepoint/registry.h"
#include "tracepoint/thread_state.h"

namespace pivot::advice::detail {

// Events dropped on allocation failure or bad data (stats()).
extern std::atomic<uint64_t> g_errors;

constexpr int32_t kAbsent = -1;  // the site lacks the export: null
constexpr int32_t builtin_index(internal::Builtin b) { return -2 - static_cast<int32_t>(b); }
constexpr internal::Builtin index_builtin(int32_t i) { return static_cast<internal::Builtin>(-2 - i); }

// A register or a constant.
struct Leaf {
  const Value* constant = nullptr;  // else the register
  uint16_t reg = 0;
  const Value& get(const Value* const* regs) const { return constant != nullptr ? *constant : *regs[reg]; }
};

// An EMIT key or input, resolved when the program is bound to a site: a
// leaf, an arithmetic or comparison of two leaves (computed here when both
// are ints, the common `a.delta % 8`), or any other expression (eval).
struct Operand {
  enum class Kind : uint8_t { kLeaf, kBinary, kExpr };
  Kind kind = Kind::kLeaf;
  Op op = Op::kAdd;
  Leaf a, b;                   // kLeaf: a
  const Expr* expr = nullptr;  // kBinary (when not both ints), kExpr
  bool hash_known = false;     // a key whose value, so whose hash, is fixed
  size_t hash = 0;
};

// The common shape, precompiled: one row (no list-valued export; UNPACKs
// only of First and MostRecent joins, which give at most one tuple), no
// PACK, and an EMIT of a few keys and inputs. Everything the run needs is
// in fixed arrays here, so it loops over no vectors and calls nothing but
// the export getter, bag_unpack, eval for what is not a simple operand,
// and Partial::add_hashed.
inline constexpr uint32_t kSimpleRegs = 16, kSimpleObserves = 8, kSimpleOperands = 4, kSimpleUnpacks = 4;
struct Simple {
  struct Obs {
    int32_t index;  // >= 0: the site's export
    uint16_t reg;
    const Value* fixed;         // a fixed builtin, else null
    internal::Builtin builtin;  // index < 0 and not kAbsent, not fixed
  };
  uint16_t n_regs = 0;
  uint8_t n_observe = 0, n_keys = 0, n_inputs = 0;
  Obs obs[kSimpleObserves];
  Operand keys[kSimpleOperands], inputs[kSimpleOperands];
  const Step* steps = nullptr;
  size_t n_steps = 0;
  const Unpack* unpacks = nullptr;
  uint8_t n_unpacks = 0;
  aggregate::Collector* collector = nullptr;
  using RunFn = void (*)(const Simple&, void* ctx, internal::GetExportFn get, internal::ThreadState& ts);
  RunFn run = nullptr;  // run_simple<n_keys, n_inputs, n_unpacks > 0>
};

// A program bound to one site: where each observed export is in that site.
struct Bound {
  ProgramPtr program;
  std::vector<int32_t> export_index;  // per Observe: >= 0 the site's export, else kAbsent or a builtin
  std::vector<uint8_t> is_list;       // per Observe
  // Per Observe: the value of a builtin that is fixed for the process (host,
  // procName, procId), which registers point at instead of copying it.
  std::vector<Value> fixed;
  std::vector<Operand> keys, inputs;     // EMIT's
  bool single_row = true;                // no list-valued export and no UNPACK: exactly one row
  bool has_list = false;                 // some observed export is list-valued
  std::unique_ptr<const Simple> simple;  // set when the program has the common shape
};

struct InstalledAdvice : GprAdvice {
  std::vector<Bound> bound;
};

// bind.cc: a program bound to a site, with its plans when it has the shapes
// that have them.
Bound bind(const ProgramPtr& p, const internal::Site& site);
void add_gpr_plans(InstalledAdvice& advice, const internal::Site& site);

// run.cc: the advice's run function, what a Simple runs with, and the
// builtins binding needs.
void run_advice(const internal::SiteAdvice& self, const internal::Site&, void* ctx,
                internal::GetExportFn get) noexcept;
Simple::RunFn simple_runner(uint32_t n_keys, uint32_t n_inputs, bool unpacks);
void free_scratch(internal::ThreadState& ts);
bool builtin_is_fixed(internal::Builtin b);
Value fixed_builtin_value(internal::Builtin b);

}  // namespace pivot::advice::detail
