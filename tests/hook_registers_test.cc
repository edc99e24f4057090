// A hooked function is indistinguishable from the original to its caller:
// an assembly caller fills every general-purpose register, every vector
// register the CPU has (xmm/ymm/zmm0-31, k0-7), the flags (direction flag
// included), MXCSR and the x87 control word with canaries, calls a hooked
// assembly leaf that touches none of them, and records them all afterwards.
// The record must equal the one taken without a hook, byte for byte, with
// Entry, Return and both, on both paths of the stub (stub.h): advice the
// fast path runs on the general-purpose registers alone (COUNT and SUM of
// int arguments into an existing group), and advice that takes the slow
// path with every register saved: floating point (which sets MXCSR's sticky
// flags), strings, AVG, a new group, a string argument read with the C
// library's EVEX strlen, a thread's first event, and the two mixed at entry
// and return.
#include <cpuid.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "hook/gpr_check.h"
#include "hook/stub.h"
#include "pivot/pivot.h"

namespace {

// What the caller loads before the call and stores after it. Offsets are
// used by the assembly below.
struct alignas(64) Machine {
  uint64_t gp[15];      // 0: rax rbx rcx rdx rsi rdi rbp r8 r9 r10 r11 r12 r13 r14 r15
  uint64_t flags;       // 120
  uint32_t mxcsr;       // 128
  uint16_t fcw;         // 132
  uint8_t pad[58];      // to 192
  uint8_t vec[32][64];  // 192: zmm0-31 (ymm/xmm: the low bytes of the first 16)
  uint64_t k[8];        // 2240
};
static_assert(offsetof(Machine, flags) == 120);
static_assert(offsetof(Machine, mxcsr) == 128);
static_assert(offsetof(Machine, vec) == 192);
static_assert(offsetof(Machine, k) == 2240);

}  // namespace

extern "C" {
// Leaves that change nothing but rip, of the three kinds a hook patches:
// relocated instructions (a 3-byte first instruction: the `jmp .` barrier),
// GCC's pad of five 1-byte NOPs (flipped by one byte), clang's one 5-byte NOP.
void hkreg_leaf_moved();
void hkreg_leaf_gccpad();
void hkreg_leaf_clangpad();
// hkreg_leaf_cstr(char const*): a C++ symbol, so arg0 exports as a string.
void _Z15hkreg_leaf_cstrPKc();
// call(leaf, in, out): loads `in`, calls leaf, stores into `out`; one per
// vector width.
void hkreg_call_sse(void (*leaf)(), const Machine* in, Machine* out);
void hkreg_call_avx(void (*leaf)(), const Machine* in, Machine* out);
void hkreg_call_avx512(void (*leaf)(), const Machine* in, Machine* out);
}

asm(R"(
  .text
  .globl hkreg_leaf_moved
  .type hkreg_leaf_moved, @function
hkreg_leaf_moved:
  movq %rsp, %rsp
  xchg %ax, %ax
  nop
  ret
  .size hkreg_leaf_moved, .-hkreg_leaf_moved

  .globl _Z15hkreg_leaf_cstrPKc
  .type _Z15hkreg_leaf_cstrPKc, @function
_Z15hkreg_leaf_cstrPKc:
  movq %rsp, %rsp
  xchg %ax, %ax
  nop
  ret
  .size _Z15hkreg_leaf_cstrPKc, .-_Z15hkreg_leaf_cstrPKc

  .globl hkreg_leaf_gccpad
  .type hkreg_leaf_gccpad, @function
hkreg_leaf_gccpad:
  nop
  nop
  nop
  nop
  nop
  ret
  .size hkreg_leaf_gccpad, .-hkreg_leaf_gccpad

  .globl hkreg_leaf_clangpad
  .type hkreg_leaf_clangpad, @function
hkreg_leaf_clangpad:
  .byte 0x0f, 0x1f, 0x44, 0x00, 0x00  # nopl 0x0(%rax,%rax,1)
  ret
  .size hkreg_leaf_clangpad, .-hkreg_leaf_clangpad

  .macro CANARY_LOAD_SSE
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  movdqa 192+64*\n(%rax), %xmm\n
  .endr
  .endm
  .macro CANARY_STORE_SSE
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  movdqa %xmm\n, 192+64*\n(%rax)
  .endr
  .endm
  .macro CANARY_LOAD_AVX
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  vmovdqa 192+64*\n(%rax), %ymm\n
  .endr
  .endm
  .macro CANARY_STORE_AVX
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  vmovdqa %ymm\n, 192+64*\n(%rax)
  .endr
  .endm
  .macro CANARY_LOAD_AVX512
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  vmovdqa64 192+64*\n(%rax), %zmm\n
  .endr
  .irp n,0,1,2,3,4,5,6,7
  kmovq 2240+8*\n(%rax), %k\n
  .endr
  .endm
  .macro CANARY_STORE_AVX512
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  vmovdqa64 %zmm\n, 192+64*\n(%rax)
  .endr
  .irp n,0,1,2,3,4,5,6,7
  kmovq %k\n, 2240+8*\n(%rax)
  .endr
  .endm

  // Frame: 6 callee-saved pushes, then 48 bytes: [rsp] leaf, [rsp+8] in,
  // [rsp+16] out, [rsp+24] the caller's MXCSR, [rsp+28] its FCW.
  .macro CANARY_CALL name, load, store, clear
  .globl \name
  .type \name, @function
\name:
  pushq %rbx
  pushq %rbp
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $56, %rsp
  movq %rdi, 0(%rsp)
  movq %rsi, 8(%rsp)
  movq %rdx, 16(%rsp)
  stmxcsr 24(%rsp)
  fnstcw 28(%rsp)
  movq %rsi, %rax
  \load
  ldmxcsr 128(%rax)
  fldcw 132(%rax)
  pushq 120(%rax)
  popfq
  movq 8(%rax), %rbx
  movq 16(%rax), %rcx
  movq 24(%rax), %rdx
  movq 32(%rax), %rsi
  movq 40(%rax), %rdi
  movq 48(%rax), %rbp
  movq 56(%rax), %r8
  movq 64(%rax), %r9
  movq 72(%rax), %r10
  movq 80(%rax), %r11
  movq 88(%rax), %r12
  movq 96(%rax), %r13
  movq 104(%rax), %r14
  movq 112(%rax), %r15
  movq 0(%rax), %rax
  call *0(%rsp)
  pushfq
  pushq %rax
  movq 32(%rsp), %rax
  movq %rbx, 8(%rax)
  movq %rcx, 16(%rax)
  movq %rdx, 24(%rax)
  movq %rsi, 32(%rax)
  movq %rdi, 40(%rax)
  movq %rbp, 48(%rax)
  movq %r8, 56(%rax)
  movq %r9, 64(%rax)
  movq %r10, 72(%rax)
  movq %r11, 80(%rax)
  movq %r12, 88(%rax)
  movq %r13, 96(%rax)
  movq %r14, 104(%rax)
  movq %r15, 112(%rax)
  popq %rbx
  movq %rbx, 0(%rax)
  popq %rbx
  movq %rbx, 120(%rax)
  cld
  stmxcsr 128(%rax)
  fnstcw 132(%rax)
  \store
  \clear
  ldmxcsr 24(%rsp)
  fldcw 28(%rsp)
  addq $56, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbp
  popq %rbx
  ret
  .size \name, .-\name
  .endm

  CANARY_CALL hkreg_call_sse, CANARY_LOAD_SSE, CANARY_STORE_SSE, nop
  CANARY_CALL hkreg_call_avx, CANARY_LOAD_AVX, CANARY_STORE_AVX, vzeroupper
  CANARY_CALL hkreg_call_avx512, CANARY_LOAD_AVX512, CANARY_STORE_AVX512, vzeroupper
)");

namespace {

using CallFn = void (*)(void (*)(), const Machine*, Machine*);

CallFn caller_for_cpu() {
  switch (pivot::hook::save_set()) {
    case pivot::hook::SaveSet::kSse: return &hkreg_call_sse;
    case pivot::hook::SaveSet::kAvx: return &hkreg_call_avx;
    case pivot::hook::SaveSet::kAvx512: return &hkreg_call_avx512;
  }
  return nullptr;
}

Machine canaries() {
  Machine m{};
  for (int i = 0; i < 15; ++i) m.gp[i] = 0xC0DE000000000000ull | (uint64_t{0x1111} * (i + 1)) << 16 | (i + 1);
  // CF, PF, AF, SF, OF and DF set (bit 1 and IF are always 1 in user mode); ZF clear.
  m.flags = 0x0002 | 0x0200 | 0x0001 | 0x0004 | 0x0010 | 0x0080 | 0x0800 | 0x0400;
  // Round toward zero, flush-to-zero, denormals-are-zero, exceptions masked,
  // no sticky flag: FP arithmetic in the hook path would set PE (inexact).
  m.mxcsr = 0x1F80 | 0x6000 | 0x8000 | 0x0040;
  m.fcw = 0x027F;  // 53-bit precision (Linux's default is 0x037F)
  for (int r = 0; r < 32; ++r) {
    for (int b = 0; b < 64; ++b) m.vec[r][b] = static_cast<uint8_t>(r * 7 + b * 13 + 1);
  }
  for (int k = 0; k < 8; ++k) m.k[k] = 0xA5A5000000000000ull + 0x0101010101ull * (k + 1);
  return m;
}

// Compares the parts of two records the CPU's caller stores.
void expect_same(const Machine& want, const Machine& got, const std::string& what) {
  static const char* kNames[15] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
                                   "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  for (int i = 0; i < 15; ++i) EXPECT_EQ(got.gp[i], want.gp[i]) << what << ": " << kNames[i];
  EXPECT_EQ(got.flags, want.flags) << what << ": rflags";
  EXPECT_EQ(got.mxcsr, want.mxcsr) << what << ": MXCSR";
  EXPECT_EQ(got.fcw, want.fcw) << what << ": x87 control word";
  int regs = 16, width = 16;
  if (pivot::hook::save_set() == pivot::hook::SaveSet::kAvx) width = 32;
  if (pivot::hook::save_set() == pivot::hook::SaveSet::kAvx512) regs = 32, width = 64;
  for (int r = 0; r < regs; ++r) {
    EXPECT_EQ(std::memcmp(got.vec[r], want.vec[r], width), 0) << what << ": vector register " << r;
  }
  if (pivot::hook::save_set() == pivot::hook::SaveSet::kAvx512) {
    for (int k = 0; k < 8; ++k) EXPECT_EQ(got.k[k], want.k[k]) << what << ": k" << k;
  }
}

struct Leaf {
  const char* name;
  void (*fn)();
};
const Leaf kLeaves[] = {{"hkreg_leaf_moved", &hkreg_leaf_moved},
                        {"hkreg_leaf_gccpad", &hkreg_leaf_gccpad},
                        {"hkreg_leaf_clangpad", &hkreg_leaf_clangpad}};

// The advice: floating point (sets MXCSR's sticky flags), strings (the
// procName group, and the C library's string functions with it), AVG.
std::string entry_query(const char* leaf) {
  return std::string("Tracepoint e = Entry(\"") + leaf +
         "\") Exports a = arg0, b = arg1\n"
         "From x In e GroupBy x.procName Select x.procName, COUNT, AVG(x.a * 0.1 + x.b / 3), SUM(x.b * 1.5)";
}
std::string return_query(const char* leaf) {
  return std::string("Tracepoint r = Return(\"") + leaf +
         "\") Exports a = arg0, d = duration\n"
         "From x In r GroupBy x.procName Select x.procName, COUNT, AVG(x.d * 1.0 + x.a / 7), MAX(x.d)";
}

constexpr int kCalls = 100;

// Calls leaf kCalls times under the canaries; each record must equal the
// unhooked one.
void call_and_check(CallFn call, const Leaf& leaf, const Machine& in, const Machine& want,
                    const std::string& what) {
  for (int i = 0; i < kCalls; ++i) {
    Machine out{};
    call(leaf.fn, &in, &out);
    expect_same(want, out, what);
    if (::testing::Test::HasFailure()) return;
  }
}

int64_t count_of(pivot::Session& s, pivot::QueryId q) {
  auto table = s.results(q);
  if (table.rows.size() != 1) return -1;
  return table.rows[0][1].as_int();
}

class HookRegisters : public ::testing::TestWithParam<Leaf> {};

TEST_P(HookRegisters, EveryRegisterIsKeptAtEntryReturnAndBoth) {
  const Leaf& leaf = GetParam();
  CallFn call = caller_for_cpu();
  Machine in = canaries();
  Machine want{};
  call(leaf.fn, &in, &want);  // unhooked: what the CPU gives back
  // Sanity: the caller really round-trips its canaries.
  expect_same(in, want, "unhooked");
  ASSERT_FALSE(HasFailure());

  pivot::Session s;
  {
    auto q = s.install(entry_query(leaf.name));
    ASSERT_TRUE(q) << q.error().message();
    call_and_check(call, leaf, in, want, std::string("Entry on ") + leaf.name);
    EXPECT_EQ(count_of(s, *q), kCalls);
    ASSERT_TRUE(s.uninstall(*q));
  }
  {
    auto q = s.install(return_query(leaf.name));
    ASSERT_TRUE(q) << q.error().message();
    call_and_check(call, leaf, in, want, std::string("Return on ") + leaf.name);
    EXPECT_EQ(count_of(s, *q), kCalls);
    ASSERT_TRUE(s.uninstall(*q));
  }
  {
    auto e = s.install(entry_query(leaf.name));
    auto r = s.install(return_query(leaf.name));
    ASSERT_TRUE(e) << e.error().message();
    ASSERT_TRUE(r) << r.error().message();
    call_and_check(call, leaf, in, want, std::string("Entry and Return on ") + leaf.name);
    EXPECT_EQ(count_of(s, *e), kCalls);
    EXPECT_EQ(count_of(s, *r), kCalls);
    ASSERT_TRUE(s.uninstall(*e));
    ASSERT_TRUE(s.uninstall(*r));
  }
  Machine after{};
  call(leaf.fn, &in, &after);  // unhooked again
  expect_same(want, after, "after uninstall");
}

// Advice the fast path takes: COUNT and SUM of ints from argument
// registers, grouped by a fixed string or an int argument (and, below,
// filtered by comparisons of ints).
std::string fast_entry_query(const char* leaf, const char* group = "x.procName") {
  return std::string("Tracepoint f = Entry(\"") + leaf +
         "\") Exports a = arg0, b = arg1\n"
         "From x In f GroupBy " +
         group + " Select " + group + ", COUNT, SUM(x.b)";
}
// Return always exports duration too; this advice does not read it.
std::string fast_return_query(const char* leaf) {
  return std::string("Tracepoint g = Return(\"") + leaf +
         "\") Exports a = arg0\n"
         "From x In g GroupBy x.procName Select x.procName, COUNT, SUM(x.a), SUM(x.ret)";
}

// The canaries with small argument registers (so that SUMs stay ints):
// rdi = i % 3 (or `rdi`), rsi = 5, rax = 11.
Machine small_args(int i, int rdi = -1) {
  Machine m = canaries();
  m.gp[0] = 11;
  m.gp[4] = 5;
  m.gp[5] = static_cast<uint64_t>(rdi >= 0 ? rdi : i % 3);
  return m;
}

int64_t column_sum(pivot::Session& s, pivot::QueryId q, size_t column) {
  int64_t sum = 0;
  for (const auto& row : s.results(q).rows) sum += row.at(column).as_int();
  return sum;
}

// Calls leaf kCalls times, call i with small_args(i), on this thread; each
// record must equal its input (what the unhooked call gives back: checked
// by EveryRegisterIsKeptAtEntryReturnAndBoth). Returns how many times the
// stub took its slow path meanwhile.
uint64_t call_small(const Leaf& leaf, const std::string& what, int rdi = -1) {
  CallFn call = caller_for_cpu();
  uint64_t before = pivot::hook::full_saves_on_this_thread();
  for (int i = 0; i < kCalls && !::testing::Test::HasFailure(); ++i) {
    Machine in = small_args(i, rdi), out{};
    call(leaf.fn, &in, &out);
    expect_same(in, out, what + ", call " + std::to_string(i));
  }
  return pivot::hook::full_saves_on_this_thread() - before;
}

TEST_P(HookRegisters, FastAndSlowPathsKeepEveryRegister) {
  const Leaf& leaf = GetParam();
  ASSERT_TRUE(pivot::hook::gpr_path()) << pivot::hook::gpr_path_problem();
  pivot::Session s;
  {
    // The first call makes the group (slow path); the rest run fast.
    auto q = s.install(fast_entry_query(leaf.name));
    ASSERT_TRUE(q) << q.error().message();
    uint64_t slow = call_small(leaf, std::string("fast Entry on ") + leaf.name);
    EXPECT_GE(slow, 1u);
    EXPECT_LE(slow, 3u);  // the session's collection may swap the partial out: a new group
    EXPECT_EQ(count_of(s, *q), kCalls);
    EXPECT_EQ(column_sum(s, *q, 2), 5 * kCalls);
    ASSERT_TRUE(s.uninstall(*q));
  }
  {
    // Three groups keyed by rdi: each one's first call is slow.
    auto q = s.install(fast_entry_query(leaf.name, "x.a"));
    ASSERT_TRUE(q) << q.error().message();
    uint64_t slow = call_small(leaf, std::string("new groups at Entry on ") + leaf.name);
    EXPECT_GE(slow, 3u);
    EXPECT_LE(slow, 9u);
    EXPECT_EQ(s.results(*q).to_json(),
              R"json({"columns":["x.a","COUNT","SUM(x.b)"],"rows":[[0,34,170],[1,33,165],[2,33,165]]})json");
    ASSERT_TRUE(s.uninstall(*q));
  }
  {
    // The group cap holds on the fast path, and what it drops is counted:
    // with room for two groups, the calls with rdi = 2 find no group (the
    // fast path never makes one) and are dropped one by one on the slow
    // path.
    pivot::InstallOptions two_groups;
    two_groups.max_groups = 2;
    auto q = s.install(fast_entry_query(leaf.name, "x.a"), two_groups);
    ASSERT_TRUE(q) << q.error().message();
    uint64_t slow = call_small(leaf, std::string("two groups at most, on ") + leaf.name);
    EXPECT_GE(slow, 2u + 33u);
    EXPECT_LE(slow, 2u + 33u + 6u);
    pivot::ResultTable r = s.results(*q);
    EXPECT_EQ(r.to_json(), R"json({"columns":["x.a","COUNT","SUM(x.b)"],"rows":[[0,34,170],[1,33,165]],)json"
                           R"json("incomplete":true,"dropped":33,"max_groups":2})json");
    // The next interval's partial has room again: rdi = 2 makes its group
    // (slow) and the fast path adds the rest into it, counting each event,
    // so that the running total, which has no room for it, drops them all.
    slow = call_small(leaf, std::string("a group the total has no room for, on ") + leaf.name, 2);
    EXPECT_LE(slow, 3u);
    r = s.results(*q);
    EXPECT_EQ(r.dropped, 33u + static_cast<uint64_t>(kCalls));
    EXPECT_EQ(r.rows.size(), 2u);
    ASSERT_TRUE(s.uninstall(*q));
  }
  {
    // Filters on int arguments run on the fast path too.
    auto q = s.install(
        std::string("Tracepoint f = Entry(\"") + leaf.name +
        "\") Exports a = arg0, b = arg1\n"
        "From x In f Where x.a != 1 And x.b > 2 GroupBy x.procName Select x.procName, COUNT, SUM(x.a)");
    ASSERT_TRUE(q) << q.error().message();
    uint64_t slow = call_small(leaf, std::string("fast filtered Entry on ") + leaf.name);
    EXPECT_LE(slow, 3u);
    EXPECT_EQ(count_of(s, *q), 67);       // rdi = i % 3 is 0 or 2
    EXPECT_EQ(column_sum(s, *q, 2), 66);  // 33 calls with rdi = 2
    ASSERT_TRUE(s.uninstall(*q));
  }
  {
    auto q = s.install(fast_return_query(leaf.name));
    ASSERT_TRUE(q) << q.error().message();
    uint64_t slow = call_small(leaf, std::string("fast Return on ") + leaf.name);
    EXPECT_LE(slow, 3u);
    EXPECT_EQ(count_of(s, *q), kCalls);
    EXPECT_EQ(column_sum(s, *q, 2), 99);  // rdi = i % 3
    EXPECT_EQ(column_sum(s, *q, 3), 11 * kCalls);
    ASSERT_TRUE(s.uninstall(*q));
  }
  {
    // `duration` runs on the fast path too: integer ticks to ns on the
    // clock's current line (core/clock.h, tsc_ticks_between_ns).
    auto q = s.install(std::string("Tracepoint g = Return(\"") + leaf.name +
                       "\") Exports a = arg0, d = duration\n"
                       "From x In g Where x.d >= 0 GroupBy x.procName "
                       "Select x.procName, COUNT, SUM(x.a), SUM(x.ret), SUM(x.d)");
    ASSERT_TRUE(q) << q.error().message();
    uint64_t slow = call_small(leaf, std::string("fast Return with duration on ") + leaf.name);
    EXPECT_LE(slow, 3u);
    EXPECT_EQ(count_of(s, *q), kCalls);
    EXPECT_EQ(column_sum(s, *q, 2), 99);
    EXPECT_EQ(column_sum(s, *q, 3), 11 * kCalls);
    EXPECT_GE(column_sum(s, *q, 4), 0);
    ASSERT_TRUE(s.uninstall(*q));
  }
  {
    // Fast at entry, slow at return (floating point, duration), and the
    // other way round: one call crosses both paths.
    auto fe = s.install(fast_entry_query(leaf.name));
    auto sr = s.install(return_query(leaf.name));
    ASSERT_TRUE(fe && sr);
    uint64_t slow = call_small(leaf, std::string("fast Entry, slow Return on ") + leaf.name);
    EXPECT_GE(slow, static_cast<uint64_t>(kCalls));
    EXPECT_LE(slow, static_cast<uint64_t>(kCalls) + 3);
    EXPECT_EQ(count_of(s, *fe), kCalls);
    EXPECT_EQ(count_of(s, *sr), kCalls);
    ASSERT_TRUE(s.uninstall(*fe));
    ASSERT_TRUE(s.uninstall(*sr));
    auto se = s.install(entry_query(leaf.name));
    auto fr = s.install(fast_return_query(leaf.name));
    ASSERT_TRUE(se && fr);
    slow = call_small(leaf, std::string("slow Entry, fast Return on ") + leaf.name);
    EXPECT_GE(slow, static_cast<uint64_t>(kCalls));
    EXPECT_LE(slow, static_cast<uint64_t>(kCalls) + 3);
    EXPECT_EQ(count_of(s, *se), kCalls);
    EXPECT_EQ(count_of(s, *fr), kCalls);
    ASSERT_TRUE(s.uninstall(*se));
    ASSERT_TRUE(s.uninstall(*fr));
  }
  {
    // A thread's first event makes its pivot state (slow path).
    auto q = s.install(fast_entry_query(leaf.name));
    ASSERT_TRUE(q) << q.error().message();
    uint64_t slow = 0;
    std::thread t([&] { slow = call_small(leaf, std::string("fast Entry on a new thread, ") + leaf.name); });
    t.join();
    EXPECT_GE(slow, 1u);
    EXPECT_LE(slow, 4u);
    EXPECT_EQ(count_of(s, *q), kCalls);
    ASSERT_TRUE(s.uninstall(*q));
  }
  {
    // The same at Return: a hook with nothing at entry only marks the call
    // there (EntryShortcut), and the thread's first call still makes its
    // state on the slow path before anything runs fast.
    auto q = s.install(fast_return_query(leaf.name));
    ASSERT_TRUE(q) << q.error().message();
    uint64_t slow = 0;
    std::thread t([&] { slow = call_small(leaf, std::string("fast Return on a new thread, ") + leaf.name); });
    t.join();
    EXPECT_GE(slow, 1u);
    EXPECT_LE(slow, 4u);
    EXPECT_EQ(count_of(s, *q), kCalls);
    EXPECT_EQ(column_sum(s, *q, 2), 99);
    ASSERT_TRUE(s.uninstall(*q));
  }
}

INSTANTIATE_TEST_SUITE_P(Leaves, HookRegisters, ::testing::ValuesIn(kLeaves),
                         [](const ::testing::TestParamInfo<Leaf>& info) {
                           return std::string(info.param.name).substr(std::strlen("hkreg_leaf_"));
                         });

// A string argument: the advice reads it with the C library's strlen (EVEX
// or AVX2 code that writes ymm16-31, the k registers, or the upper halves
// of ymm0-15), so every call takes the slow path.
TEST(HookRegistersStrings, AStringArgumentTakesTheSlowPathAndKeepsEveryRegister) {
  static const char kText[] = "a string argument long enough for the C library's vector code to read it";
  const Leaf leaf{"hkreg_leaf_cstr", &_Z15hkreg_leaf_cstrPKc};
  CallFn call = caller_for_cpu();
  Machine in = canaries();
  in.gp[5] = reinterpret_cast<uint64_t>(kText);  // rdi
  Machine want{};
  call(leaf.fn, &in, &want);
  expect_same(in, want, "unhooked");
  pivot::Session s;
  auto q = s.install(
      "Tracepoint c = Entry(\"hkreg_leaf_cstr\") Exports s = arg0\n"
      "From x In c GroupBy x.s Select x.s, COUNT");
  ASSERT_TRUE(q) << q.error().message();
  uint64_t before = pivot::hook::full_saves_on_this_thread();
  call_and_check(call, leaf, in, want, "string Entry on hkreg_leaf_cstr");
  EXPECT_EQ(pivot::hook::full_saves_on_this_thread() - before, static_cast<uint64_t>(kCalls));
  EXPECT_EQ(s.results(*q).to_json(), std::string(R"json({"columns":["x.s","COUNT"],"rows":[[")json") + kText +
                                         "\"," + std::to_string(kCalls) + "]]}");
  ASSERT_TRUE(s.uninstall(*q));
}

}  // namespace
