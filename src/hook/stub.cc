// The stubs of stub.h, in assembly: they must keep every register and
// describe their frames to the unwinder.
#include "hook/stub.h"

#include <cpuid.h>

#include <cstddef>

#include "hook/gpr_check.h"

namespace pivot::hook {

static_assert(offsetof(Regs, gp) == 0);
static_assert(offsetof(Regs, rax) == 48);
static_assert(offsetof(Regs, r10) == 56);
static_assert(offsetof(Regs, r11) == 64);
static_assert(offsetof(Regs, hook) == 72);
static_assert(offsetof(Regs, ctx) == 80);
static_assert(offsetof(Regs, mxcsr) == 88);
static_assert(offsetof(Regs, fcw) == 92);
static_assert(offsetof(Regs, xmm) == 96);
static_assert(offsetof(Regs, ret_rax) == 224);
static_assert(offsetof(Regs, ret_rdx) == 232);
static_assert(offsetof(Regs, ret_other) == 240);
static_assert(offsetof(Regs, end_ticks) == 296);
static_assert(offsetof(Regs, ret_xmm0) == 304);
static_assert(offsetof(Regs, ret_xmm1) == 320);
static_assert(offsetof(Regs, mxcsr_now) == 336);
static_assert(offsetof(Regs, fcw_now) == 340);
static_assert(sizeof(Regs) == 384);
static_assert(offsetof(HookHeader, body) == 0);

// The frame, from the trampoline's jump on (F = the hooked function's
// caller's stack pointer at the call, so [F] is its return address):
//   F+0   return address into the caller
//   F-8   the hook's index in pivot_hook_table (pushed by the trampoline);
//         then hook->body, the address the entry-only path jumps to from
//         the red zone
//   F-16  saved rbp  <- rbp
//   F-24  saved rflags
//   ...   Regs, then the vector registers, 64-byte aligned  <- rsp
// The CFA is rbp+24 throughout (the caller's rsp after its call returns),
// with the return address at CFA-8: to the unwinder the stub is a function
// its caller called, whatever the trampoline did.
//
// Per save set, a macro saves and restores the vector registers at 384(%rsp)
// and copies xmm0/1 (and xmm0..7 at entry) into Regs for the C++ code. The
// entry copy is made on the fast path too, before it runs (a store changes
// no register): the slow path at the function's return may read a double
// argument from it, whichever path took the entry.
asm(R"(
  .macro PIVOT_SAVE_SSE
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  movdqa %xmm\n, 384+16*\n(%rsp)
  .endr
  .endm
  .macro PIVOT_RESTORE_SSE
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  movdqa 384+16*\n(%rsp), %xmm\n
  .endr
  .endm
  .macro PIVOT_ARGS_SSE
  .irp n,0,1,2,3,4,5,6,7
  movdqa %xmm\n, 96+16*\n(%rsp)
  .endr
  .endm
  .macro PIVOT_RETS_SSE
  movdqa %xmm0, 304(%rsp)
  movdqa %xmm1, 320(%rsp)
  .endm

  .macro PIVOT_SAVE_AVX
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  vmovdqa %ymm\n, 384+32*\n(%rsp)
  .endr
  .endm
  .macro PIVOT_RESTORE_AVX
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  vmovdqa 384+32*\n(%rsp), %ymm\n
  .endr
  .endm
  .macro PIVOT_ARGS_AVX
  .irp n,0,1,2,3,4,5,6,7
  vmovdqa %xmm\n, 96+16*\n(%rsp)
  .endr
  .endm
  .macro PIVOT_RETS_AVX
  vmovdqa %xmm0, 304(%rsp)
  vmovdqa %xmm1, 320(%rsp)
  .endm

  .macro PIVOT_SAVE_AVX512
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  vmovdqa64 %zmm\n, 384+64*\n(%rsp)
  .endr
  .irp n,0,1,2,3,4,5,6,7
  kmovq %k\n, 384+2048+8*\n(%rsp)
  .endr
  .endm
  .macro PIVOT_RESTORE_AVX512
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  vmovdqa64 384+64*\n(%rsp), %zmm\n
  .endr
  .irp n,0,1,2,3,4,5,6,7
  kmovq 384+2048+8*\n(%rsp), %k\n
  .endr
  .endm

  // MXCSR and the x87 control word as they were before the C++ code; the
  // slow loads only when something changed them.
  .macro PIVOT_CONTROL_RESTORE
  stmxcsr 336(%rsp)
  movl 336(%rsp), %eax
  cmpl 88(%rsp), %eax
  je 3f
  ldmxcsr 88(%rsp)
3:
  fnstcw 340(%rsp)
  movzwl 340(%rsp), %eax
  cmpw 92(%rsp), %ax
  je 4f
  fldcw 92(%rsp)
4:
  .endm

  // The arithmetic flags and DF as saved at -8(%rbp), without popfq (slow):
  // DF by std, OF by an add that overflows or not, the rest by sahf. Uses
  // rax, so it comes before rax is restored; nothing after it may write a
  // flag.
  .macro PIVOT_FLAGS_RESTORE
  movzbl -7(%rbp), %eax
  testb $4, %al
  jz 5f
  std
5:
  shrb $3, %al
  andb $1, %al
  addb $0x7f, %al
  movb -8(%rbp), %ah
  sahf
  .endm

  // A stub: \fast=1 first tries the general-register path (stub.h), and
  // saves the vector and control state only when it gives the call back;
  // \fast=0 always saves everything.
  .macro PIVOT_HOOK_STUB name, fast, frame, save, restore, args, rets
  .text
  .p2align 4
  .globl \name
  .hidden \name
  .type \name, @function
\name:
  .cfi_startproc
  .cfi_def_cfa_offset 16
  pushq %rbp
  .cfi_def_cfa_offset 24
  .cfi_offset %rbp, -24
  movq %rsp, %rbp
  .cfi_def_cfa_register %rbp
  pushfq
  leaq -\frame(%rsp), %rsp
  andq $-64, %rsp
  cld
  movq %rdi, 0(%rsp)
  movq %rsi, 8(%rsp)
  movq %rdx, 16(%rsp)
  movq %rcx, 24(%rsp)
  movq %r8, 32(%rsp)
  movq %r9, 40(%rsp)
  movq %rax, 48(%rsp)
  movq %r10, 56(%rsp)
  movq %r11, 64(%rsp)
  movq 8(%rbp), %rdi
  leaq pivot_hook_table(%rip), %rax
  movq (%rax,%rdi,8), %rdi
  movq %rdi, 72(%rsp)
  \args
  .if \fast
  movq %rsp, %rsi
  call pivot_hook_entry_gpr
  movq %rax, 80(%rsp)
  cmpq $-1, %rax
  jne 6f
  .endif
  \save
  stmxcsr 88(%rsp)
  fnstcw 92(%rsp)
  movq 72(%rsp), %rdi
  movq %rsp, %rsi
  call pivot_hook_entry
  movq %rax, 80(%rsp)
  PIVOT_CONTROL_RESTORE
  \restore
6:
  movq 72(%rsp), %rax
  movq (%rax), %rax
  movq %rax, 8(%rbp)
  cmpq $0, 80(%rsp)
  jne 2f
  PIVOT_FLAGS_RESTORE
  movq 0(%rsp), %rdi
  movq 8(%rsp), %rsi
  movq 16(%rsp), %rdx
  movq 24(%rsp), %rcx
  movq 32(%rsp), %r8
  movq 40(%rsp), %r9
  movq 48(%rsp), %rax
  movq 56(%rsp), %r10
  movq 64(%rsp), %r11
  movq %rbp, %rsp
  popq %rbp
  .cfi_remember_state
  .cfi_def_cfa %rsp, 16
  .cfi_restore %rbp
  leaq 8(%rsp), %rsp
  .cfi_def_cfa_offset 8
  jmp *-8(%rsp)
2:
  .cfi_restore_state
  PIVOT_FLAGS_RESTORE
  movq 0(%rsp), %rdi
  movq 8(%rsp), %rsi
  movq 16(%rsp), %rdx
  movq 24(%rsp), %rcx
  movq 32(%rsp), %r8
  movq 40(%rsp), %r9
  movq 48(%rsp), %rax
  movq 56(%rsp), %r10
  movq 64(%rsp), %r11
  call *8(%rbp)
  pushfq
  popq -8(%rbp)
  cld
  movq %rax, 224(%rsp)
  movq %rdx, 232(%rsp)
  movq %rcx, 240(%rsp)
  movq %rsi, 248(%rsp)
  movq %rdi, 256(%rsp)
  movq %r8, 264(%rsp)
  movq %r9, 272(%rsp)
  movq %r10, 280(%rsp)
  movq %r11, 288(%rsp)
  .if \fast
  movq 72(%rsp), %rdi
  movq %rsp, %rsi
  call pivot_hook_return_gpr
  testb %al, %al
  jnz 7f
  .else
  movq $0, 296(%rsp)
  .endif
  \save
  \rets
  stmxcsr 88(%rsp)
  fnstcw 92(%rsp)
  movq 72(%rsp), %rdi
  movq %rsp, %rsi
  call pivot_hook_return
  PIVOT_CONTROL_RESTORE
  \restore
7:
  PIVOT_FLAGS_RESTORE
  movq 224(%rsp), %rax
  movq 232(%rsp), %rdx
  movq 240(%rsp), %rcx
  movq 248(%rsp), %rsi
  movq 256(%rsp), %rdi
  movq 264(%rsp), %r8
  movq 272(%rsp), %r9
  movq 280(%rsp), %r10
  movq 288(%rsp), %r11
  movq %rbp, %rsp
  popq %rbp
  .cfi_def_cfa %rsp, 16
  .cfi_restore %rbp
  leaq 8(%rsp), %rsp
  .cfi_def_cfa_offset 8
  ret
  .cfi_endproc
  .size \name, .-\name
  .endm

  // frame: Regs (384) + the vector registers + 64 for the alignment.
  PIVOT_HOOK_STUB pivot_hook_stub_sse, 1, 704, PIVOT_SAVE_SSE, PIVOT_RESTORE_SSE, PIVOT_ARGS_SSE, PIVOT_RETS_SSE
  PIVOT_HOOK_STUB pivot_hook_stub_avx, 1, 960, PIVOT_SAVE_AVX, PIVOT_RESTORE_AVX, PIVOT_ARGS_AVX, PIVOT_RETS_AVX
  PIVOT_HOOK_STUB pivot_hook_stub_avx512, 1, 2560, PIVOT_SAVE_AVX512, PIVOT_RESTORE_AVX512, PIVOT_ARGS_AVX, PIVOT_RETS_AVX
  PIVOT_HOOK_STUB pivot_hook_stub_sse_full, 0, 704, PIVOT_SAVE_SSE, PIVOT_RESTORE_SSE, PIVOT_ARGS_SSE, PIVOT_RETS_SSE
  PIVOT_HOOK_STUB pivot_hook_stub_avx_full, 0, 960, PIVOT_SAVE_AVX, PIVOT_RESTORE_AVX, PIVOT_ARGS_AVX, PIVOT_RETS_AVX
  PIVOT_HOOK_STUB pivot_hook_stub_avx512_full, 0, 2560, PIVOT_SAVE_AVX512, PIVOT_RESTORE_AVX512, PIVOT_ARGS_AVX, PIVOT_RETS_AVX
)");

namespace {

uint64_t xcr0() {
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

SaveSet detect() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return SaveSet::kSse;
  bool osxsave = (c & bit_OSXSAVE) != 0, avx = (c & bit_AVX) != 0;
  if (!osxsave || !avx) return SaveSet::kSse;
  uint64_t x = xcr0();
  if ((x & 0x6) != 0x6) return SaveSet::kSse;  // the OS does not keep ymm state
  unsigned a7 = 0, b7 = 0, c7 = 0, d7 = 0;
  __get_cpuid_count(7, 0, &a7, &b7, &c7, &d7);
  // kmovq needs AVX512BW; every AVX-512 CPU but Xeon Phi has it.
  bool avx512 = (b7 & bit_AVX512F) != 0 && (b7 & bit_AVX512BW) != 0 && (x & 0xE6) == 0xE6;
  return avx512 ? SaveSet::kAvx512 : SaveSet::kAvx;
}

}  // namespace

SaveSet save_set() {
  static const SaveSet s = detect();
  return s;
}

const char* save_set_name(SaveSet s) {
  switch (s) {
    case SaveSet::kSse: return "sse: xmm0-15";
    case SaveSet::kAvx: return "avx: ymm0-15";
    case SaveSet::kAvx512: return "avx512: zmm0-31, k0-7";
  }
  return "?";
}

bool gpr_path() { return gpr_path_problem().empty(); }

uintptr_t hook_stub() {
  static void (*const stub)() = [] {
    bool fast = gpr_path();
    switch (save_set()) {
      case SaveSet::kSse: return fast ? &pivot_hook_stub_sse : &pivot_hook_stub_sse_full;
      case SaveSet::kAvx: return fast ? &pivot_hook_stub_avx : &pivot_hook_stub_avx_full;
      case SaveSet::kAvx512: return fast ? &pivot_hook_stub_avx512 : &pivot_hook_stub_avx512_full;
    }
    return &pivot_hook_stub_sse_full;
  }();
  return reinterpret_cast<uintptr_t>(stub);
}

}  // namespace pivot::hook

pivot::hook::HookHeader* pivot_hook_table[pivot::hook::kMaxHooks];
