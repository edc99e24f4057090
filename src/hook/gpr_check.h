// The proof behind the stub's fast path (stub.h): pivot checks, in the
// running process, that the code the fast path runs touches nothing but the
// general-purpose registers and the arithmetic flags.
//
// The fast path is the pivot_gpr section (tracepoint/gpr_code.h). Before the
// first trampoline is made, hook_stub() decodes that section from its first
// byte to its last with Zydis and uses the fast stubs only when every
// instruction
//   - decodes, and has the legacy encoding (no VEX, EVEX or XOP: those write
//     vector and mask registers, and a VEX instruction on an xmm register
//     clears its upper half);
//   - belongs to a category of integer code (moves, arithmetic, logic,
//     shifts, compares, conditional moves and sets, pushes and pops,
//     branches, calls, returns, locked read-modify-writes, string moves,
//     NOPs, endbr64, rdtsc), which excludes x87, MMX, SSE, AVX, XSAVE and
//     every system instruction;
//   - names (explicitly or implicitly) no register but general-purpose
//     ones, the flags, rip and the segment of a memory operand (%fs:
//     thread-local storage): no MXCSR, no x87 control word, no vector or
//     mask register;
//   - does not set the direction flag (std) or load the flags (popf);
//   - if it is a direct jump or call, lands inside the section on the
//     start of an instruction of the sweep, and if it is an indirect
//     branch, is a call (gpr_entry.cc's, whose target in_gpr_code() checks
//     first);
// and the stubs' entry points into it are instructions of the sweep. (The
// section holds code only: GCC puts no data in text sections when it makes
// no jump tables, and linkers pad code with NOPs or int3. The branch and
// entry checks would catch a sweep that lost step.)
// So the fast path cannot change a vector, mask or x87 register, MXCSR or
// the x87 control word, whatever the compiler flags the build used; if a
// build breaks a rule (an inline function left out of line, sanitizer
// instrumentation, -mavx code), the stubs save everything as before.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

namespace pivot::hook {

// "" if [begin, end), code placed at those addresses and entered at
// `entries`, follows the rules above; else what breaks them
// ("+0x1c: vmovdqa %xmm0, (%rsp) (not the legacy encoding)").
std::string check_gpr_code(const uint8_t* begin, const uint8_t* end,
                           std::initializer_list<const void*> entries = {});

// Why the stubs do not take the fast path in this process, or "" when they
// do: this module's pivot_gpr section fails check_gpr_code, is empty, or
// PIVOT_HOOK_GPR=0 is in the environment. Checked once.
const std::string& gpr_path_problem();

}  // namespace pivot::hook
