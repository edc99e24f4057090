// pivot_hook_stub: see stub.h. Written in assembly because it must keep
// every argument register intact and describe its frame to the unwinder.
#include "hook/stub.h"

#include <cstddef>

namespace pivot::hook {

static_assert(offsetof(Regs, gp) == 0);
static_assert(offsetof(Regs, rax) == 48);
static_assert(offsetof(Regs, hook) == 56);
static_assert(offsetof(Regs, xmm) == 64);
static_assert(offsetof(Regs, ctx) == 192);
static_assert(offsetof(Regs, ret_rax) == 200);
static_assert(offsetof(Regs, ret_rdx) == 208);
static_assert(offsetof(Regs, ret_xmm0) == 224);
static_assert(offsetof(Regs, ret_xmm1) == 240);
static_assert(sizeof(Regs) == 256);
static_assert(offsetof(HookHeader, body) == 0);

// On entry: r11 = HookHeader*, [rsp] = the hooked function's return address,
// rsp = 8 (mod 16) as at any function entry. pivot_hook_entry and
// pivot_hook_return have hidden visibility, so the direct calls need no PLT
// in a shared library either.
asm(R"(
  .text
  .p2align 4
  .globl pivot_hook_stub
  .hidden pivot_hook_stub
  .type pivot_hook_stub, @function
pivot_hook_stub:
  .cfi_startproc
  pushq %rbp
  .cfi_def_cfa_offset 16
  .cfi_offset %rbp, -16
  movq %rsp, %rbp
  .cfi_def_cfa_register %rbp
  subq $256, %rsp
  movq %rdi, 0(%rsp)
  movq %rsi, 8(%rsp)
  movq %rdx, 16(%rsp)
  movq %rcx, 24(%rsp)
  movq %r8, 32(%rsp)
  movq %r9, 40(%rsp)
  movq %rax, 48(%rsp)
  movq %r11, 56(%rsp)
  movdqa %xmm0, 64(%rsp)
  movdqa %xmm1, 80(%rsp)
  movdqa %xmm2, 96(%rsp)
  movdqa %xmm3, 112(%rsp)
  movdqa %xmm4, 128(%rsp)
  movdqa %xmm5, 144(%rsp)
  movdqa %xmm6, 160(%rsp)
  movdqa %xmm7, 176(%rsp)
  movq %r11, %rdi
  movq %rsp, %rsi
  call pivot_hook_entry
  movq %rax, 192(%rsp)
  movq 0(%rsp), %rdi
  movq 8(%rsp), %rsi
  movq 16(%rsp), %rdx
  movq 24(%rsp), %rcx
  movq 32(%rsp), %r8
  movq 40(%rsp), %r9
  movdqa 64(%rsp), %xmm0
  movdqa 80(%rsp), %xmm1
  movdqa 96(%rsp), %xmm2
  movdqa 112(%rsp), %xmm3
  movdqa 128(%rsp), %xmm4
  movdqa 144(%rsp), %xmm5
  movdqa 160(%rsp), %xmm6
  movdqa 176(%rsp), %xmm7
  movq 56(%rsp), %r11
  movq 0(%r11), %r11
  cmpq $0, 192(%rsp)
  jne 1f
  movq 48(%rsp), %rax
  leave
  .cfi_remember_state
  .cfi_def_cfa %rsp, 8
  jmp *%r11
  .cfi_restore_state
1:
  movq 48(%rsp), %rax
  call *%r11
  movq %rax, 200(%rsp)
  movq %rdx, 208(%rsp)
  movdqa %xmm0, 224(%rsp)
  movdqa %xmm1, 240(%rsp)
  movq 56(%rsp), %rdi
  movq %rsp, %rsi
  call pivot_hook_return
  movq 200(%rsp), %rax
  movq 208(%rsp), %rdx
  movdqa 224(%rsp), %xmm0
  movdqa 240(%rsp), %xmm1
  leave
  .cfi_def_cfa %rsp, 8
  ret
  .cfi_endproc
  .size pivot_hook_stub, .-pivot_hook_stub
)");

}  // namespace pivot::hook
