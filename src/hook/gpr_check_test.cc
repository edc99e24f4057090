#include "hook/gpr_check.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hook/stub.h"

namespace pivot::hook {
namespace {

// check_gpr_code on `code` followed by a ret.
std::string check(std::vector<uint8_t> code) {
  code.push_back(0xc3);
  return check_gpr_code(code.data(), code.data() + code.size());
}

TEST(GprCheck, ThisBuildTakesTheFastPath) {
  // The section holds pivot_hook_entry_gpr and pivot_hook_return_gpr (and,
  // in a whole-library binary, the advice's run_gpr), and passes.
  EXPECT_EQ(gpr_path_problem(), "");
  EXPECT_TRUE(gpr_path());
}

TEST(GprCheck, AcceptsIntegerCode) {
  EXPECT_EQ(check({
                0xf3, 0x0f, 0x1e, 0xfa,                                // endbr64
                0x53,                                                  // push %rbx
                0x48, 0x89, 0xf8,                                      // mov %rdi,%rax
                0x48, 0x83, 0xc0, 0x01,                                // add $1,%rax
                0xf0, 0x48, 0x0f, 0xc1, 0x07,                          // lock xadd %rax,(%rdi)
                0x64, 0x48, 0x8b, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00,  // mov %fs:0x10,%rax
                0x0f, 0x31,                                            // rdtsc
                0xff, 0xd0,                                            // call *%rax (checked in source)
                0xe8, 0x00, 0x00, 0x00, 0x00,                          // call +0: the next instruction
                0x74, 0x00,                                            // je +0
                0x5b,                                                  // pop %rbx
                0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00,                    // nopw 0(%rax,%rax)
                0xcc,                                                  // int3 (padding)
            }),
            "");
}

TEST(GprCheck, RefusesWhatTouchesOtherState) {
  struct Case {
    const char* what;
    std::vector<uint8_t> code;
    const char* why;
  };
  const Case cases[] = {
      {"movdqa %xmm0,(%rsp)",
       {0x66, 0x0f, 0x7f, 0x04, 0x24},
       "a register other than the general-purpose ones"},
      {"movq %xmm0,%rax", {0x66, 0x48, 0x0f, 0x7e, 0xc0}, "a register other than the general-purpose ones"},
      {"vmovdqa %ymm0,(%rsp)", {0xc5, 0xfd, 0x7f, 0x04, 0x24}, "not the legacy encoding"},
      {"vzeroupper", {0xc5, 0xf8, 0x77}, "not the legacy encoding"},
      {"kmovq %k1,%rax", {0xc4, 0xe1, 0xfb, 0x93, 0xc1}, "not the legacy encoding"},
      {"shlx %rax,%rbx,%rcx", {0xc4, 0xe2, 0xf9, 0xf7, 0xcb}, "not the legacy encoding"},
      {"stmxcsr (%rsp)", {0x0f, 0xae, 0x1c, 0x24}, "not an integer instruction"},
      {"ldmxcsr (%rsp)", {0x0f, 0xae, 0x14, 0x24}, "not an integer instruction"},
      {"fxrstor (%rsp)", {0x0f, 0xae, 0x0c, 0x24}, "not an integer instruction"},
      {"xsave (%rsp)", {0x0f, 0xae, 0x24, 0x24}, "not an integer instruction"},
      {"fnstcw (%rsp)", {0xd9, 0x3c, 0x24}, "not an integer instruction"},
      {"fld1", {0xd9, 0xe8}, "not an integer instruction"},
      {"emms", {0x0f, 0x77}, "not an integer instruction"},
      {"mov %rax,%cr0", {0x0f, 0x22, 0xc0}, "a register other than the general-purpose ones"},
      {"mov %rax,%fs", {0x8e, 0xe0}, "a register other than the general-purpose ones"},
      {"std", {0xfd}, "changes the direction flag"},
      {"popfq", {0x9d}, "changes the direction flag"},
      {"jmp *%rax", {0xff, 0xe0}, "an indirect jump"},
      {"call out of the code", {0xe8, 0x00, 0x10, 0x00, 0x00}, "branches out of the section"},
      {"jmp out of the code", {0xeb, 0x10}, "branches out of the section"},
  };
  for (const Case& c : cases) {
    std::string got = check(c.code);
    EXPECT_NE(got.find(c.why), std::string::npos) << c.what << ": " << got;
    EXPECT_EQ(got.rfind("+0x0: ", 0), 0u) << c.what << ": " << got;
  }
  const uint8_t truncated[] = {0x48, 0x8b};  // mov with its operand byte missing
  EXPECT_EQ(check_gpr_code(truncated, truncated + 2), "+0x0: does not decode");
}

TEST(GprCheck, RefusesABranchOrEntryIntoAnInstruction) {
  const uint8_t code[] = {
      0xeb, 0x01,        // jmp +1: into the mov's second byte
      0x48, 0x89, 0xf8,  // mov %rdi,%rax
      0xc3,              // ret
  };
  EXPECT_EQ(check_gpr_code(code, code + sizeof code), "+0x0: branches into the middle of an instruction");
  EXPECT_EQ(check_gpr_code(code + 2, code + sizeof code, {code + 2, code + 5}), "");
  EXPECT_EQ(check_gpr_code(code + 2, code + sizeof code, {code + 3}),
            "+0x1: an entry point is not an instruction");
}

}  // namespace
}  // namespace pivot::hook
