// The code every hooked function jumps to, and the registers it hands to C++.
//
// A hooked function's first bytes jump to its trampoline (patch.h), which
// pushes the index of the function's Hook in pivot_hook_table (touching no
// register and no flag) and jumps to the stub. The stub saves the machine
// state the hook path could change, runs the advice through
// pivot_hook_entry (below), puts everything back, and then:
//   - entry returned 0 (no Return tracepoint wants this call): it leaves its
//     frame and jumps to the relocated prologue (hook->body), which continues
//     into the function: the function runs with exactly the stack and every
//     register it was called with;
//   - otherwise it *calls* hook->body with every register as the caller set
//     it, so the function returns into the stub, which saves the state again,
//     runs the Return advice, puts back everything the function left, and
//     returns to the caller. The caller's return address never moves: the
//     stub is an ordinary frame with unwind info (CFI), so C++ exceptions,
//     pthread_exit and longjmp pass through it as through any function, and
//     nothing is kept per call outside that frame.
// A called function sees its stack arguments further away than its caller
// put them, so Return tracepoints are refused on functions that take
// arguments on the stack (hook.cc checks the signature).
//
// What is kept, and why that is enough. A hooked function must look
// untouched to its caller, and GCC's -fipa-ra lets a caller keep values in
// any register the callee is known to leave alone, caller-saved or not. The
// C++ code of the hook path may change exactly what the ABI lets a call
// change, so the stub keeps:
//   - rax, rcx, rdx, rsi, rdi, r8-r11: saved on entry, restored;
//   - rflags: the arithmetic flags and the direction flag (DF is cleared
//     for the C++ code, which the ABI requires), restored with sahf, an add
//     for OF and std (popfq is several times slower); the C++ code changes
//     no other flag;
//   - every vector register the CPU has, at its full width: xmm0-15 (SSE),
//     ymm0-15 (AVX), zmm0-31 and the opmask registers k0-7 (AVX-512). The C
//     library's string functions use AVX2 and EVEX code and vzeroupper,
//     which clear or overwrite all of them;
//   - MXCSR (its sticky exception flags change with any floating-point
//     arithmetic) and the x87 control word: compared after the C++ code and
//     written back only when they differ (writing them is slow);
// rbx, rbp, rsp and r12-r15 are callee-saved and kept by the C++ code as by
// any function. Not saved: the x87/MMX data registers and status word (the
// hook path runs no x87 or MMX instruction: pivot has no long double), AMX
// tiles and other state no library on the hook path touches.
//
// The fast path. Saving the vector and control state costs more than the
// advice (on AVX-512: 32 zmm and 8 k stores and loads, two stmxcsr, about
// 35 ns of a 75 ns hooked entry), and most calls need none of it. So the
// stub first saves only rax..r11 and the flags and calls
// pivot_hook_entry_gpr (gpr_entry.cc), which runs the advice in code that
// uses nothing but the general-purpose registers and the arithmetic flags:
// built for them only (-mgeneral-regs-only), calling nothing outside its
// own section, and checked instruction by instruction before any stub may
// call it (gpr_check.h). It can run advice of the common shape (keys, int inputs
// and int comparisons read straight from argument registers or fixed
// values, COUNT, SUM and AVG into an existing group; advice/gpr_plan.h).
// For anything else it returns kGprFallback having changed nothing, and
// only then does the stub save the vector registers, MXCSR and the x87
// control word, and call pivot_hook_entry, the ordinary C++ path. Since
// the fast path cannot have changed any of that state, the values saved
// then are the caller's, and every register the caller could rely on is
// kept on both paths. The Return half works the same way
// (pivot_hook_return_gpr, then pivot_hook_return). The copy of xmm0-7
// into Regs is made before either path (a store changes no register), for
// the slow path at return.
//
// The save set is chosen once, at the first hook, from CPUID and XCR0, and
// with it whether the stubs try the fast path (gpr_path(): the section
// passed the check, and PIVOT_HOOK_GPR=0 is not set): hook_stub() is what
// the trampolines jump to. The XSAVE family would save the vector state in
// one instruction, but XSAVEC + XRSTOR take ~170 ns on the machines this
// was measured on, against ~25 ns for the explicit moves (docs/hooks.md).
#pragma once

#include <cstdint>

namespace pivot::hook {

struct alignas(16) Xmm {
  uint64_t lo, hi;
};

// The stub's record of a call, on its stack (64-byte aligned); offsets are
// fixed (static_asserts in stub.cc). The saved vector registers follow it.
struct Regs {
  uint64_t gp[6];  // rdi, rsi, rdx, rcx, r8, r9 at entry
  uint64_t rax;    // at entry (al = vector registers used by a variadic call)
  uint64_t r10, r11;
  uint64_t hook;  // the Hook
  uint64_t ctx;   // what pivot_hook_entry returned (entry time for Return)
  uint32_t mxcsr;
  uint16_t fcw;
  uint16_t pad0;
  Xmm xmm[8];  // xmm0..7 at entry
  // After the function returned (Return path):
  uint64_t ret_rax, ret_rdx;
  uint64_t ret_other[7];  // rcx, rsi, rdi, r8, r9, r10, r11
  uint64_t end_ticks;     // the time at return, if the fast path read it (else 0)
  Xmm ret_xmm0, ret_xmm1;
  uint32_t mxcsr_now;  // scratch: MXCSR and FCW after the C++ code
  uint16_t fcw_now;
  uint8_t pad2[42];
};

// The part of a Hook the stub reads: the relocated prologue to run.
struct HookHeader {
  uintptr_t body = 0;
};

// How many functions can be hooked in a process.
inline constexpr int kMaxHooks = 4096;

// Which registers the stub saves (see above), chosen from the CPU.
enum class SaveSet : uint8_t { kSse, kAvx, kAvx512 };
SaveSet save_set();
const char* save_set_name(SaveSet s);  // "sse: xmm0-15", ...
// Whether the stubs try the fast path first (gpr_check.h says why not).
bool gpr_path();
// How many times the slow path ran on the calling thread (tests).
uint64_t full_saves_on_this_thread();
// The stub for this CPU's save set, with or without the fast path: what
// trampolines jump to.
uintptr_t hook_stub();

// What the fast path's entry returns when it gives the call to the slow one.
inline constexpr uint64_t kGprFallback = ~uint64_t{0};

}  // namespace pivot::hook

extern "C" {
// Every hook, by the index its trampoline pushes (patch.cc fills it before
// the trampoline can run; slots are never reused).
[[gnu::visibility("hidden")]] extern pivot::hook::HookHeader* pivot_hook_table[pivot::hook::kMaxHooks];
// The slow path, with every register saved: the context for the function's
// return (0: none wanted), and the Return advice. Never throw and never
// block; defined in hook.cc.
[[gnu::visibility("hidden")]] uint64_t pivot_hook_entry(pivot::hook::HookHeader* hook,
                                                        pivot::hook::Regs* regs) noexcept;
[[gnu::visibility("hidden")]] void pivot_hook_return(pivot::hook::HookHeader* hook,
                                                     pivot::hook::Regs* regs) noexcept;
// The fast path, on the general-purpose registers (gpr_entry.cc): the same,
// or kGprFallback / false when the slow path must take the call. They read
// only the general-purpose registers in regs (and write end_ticks).
[[gnu::visibility("hidden")]] uint64_t pivot_hook_entry_gpr(pivot::hook::HookHeader* hook,
                                                            const pivot::hook::Regs* regs) noexcept;
[[gnu::visibility("hidden")]] bool pivot_hook_return_gpr(pivot::hook::HookHeader* hook,
                                                         pivot::hook::Regs* regs) noexcept;
// The stubs (assembly in stub.cc), one per save set, with the fast path
// and without (_full). Not callable from C++.
[[gnu::visibility("hidden")]] void pivot_hook_stub_sse();
[[gnu::visibility("hidden")]] void pivot_hook_stub_avx();
[[gnu::visibility("hidden")]] void pivot_hook_stub_avx512();
[[gnu::visibility("hidden")]] void pivot_hook_stub_sse_full();
[[gnu::visibility("hidden")]] void pivot_hook_stub_avx_full();
[[gnu::visibility("hidden")]] void pivot_hook_stub_avx512_full();
}
