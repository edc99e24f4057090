// Hooks on a thread that ThreadSanitizer has not set up, or has torn down.
//
// Under ThreadSanitizer every instrumented function starts by pushing onto
// the calling thread's shadow stack, which the runtime builds when the thread
// starts (ThreadStart, before the thread's start routine) and drops when it
// finishes (a thread-specific-data destructor, after the thread's C++
// thread_local destructors). Outside that span the runtime still calls into
// the C library, and the C library calls the functions the runtime
// interposes: ThreadStart reads the new thread's stack with
// pthread_getattr_np, which calls realloc and free. A hook on `free` (the
// runtime's interceptor, see hook.cc's keep_what_calls_reach) then entered
// pivot's instrumented hook path there, which wrote through a null shadow
// stack pointer (SEGV in __tsan_func_entry, called from pivot_hook_entry);
// the runtime's own SEGV report could not run on that thread either, and the
// process hung.
//
// So the code a hook runs before it knows the thread is set up is compiled
// without the instrumentation (PIVOT_HOOK_UNINSTRUMENTED), and calls only
// functions that are too or that are always inlined: GCC does not inline
// across different sanitizer attributes, and an out-of-line instrumented
// helper would push onto the missing shadow stack. The signal handlers of
// the patcher (patch.cc) are such code as well: a thread may take the
// checkpoint signal, or trap on a barrier, at any point of its life.
//
// thread_is_set_up() tells whether the calling thread may run instrumented
// code. It is asked only for a thread that has no pivot state yet (the hook
// path would create it); a thread with pivot state was set up when the state
// was made, and its state is retired before the sanitizer's teardown.
#pragma once

#include <cstdint>

#include "core/sanitizers.h"

// GCC's no_sanitize("thread") drops all of ThreadSanitizer's instrumentation,
// function entry and exit included; clang keeps entry and exit under it and
// drops them with disable_sanitizer_instrumentation (clang 14).
#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(disable_sanitizer_instrumentation)
#define PIVOT_HOOK_UNINSTRUMENTED __attribute__((disable_sanitizer_instrumentation))
#endif
#endif
#ifndef PIVOT_HOOK_UNINSTRUMENTED
#define PIVOT_HOOK_UNINSTRUMENTED __attribute__((no_sanitize("thread")))
#endif

#if PIVOT_TSAN
extern "C" {
// Exported by ThreadSanitizer's runtime. The calling thread's state (its
// fiber); null on a thread the runtime never saw (sanitizer/tsan_interface.h).
void* __tsan_get_current_fiber();
// How many instrumented frames the calling thread has on its shadow stack
// (shadow_stack_pos - shadow_stack). The runtime has no public "is this
// thread set up" question; this one it exports for its own tests (GCC 11
// on, LLVM 12 on). Before ThreadStart the position is null, so the answer
// is 0 or, where the shadow stack is an array inside the thread state (GCC
// 12), negative; once the start routine has returned no instrumented frame
// is left: 0.
uintptr_t __tsan_testonly_shadow_stack_current_size();
}
#endif

namespace pivot::hook {

// True when the calling thread may run instrumented code: it runs below at
// least one instrumented frame of its own, so its shadow stack is there.
// A hooked call made before any instrumented frame of a thread that has no
// pivot state yet (say, the first call from uninstrumented library code) is
// therefore not observed; the thread's first call from the program's own
// code is. Without ThreadSanitizer, always true.
PIVOT_HOOK_UNINSTRUMENTED inline bool thread_is_set_up() noexcept {
#if PIVOT_TSAN
  if (__tsan_get_current_fiber() == nullptr) return false;
  return static_cast<intptr_t>(__tsan_testonly_shadow_stack_current_size()) > 0;
#else
  return true;
#endif
}

}  // namespace pivot::hook
