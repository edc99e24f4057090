// Redirecting a function's entry to a trampoline, and back, while other
// threads run the function.
//
//   auto p = prepare(fn, size, &hook->header);  // checks and relocates; nothing written yet
//   if (!p) ... p.error().message()             // "too short", "a jump lands in bytes 1-4", ...
//   apply(**p);                                  // fn now enters pivot_hook_stub (stub.h)
//   revert(**p);                                 // the original bytes again, byte for byte
//
// The first instructions of the function that the 5-byte `jmp rel32` covers
// are copied into the trampoline (relocated with Zydis: RIP-relative operands
// and short branches are re-encoded for their new address), followed by a
// jump back to the first untouched instruction. A -fpatchable-function-entry
// pad (NOPs) is used as it is: there is nothing to relocate.
//
// The protocol (what makes it safe while other threads run fn):
//  1. The barrier: F[0..1] := `jmp .` (one atomic 2-byte store; when the
//     first instruction is longer than a byte, so no thread can be at F+1),
//     else F[0] := int3; then serialize every core (membarrier SYNC_CORE).
//     A thread that reaches F from now on waits there, or traps and the
//     SIGTRAP handler moves it to the trampoline, as if the jump were there.
//  2. Checkpoint: every other thread that may be running user code (per
//     /proc/self/task/T/syscall) is sent a signal; its handler moves a
//     thread whose pc is inside F+1..F+n-1 (between displaced instructions,
//     e.g. after the first of GCC's five 1-byte NOPs) to the matching place
//     in the relocated copy, and answers (per thread, per round). A thread
//     that does not answer (it blocks the signal, or ThreadSanitizer defers
//     the handler) is accepted once it is seen blocked in a system call
//     outside those bytes, or has run 1 ms of CPU time since the round
//     began: the displaced bytes are a few straight-line instructions (no
//     call, branch or system call is displaced), and it can come back only
//     to the barrier. Then no thread is inside the displaced bytes, and
//     none can enter them but through F[0].
//  3. F[1..4] := the jump's offset, F[5..n-1] := int3, serialize;
//     F[0] := 0xE9 (jmp), serialize.
// A pad of five 1-byte NOPs needs none of this: its trampoline is placed
// where the jump's offset is 0x90909090, so bytes 1-4 of the jump are the
// pad's own NOPs and patching writes F[0] alone (0x90 -> 0xE9): a thread at
// any NOP of the pad either jumps or runs the NOPs into the function.
// From the barrier's first byte to its last, the patching thread calls no
// library function and allocates nothing (system calls are inline, see
// raw_syscall.h; the checkpoint's lists are sized before): the function
// being patched may be any function of the process, `opendir`, `malloc` or
// `mprotect` included, and a thread held at the barrier may hold any lock.
// Reverting is the same without the checkpoint (no thread can be inside the
// bytes of one jmp instruction): F[0] := int3, restore F[1..n-1], restore
// F[0], serializing after each step.
// Patches are never freed: a thread may still run a trampoline long after
// the jump to it was removed. Re-hooking a function reuses its patch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hook/stub.h"
#include "pivot/result.h"

namespace pivot::hook {

inline constexpr int kMaxDisplaced = 16;

struct Patch {
  uintptr_t fn = 0;
  int n = 0;  // displaced bytes, >= 5
  uint8_t original[kMaxDisplaced] = {};
  int index = 0;             // of the hook in pivot_hook_table (stub.h)
  uintptr_t trampoline = 0;  // where F's jump goes: pushes index, jumps to the stub (layout in patch.cc)
  uintptr_t body = 0;        // the relocated instructions, then a jump to F+n
  // Instruction starts: displaced offset orig_at[i] runs as body + body_at[i].
  int n_insns = 0;
  uint8_t orig_at[kMaxDisplaced] = {};
  uint8_t body_at[kMaxDisplaced] = {};
  bool pad = false;   // F starts with a -fpatchable-function-entry pad
  bool flip = false;  // a pad whose jump offset is 0x90909090: apply/revert write one byte
  bool applied = false;
  std::string describe() const;  // "5-byte NOP pad" or "relocated: push %rbp; mov ..."
};

// Another function near fn: it may branch into fn's first bytes (glibc's
// mempcpy jumps to memmove+3, past memmove's first instruction).
struct Neighbor {
  uintptr_t address = 0;
  size_t size = 0;
  std::string name;
};

// Checks that fn (size bytes long) can be patched — no branch of fn or of
// its neighbors lands inside the bytes the jump replaces — and builds its
// trampoline. Calling it again for the same fn and hook returns the same Patch.
Result<Patch*> prepare(uintptr_t fn, size_t size, HookHeader* hook,
                       const std::vector<Neighbor>& neighbors = {});

// What prepare() checks, without building or writing anything: whether fn
// can be patched, or why not ("the function is 4 bytes long, ..."). For
// listings (`pivot functions`); a function hooked now can be.
Status check_patchable(uintptr_t fn, size_t size, const std::vector<Neighbor>& neighbors = {});

// The protocol above. Fails (leaving fn untouched) when a thread does not
// answer the checkpoint signal (or, blocking it, park outside the
// displaced bytes) within 5 seconds.
// prepare(), apply() and revert() are serialized by one process-wide lock.
Status apply(Patch& p);
void revert(Patch& p);

// Copies n bytes of code at `at` (uninstrumented: sanitizers have no
// shadow for program text).
void read_code(uintptr_t at, uint8_t* out, size_t n);

// The signal used for checkpoints: PIVOT_HOOK_SIGNAL, default SIGRTMIN+5.
int checkpoint_signal();

}  // namespace pivot::hook
