// The fast path of a hooked function (stub.h): pivot_hook_entry_gpr and
// pivot_hook_return_gpr, built for the general-purpose registers only into
// the pivot_gpr section (tracepoint/gpr_code.h, src/CMakeLists.txt), so that
// the stub needs to save only the general-purpose registers and the flags
// around them. They do what hook.cc's pivot_hook_entry and
// pivot_hook_return do when the function has at most one attachment at
// entry and one at return, whose advice has a general-register plan
// (SiteAdvice::run_gpr) and reads only exports that are ints in
// general-purpose registers. Otherwise they give the call back having
// changed nothing, and the stub saves the vector state and calls those.
// They open with the slow path's gate (may_observe, sanitizer.h), and run
// only on a thread that already has pivot state; they update only groups
// that exist, counting each event into its group as Partial::add_hashed
// does, and leave new groups, and with them the group cap and the dropped
// count, to the slow path.
//
// Everything here must inline, or be PIVOT_GPR_CODE: gpr_check.h verifies
// the section before any stub calls into it.
#include "core/clock.h"
#include "hook/hook_state.h"
#include "tracepoint/gpr_code.h"
#include "tracepoint/registry.h"
#include "tracepoint/thread_state.h"

namespace pivot::hook {
namespace {

using ::pivot::internal::ThreadState;

[[gnu::always_inline]] inline int64_t int_of(uint64_t raw, const GprReader& r) {
  switch (r.width) {
    case 1: return r.is_signed ? int64_t{static_cast<int8_t>(raw)} : int64_t{static_cast<uint8_t>(raw)};
    case 2: return r.is_signed ? int64_t{static_cast<int16_t>(raw)} : int64_t{static_cast<uint16_t>(raw)};
    case 4: return r.is_signed ? int64_t{static_cast<int32_t>(raw)} : int64_t{static_cast<uint32_t>(raw)};
    default: return static_cast<int64_t>(raw);
  }
}

// The call's duration as the slow path computes it (pivot_hook_return),
// or false when only the slow path can tell: the call began before its
// hook wanted the time (the slow path exports null), or converting the
// ticks needs the clock to re-anchor.
[[gnu::always_inline]] inline bool duration_of(const Regs& regs, int64_t* out) {
  if (regs.ctx <= 1 || regs.end_ticks == 0) return false;
  return ::pivot::internal::tsc_ticks_between_ns(regs.ctx, regs.end_ticks, out);
}

// Runs a's advice on the general-purpose registers; false when its advice
// cannot (then nothing changed).
[[gnu::always_inline]] inline bool fire(const Attachment& a, const Regs& regs, ThreadState& ts) {
  const ::pivot::internal::SiteAdvice* advice = a.site.advice.load(std::memory_order_acquire);
  if (advice == nullptr) return true;
  ::pivot::internal::SiteAdvice::RunGprFn run = advice->run_gpr;
  // The one indirect call in the section: its target must be in it too.
  if (run == nullptr || !::pivot::internal::in_gpr_code(run)) return false;
  int64_t exports[kGprReaders];
  uint64_t have = 0;
  for (uint32_t i = 0; i < a.n_gpr_readers; ++i) {
    const GprReader& r = a.gpr_readers[i];
    if (r.from == GprReader::From::kDuration) {
      if (!duration_of(regs, &exports[r.export_index])) return false;
    } else {
      uint64_t raw = r.from == GprReader::From::kRet        ? regs.ret_rax
                     : r.from == GprReader::From::kConstant ? r.constant
                                                            : regs.gp[r.reg];
      exports[r.export_index] = int_of(raw, r);
    }
    have |= uint64_t{1} << r.export_index;
  }
  return run(*advice, exports, have, ts);
}

[[gnu::always_inline]] inline bool tsc_ticks() {
  return ::pivot::internal::g_tick_source.load(std::memory_order_relaxed) ==
         static_cast<int>(::pivot::internal::TickSource::kTsc);
}

// The entry time as the context for the return half: never 0 or 1 (no
// Return wanted, no time) nor kGprFallback.
[[gnu::always_inline]] inline uint64_t entry_ticks() {
  uint64_t t = __builtin_ia32_rdtsc();
  return t > 1 && t != kGprFallback ? t : 2;
}

// hook.cc's may_observe(), in the same order, for a thread that has pivot
// state: 1 go on with *out, 0 not observed (pivot's own call, or a thread
// whose state was retired at exit), -1 the slow path must decide. A thread
// without pivot state yet gives its call to the slow path, whose gate asks
// the sanitizer whether the thread is set up before anything instrumented
// runs (sanitizer.h), and which makes the state (that allocates). This
// code is itself never instrumented (src/CMakeLists.txt), so it may run
// on any thread, set up or not.
[[gnu::always_inline]] inline int gate(ThreadState** out) {
  if (::pivot::internal::detail::tls_in_tracer != 0) return 0;
  ThreadState* ts = ::pivot::internal::detail::tls_thread_state;
  if (reinterpret_cast<uintptr_t>(ts) == ::pivot::internal::detail::kRetired) return 0;
  if (ts == nullptr) return -1;
  *out = ts;
  return 1;
}

}  // namespace

[[gnu::visibility("hidden")]] uint64_t observe_entry_gpr(Hook* hook, const Regs* regs,
                                                         ThreadState* ts) noexcept;

}  // namespace pivot::hook

// As pivot_hook_entry, or kGprFallback.
PIVOT_GPR_CODE uint64_t pivot_hook_entry_gpr(pivot::hook::HookHeader* header,
                                             const pivot::hook::Regs* regs) noexcept {
  using namespace pivot::hook;
  ThreadState* ts = nullptr;
  if (int g = gate(&ts); g <= 0) return g == 0 ? 0 : kGprFallback;
  auto* hook = static_cast<Hook*>(header);
  // Nothing at entry: mark the call for the return half, which runs in its
  // own read section (a re-entered call is skipped there).
  switch (hook->entry_shortcut.load(std::memory_order_relaxed)) {
    case EntryShortcut::kMark: return 1;
    case EntryShortcut::kMarkTime:
      if (tsc_ticks()) return entry_ticks();
      break;
    case EntryShortcut::kNone: break;
  }
  return observe_entry_gpr(hook, regs, ts);
}

// The rest of pivot_hook_entry_gpr, out of line so that the shortcut above
// saves no register. noclone: a clone could leave the section.
PIVOT_GPR_CODE [[gnu::noclone]] uint64_t pivot::hook::observe_entry_gpr(Hook* hook, const Regs* regs,
                                                                        ThreadState* ts) noexcept {
  ::pivot::internal::TracerScope busy;
  ::pivot::internal::ReadSection section(ts);
  if (!section.entered()) return 0;
  const Snapshot* s = hook->snapshot.load(std::memory_order_acquire);
  if (s == nullptr) return 0;
  if (!s->gpr || (s->wants_time && !tsc_ticks())) return kGprFallback;
  if (s->gpr_entry != nullptr && !fire(*s->gpr_entry, *regs, *ts)) return kGprFallback;
  if (s->gpr_ret == nullptr) return 0;
  if (!s->wants_time) return 1;
  return entry_ticks();
}

// As pivot_hook_return, or false. Reads the end time first either way
// (regs->end_ticks), so that a duration does not count the stub's saving
// the vector state for the slow path.
PIVOT_GPR_CODE bool pivot_hook_return_gpr(pivot::hook::HookHeader* header, pivot::hook::Regs* regs) noexcept {
  using namespace pivot::hook;
  regs->end_ticks = regs->ctx > 1 && tsc_ticks() ? __builtin_ia32_rdtsc() : 0;
  ThreadState* ts = nullptr;
  if (int g = gate(&ts); g <= 0) return g == 0;
  ::pivot::internal::TracerScope busy;
  ::pivot::internal::ReadSection section(ts);
  if (!section.entered()) return true;
  const Snapshot* s = static_cast<Hook*>(header)->snapshot.load(std::memory_order_acquire);
  if (s == nullptr) return true;
  if (!s->gpr) return false;
  return s->gpr_ret == nullptr || fire(*s->gpr_ret, *regs, *ts);
}
