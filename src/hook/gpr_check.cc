#include "hook/gpr_check.h"

#include <Zydis/Zydis.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "hook/stub.h"
#include "tracepoint/gpr_code.h"

namespace pivot::hook {
namespace {

bool integer_category(ZydisInstructionCategory c) {
  switch (c) {
    case ZYDIS_CATEGORY_BINARY:
    case ZYDIS_CATEGORY_BITBYTE:
    case ZYDIS_CATEGORY_CALL:
    case ZYDIS_CATEGORY_CET:
    case ZYDIS_CATEGORY_CMOV:
    case ZYDIS_CATEGORY_COND_BR:
    case ZYDIS_CATEGORY_CONVERT:
    case ZYDIS_CATEGORY_DATAXFER:
    case ZYDIS_CATEGORY_FLAGOP:
    case ZYDIS_CATEGORY_LOGICAL:
    case ZYDIS_CATEGORY_MISC:
    case ZYDIS_CATEGORY_NOP:
    case ZYDIS_CATEGORY_POP:
    case ZYDIS_CATEGORY_PUSH:
    case ZYDIS_CATEGORY_RET:
    case ZYDIS_CATEGORY_ROTATE:
    case ZYDIS_CATEGORY_SEMAPHORE:
    case ZYDIS_CATEGORY_SETCC:
    case ZYDIS_CATEGORY_SHIFT:
    case ZYDIS_CATEGORY_STRINGOP:
    case ZYDIS_CATEGORY_UNCOND_BR:
    case ZYDIS_CATEGORY_WIDENOP: return true;
    default: return false;
  }
}

bool allowed_register(ZydisRegister r) {
  if (r == ZYDIS_REGISTER_NONE) return true;
  switch (ZydisRegisterGetClass(r)) {
    case ZYDIS_REGCLASS_GPR8:
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64:
    case ZYDIS_REGCLASS_FLAGS:
    case ZYDIS_REGCLASS_IP: return true;
    default: return false;
  }
}

// Why the instruction breaks a rule of gpr_check.h, or null. rdtsc and
// int3 (padding between functions) are the two allowed outside the
// integer categories.
const char* broken_rule(const ZydisDecodedInstruction& insn, const ZydisDecodedOperand* ops) {
  if (insn.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY) return "not the legacy encoding";
  bool exception = insn.mnemonic == ZYDIS_MNEMONIC_RDTSC || insn.mnemonic == ZYDIS_MNEMONIC_INT3;
  if (!exception && !integer_category(insn.meta.category)) return "not an integer instruction";
  switch (insn.mnemonic) {
    case ZYDIS_MNEMONIC_STD:
    case ZYDIS_MNEMONIC_POPF:
    case ZYDIS_MNEMONIC_POPFD:
    case ZYDIS_MNEMONIC_POPFQ: return "changes the direction flag";
    default: break;
  }
  for (uint8_t i = 0; i < insn.operand_count; ++i) {
    const ZydisDecodedOperand& op = ops[i];
    if (op.type == ZYDIS_OPERAND_TYPE_REGISTER && !allowed_register(op.reg.value)) {
      return "uses a register other than the general-purpose ones";
    }
    if (op.type == ZYDIS_OPERAND_TYPE_MEMORY &&
        (!allowed_register(op.mem.base) || !allowed_register(op.mem.index))) {
      return "addresses memory through a register other than the general-purpose ones";
    }
  }
  return nullptr;
}

std::string offset(uintptr_t at, uintptr_t base) {
  char out[32];
  std::snprintf(out, sizeof out, "+0x%lx: ", static_cast<unsigned long>(at - base));
  return out;
}

std::string describe(const ZydisDecodedInstruction& insn, const ZydisDecodedOperand* ops, uintptr_t at,
                     uintptr_t base, const char* why) {
  char text[128] = "?";
  ZydisFormatter f;
  ZydisFormatterInit(&f, ZYDIS_FORMATTER_STYLE_ATT);
  ZydisFormatterFormatInstruction(&f, &insn, ops, insn.operand_count_visible, text, sizeof text, at, nullptr);
  return offset(at, base) + text + " (" + why + ")";
}

}  // namespace

std::string check_gpr_code(const uint8_t* begin, const uint8_t* end,
                           std::initializer_list<const void*> entries) {
  ZydisDecoder d;
  ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  const auto lo = reinterpret_cast<uintptr_t>(begin), hi = reinterpret_cast<uintptr_t>(end);
  std::vector<bool> starts(hi - lo + 1);
  std::vector<std::pair<uintptr_t, uintptr_t>> branches;  // from, to
  for (uintptr_t at = lo; at < hi;) {
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, reinterpret_cast<const void*>(at), hi - at, &insn, ops))) {
      return offset(at, lo) + "does not decode";
    }
    if (const char* why = broken_rule(insn, ops)) return describe(insn, ops, at, lo, why);
    if (insn.meta.branch_type != ZYDIS_BRANCH_TYPE_NONE) {
      if (insn.attributes & ZYDIS_ATTRIB_IS_RELATIVE) {
        ZyanU64 target = 0;
        if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&insn, &ops[0], at, &target)) || target < lo ||
            target >= hi) {
          return describe(insn, ops, at, lo, "branches out of the section");
        }
        branches.emplace_back(at, target);
      } else if (insn.meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
                 insn.meta.category == ZYDIS_CATEGORY_COND_BR) {
        return describe(insn, ops, at, lo, "an indirect jump");
      }
    }
    starts[at - lo] = true;
    at += insn.length;
  }
  // The sweep decoded the instructions the code runs, not others that
  // overlap them: every branch lands on, and every entry point is, the
  // start of one.
  for (auto [from, to] : branches) {
    if (!starts[to - lo]) return offset(from, lo) + "branches into the middle of an instruction";
  }
  for (const void* e : entries) {
    auto at = reinterpret_cast<uintptr_t>(e);
    if (at < lo || at >= hi || !starts[at - lo])
      return offset(at, lo) + "an entry point is not an instruction";
  }
  return "";
}

const std::string& gpr_path_problem() {
  static const std::string problem = [] {
    const char* env = std::getenv("PIVOT_HOOK_GPR");
    if (env != nullptr && std::strcmp(env, "0") == 0) return std::string("disabled by PIVOT_HOOK_GPR=0");
    const auto* begin = reinterpret_cast<const uint8_t*>(__start_pivot_gpr);
    const auto* end = reinterpret_cast<const uint8_t*>(__stop_pivot_gpr);
    if (begin == nullptr || begin >= end) return std::string("the pivot_gpr section is missing");
    std::string why = check_gpr_code(begin, end,
                                     {reinterpret_cast<const void*>(&pivot_hook_entry_gpr),
                                      reinterpret_cast<const void*>(&pivot_hook_return_gpr)});
    return why.empty() ? why : "the pivot_gpr section breaks a rule at " + why;
  }();
  return problem;
}

}  // namespace pivot::hook
