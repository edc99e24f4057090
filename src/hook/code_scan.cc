// may_read_stack_arguments() (code_scan.h): the function's instructions in
// address order, with the stack depth below the entry's stack pointer
// followed through pushes, pops, rsp arithmetic and a frame pointer.
#include "hook/code_scan.h"

#include <Zydis/Zydis.h>

#include <vector>

#include "hook/patch.h"

namespace pivot::hook {
namespace {

constexpr size_t kMaxScan = 64 * 1024;

bool is_reg(const ZydisDecodedOperand& op, ZydisRegister r) {
  return op.type == ZYDIS_OPERAND_TYPE_REGISTER && op.reg.value == r;
}

bool writes(const ZydisDecodedInstruction& insn, const ZydisDecodedOperand* ops, ZydisRegister r) {
  for (int i = 0; i < insn.operand_count_visible; ++i) {
    if (is_reg(ops[i], r) && (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE)) return true;
  }
  return false;
}

}  // namespace

bool may_read_stack_arguments(uintptr_t fn, size_t size) {
  if (size == 0 || size > kMaxScan) return true;
  std::vector<uint8_t> code(size);
  read_code(fn, code.data(), size);
  ZydisDecoder dec;
  ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisDecodedInstruction insn;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  int64_t depth = 0;       // bytes pushed below the entry's rsp (which points at the return address)
  int64_t steady = -1;     // the depth after the prologue, where a block after a ret or jmp starts
  int64_t rbp_depth = -1;  // rbp = entry rsp - rbp_depth, or -1: rbp is no frame pointer
  for (size_t at = 0; at < size;) {
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code.data() + at, size - at, &insn, ops))) return true;
    at += insn.length;
    bool prologue = false;
    switch (insn.mnemonic) {
      case ZYDIS_MNEMONIC_PUSH:
        depth += 8;
        prologue = true;
        break;
      case ZYDIS_MNEMONIC_POP:
        depth -= 8;
        if (is_reg(ops[0], ZYDIS_REGISTER_RBP)) rbp_depth = -1;
        break;
      case ZYDIS_MNEMONIC_LEAVE:
        if (rbp_depth < 0) return true;
        depth = rbp_depth - 8;
        rbp_depth = -1;
        break;
      case ZYDIS_MNEMONIC_SUB:
      case ZYDIS_MNEMONIC_ADD:
        if (is_reg(ops[0], ZYDIS_REGISTER_RSP)) {
          if (ops[1].type != ZYDIS_OPERAND_TYPE_IMMEDIATE) return true;
          int64_t imm = ops[1].imm.value.s;
          depth += insn.mnemonic == ZYDIS_MNEMONIC_SUB ? imm : -imm;
          prologue = insn.mnemonic == ZYDIS_MNEMONIC_SUB;
          continue;  // its operand is rsp itself, not memory
        }
        break;
      case ZYDIS_MNEMONIC_MOV:
        if (is_reg(ops[0], ZYDIS_REGISTER_RBP) && is_reg(ops[1], ZYDIS_REGISTER_RSP)) {
          rbp_depth = depth;
          prologue = true;
        } else if (is_reg(ops[0], ZYDIS_REGISTER_RSP) && is_reg(ops[1], ZYDIS_REGISTER_RBP)) {
          if (rbp_depth < 0) return true;
          depth = rbp_depth;
          continue;
        }
        break;
      case ZYDIS_MNEMONIC_LEA:
        if (is_reg(ops[0], ZYDIS_REGISTER_RSP)) {
          const auto& m = ops[1].mem;
          if (m.index != ZYDIS_REGISTER_NONE) return true;
          if (m.base == ZYDIS_REGISTER_RSP) {
            depth -= m.disp.value;
          } else if (m.base == ZYDIS_REGISTER_RBP && rbp_depth >= 0) {
            depth = rbp_depth - m.disp.value;
          } else {
            return true;
          }
          continue;
        }
        break;
      case ZYDIS_MNEMONIC_ENDBR64:
      case ZYDIS_MNEMONIC_NOP: prologue = true; break;
      default: break;
    }
    if (!prologue && steady < 0) steady = depth;
    bool frame_set = insn.mnemonic == ZYDIS_MNEMONIC_MOV && is_reg(ops[1], ZYDIS_REGISTER_RSP);
    if (!frame_set && insn.mnemonic != ZYDIS_MNEMONIC_POP && writes(insn, ops, ZYDIS_REGISTER_RBP)) {
      rbp_depth = -1;  // rbp used as an ordinary register
    }
    if (insn.mnemonic != ZYDIS_MNEMONIC_PUSH && insn.mnemonic != ZYDIS_MNEMONIC_POP &&
        insn.meta.category != ZYDIS_CATEGORY_CALL && insn.meta.category != ZYDIS_CATEGORY_RET &&
        writes(insn, ops, ZYDIS_REGISTER_RSP)) {
      return true;  // an rsp this scan cannot follow (and rsp, -32; mov rsp, rax; ...)
    }
    for (int i = 0; i < insn.operand_count_visible; ++i) {
      if (ops[i].type != ZYDIS_OPERAND_TYPE_MEMORY) continue;
      const auto& m = ops[i].mem;
      int64_t disp = m.disp.value;
      if (m.base == ZYDIS_REGISTER_RSP && disp - depth >= 8) return true;
      if (m.base == ZYDIS_REGISTER_RBP && rbp_depth >= 0 && disp - rbp_depth >= 8) return true;
    }
    if (insn.meta.category == ZYDIS_CATEGORY_RET || insn.meta.category == ZYDIS_CATEGORY_UNCOND_BR) {
      depth = steady < 0 ? 0 : steady;  // the next block starts after the prologue (or at entry)
    }
  }
  return false;
}

}  // namespace pivot::hook
