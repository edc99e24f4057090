// The code every hooked function jumps to, and the registers it hands to C++.
//
// A hooked function's first bytes jump to its trampoline (patch.h), which
// loads the function's Hook into r11 and jumps to pivot_hook_stub. The stub
// saves the argument registers in a Regs on its stack and calls
// pivot_hook_entry(hook, regs). Then:
//   - entry returned 0 (no Return tracepoint wants this call): the stub
//     restores the registers, pops its frame and jumps to the relocated
//     prologue (hook->body), which continues into the function: the function
//     runs with exactly the stack and registers it was called with;
//   - otherwise it *calls* hook->body with the saved registers, so the
//     function returns into the stub, which saves the return registers and
//     calls pivot_hook_return(hook, regs). The caller's return address never
//     moves: the stub is an ordinary frame with unwind info (CFI), so C++
//     exceptions, pthread_exit and longjmp pass through it as through any
//     function, and nothing is kept per call outside that frame.
// A called function sees its stack arguments 8 bytes further away than its
// caller put them, so Return tracepoints are refused on functions that take
// arguments on the stack (hook.cc checks the signature).
#pragma once

#include <cstdint>

namespace pivot::hook {

// The layout the stub relies on; offsets are fixed (static_asserts in stub.cc).
struct alignas(16) Xmm {
  uint64_t lo, hi;
};

struct Regs {
  uint64_t gp[6];   // rdi, rsi, rdx, rcx, r8, r9 at entry
  uint64_t rax;     // at entry (al = vector registers used by a variadic call)
  uint64_t hook;    // r11: the Hook
  Xmm xmm[8];       // xmm0..7 at entry
  uint64_t ctx;     // what pivot_hook_entry returned (entry time for Return)
  uint64_t ret_rax, ret_rdx;
  uint64_t pad;
  Xmm ret_xmm0, ret_xmm1;
};

// The part of a Hook the stub reads: the relocated prologue to run.
struct HookHeader {
  uintptr_t body = 0;
};

}  // namespace pivot::hook

extern "C" {
// Both never throw and never block; defined in hook.cc.
[[gnu::visibility("hidden")]] uint64_t pivot_hook_entry(pivot::hook::HookHeader* hook,
                                                      pivot::hook::Regs* regs) noexcept;
[[gnu::visibility("hidden")]] void pivot_hook_return(pivot::hook::HookHeader* hook, pivot::hook::Regs* regs) noexcept;
// The shared stub (assembly in stub.cc). Not callable from C++.
[[gnu::visibility("hidden")]] void pivot_hook_stub();
}
