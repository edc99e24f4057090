// Code that uses only the general-purpose registers: the fast path of a
// hooked function (src/hook/stub.h).
//
// A hook must leave every register its caller could rely on as it was, and
// saving the vector state (zmm0-31, k0-7, MXCSR) costs more than the advice
// itself on AVX-512 machines. Code that never touches that state does not
// need it saved. Functions marked PIVOT_GPR_CODE live in one ELF section,
// `pivot_gpr`, of translation units built with -mgeneral-regs-only under
// GCC (so the compiler uses no floating-point, vector or mask register, and
// no x87; with clang, -mno-sse -mno-mmx), without sanitizer instrumentation,
// jump tables or loop-to-memset idioms (src/CMakeLists.txt). They may call only each other. The hook stage
// checks that this holds in the running binary before it relies on it: it decodes the whole section and
// refuses any instruction outside the general-purpose set, and any branch that leaves the section
// (src/hook/gpr_check.h).
//
//   PIVOT_GPR_CODE bool run(const Plan& p, ...) noexcept { ... }
//   if (in_gpr_code(fn)) fn(...);  // an indirect call stays in the section
//
// Rules for such code: no floating point, no call to anything not itself
// PIVOT_GPR_CODE (inline functions must inline: the section check fails
// otherwise), and no indirect call whose target was not checked with
// in_gpr_code() first.
#pragma once

#include <cstdint>

// Functions only, never inline or template ones (which are COMDAT and cannot
// share a section with others).
#define PIVOT_GPR_CODE [[gnu::section("pivot_gpr"), gnu::noinline]]

// The linker's bounds of the section (weak: null where nothing is in it).
extern "C" {
[[gnu::weak, gnu::visibility("hidden")]] extern const char __start_pivot_gpr[];
[[gnu::weak, gnu::visibility("hidden")]] extern const char __stop_pivot_gpr[];
}

namespace pivot::internal {

// Whether fn's first byte is in this module's pivot_gpr section.
template <class Fn>
inline bool in_gpr_code(Fn* fn) noexcept {
  auto at = reinterpret_cast<uintptr_t>(fn);
  return at >= reinterpret_cast<uintptr_t>(__start_pivot_gpr) &&
         at < reinterpret_cast<uintptr_t>(__stop_pivot_gpr);
}

}  // namespace pivot::internal
