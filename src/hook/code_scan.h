// Questions about a function answered from its machine code.
//
// Thread safety: pure functions of the code they read.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pivot::hook {

// Whether the function at `fn` (`size` bytes) may read arguments its caller
// passed on the stack (above its return address). A Return hook calls the
// function from its stub, one frame further down, so it must not be put on
// such a function. Used for clones whose arguments the compiler changed
// (IPA-SRA may pass the parts of an aggregate, more than the registers
// hold), whose signature says nothing about it. Conservative: code whose
// stack pointer it cannot follow counts as reading them.
bool may_read_stack_arguments(uintptr_t fn, size_t size);

}  // namespace pivot::hook
