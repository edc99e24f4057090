// What pivot's public headers use to state preconditions. Not public API.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace pivot::internal {

// A broken precondition of a public API (a bug in the calling code): says
// which one on stderr, with `detail` when there is one, and aborts. Out of
// line and cold, so a check costs its test and a predicted branch.
[[noreturn, gnu::cold, gnu::noinline]] inline void precondition_failed(const char* what,
                                                                       const char* detail) noexcept {
  if (detail != nullptr)
    std::fprintf(stderr, "pivot: precondition failed: %s: %s\n", what, detail);
  else
    std::fprintf(stderr, "pivot: precondition failed: %s\n", what);
  std::abort();
}

}  // namespace pivot::internal
