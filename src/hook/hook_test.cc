// Hooking functions of this test binary: arguments, return values,
// relocation of the displaced instructions, refusals, exceptions, longjmp,
// thread exit, and patching while other threads run the function.
#include "hook/hook.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/sanitizers.h"
#include "hook/patch.h"
#include "tracepoint/registry.h"

// Keeps calls to a function real calls: no inlining, and under GCC no
// cloning either (noclone; clang has no such attribute). Not noipa: GCC's
// interprocedural register allocation stays on, as in the code users hook.
#if defined(__clang__)
#define OPAQUE_FN [[gnu::noinline]]
#else
#define OPAQUE_FN [[gnu::noinline, gnu::noclone]]
#endif

// Functions to hook. noinline, and GCC's noclone, keep every call a call
// into them (no inlining, no clone); GCC's -fipa-ra stays on.
namespace hooktest {

std::atomic<int64_t> g_sink{0};

OPAQUE_FN int64_t mix(int64_t a, int b, double c, std::string_view s, const std::string& t, const char* u) {
  g_sink += a + b + static_cast<int64_t>(c) + static_cast<int64_t>(s.size() + t.size()) + (u ? 1 : 0);
  return a * 2 + b;
}

OPAQUE_FN float halve(float x, unsigned short small) { return x / 2 + small; }

struct Counter {
  int64_t total = 0;
  OPAQUE_FN int64_t add(int64_t delta);
  OPAQUE_FN int64_t get() const;  // a const method: Counter is a class
};
int64_t Counter::get() const { return total; }
int64_t Counter::add(int64_t delta) {
  total += delta;
  g_sink += delta;
  return total;
}

OPAQUE_FN int thrower(int x) {
  g_sink += x;
  if (x > 0) throw std::runtime_error("boom " + std::to_string(x));
  return -x;
}

OPAQUE_FN int jumper(std::jmp_buf* env, int x) {
  g_sink += x;
  if (x > 0) std::longjmp(*env, x);
  return x;
}

OPAQUE_FN int exiter(int x) {
  g_sink += x;
  if (x > 0) pthread_exit(nullptr);
  return x;
}

// A -fpatchable-function-entry pad: five 1-byte NOPs at the entry.
OPAQUE_FN [[gnu::patchable_function_entry(5, 0)]] int64_t padded(int64_t x) {
  g_sink += x;
  return x + 1;
}

}  // namespace hooktest

// Functions whose first instructions are chosen: RIP-relative loads, a short
// conditional jump, a jump back into the first bytes, a call first.
extern "C" {
int64_t hk_global = 40;
int64_t hk_riprel(int64_t x);
int64_t hk_jcc(int64_t x);
int64_t hk_loop(int64_t x);
int64_t hk_callfirst(int64_t x);
int64_t hk_tiny(int64_t x);
int64_t hk_push(int64_t x);
}
asm(R"(
  .text
  .globl hk_riprel
  .type hk_riprel, @function
hk_riprel:
  movq hk_global(%rip), %rax
  addq %rdi, %rax
  leaq hk_global(%rip), %rcx
  addq (%rcx), %rax
  subq hk_global(%rip), %rax
  ret
  .size hk_riprel, .-hk_riprel

  .globl hk_jcc
  .type hk_jcc, @function
hk_jcc:
  testq %rdi, %rdi
  je 1f
  leaq 1(%rdi), %rax
  ret
1:
  movq $-1, %rax
  ret
  .size hk_jcc, .-hk_jcc

  .globl hk_loop
  .type hk_loop, @function
hk_loop:
  xorl %eax, %eax
2:
  addq $1, %rax
  cmpq %rdi, %rax
  jl 2b
  ret
  .size hk_loop, .-hk_loop

  .globl hk_callfirst
  .type hk_callfirst, @function
hk_callfirst:
  call hk_jcc
  addq $1, %rax
  ret
  .size hk_callfirst, .-hk_callfirst

  .globl hk_push
  .type hk_push, @function
hk_push:
  pushq %rbx
  movq %rdi, %rbx
  leaq 2(%rbx), %rax
  popq %rbx
  ret
  .size hk_push, .-hk_push

  .globl hk_tiny
  .type hk_tiny, @function
hk_tiny:
  movq %rdi, %rax
  ret
  .size hk_tiny, .-hk_tiny
)");

namespace pivot::hook {
namespace {

#if PIVOT_TSAN
// ThreadSanitizer's runtime thread blocks every signal, SIGTRAP included,
// and never runs the functions hooked here.
const bool kTsanAllowsInt3 = setenv("PIVOT_HOOK_INT3", "allow", 1) == 0;
#endif

// Patch/revert rounds of the stress test: 1000 (2000 patches and 2000
// reverts across two functions); fewer under the sanitizers, which slow
// every call several times over.
#if PIVOT_TSAN
constexpr int kStressRounds = 100;
#elif PIVOT_ASAN
constexpr int kStressRounds = 250;
#else
constexpr int kStressRounds = 1000;
#endif

using ::pivot::internal::ExportSink;
using ::pivot::internal::GetExportFn;
using ::pivot::internal::Site;
using ::pivot::internal::SiteAdvice;

// Stops and joins test threads when the test ends, also when a failed
// ASSERT returns early (a joinable std::thread would terminate the test).
struct StopAndJoin {
  std::atomic<bool>& stop;
  std::vector<std::thread>& threads;
  void now() {
    stop = true;
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
  ~StopAndJoin() { now(); }
};

// Advice that records every event's exports.
struct Recorder : SiteAdvice {
  std::mutex mu;
  std::vector<std::vector<Value>> rows;
  std::atomic<int64_t> events{0};
  bool keep = true;

  Recorder() { run = &Recorder::record; }
  static void record(const SiteAdvice& self, const Site& site, void* ctx, GetExportFn get) noexcept {
    auto& r = const_cast<Recorder&>(static_cast<const Recorder&>(self));
    r.events.fetch_add(1, std::memory_order_relaxed);
    if (!r.keep) return;
    std::vector<Value> row;
    for (uint32_t i = 0; i < site.info->n_exports; ++i) {
      Value v;
      std::vector<Value> list;
      ExportSink sink(&v, &list);
      get(ctx, i, sink);
      row.push_back(v);
    }
    std::lock_guard<std::mutex> lock(r.mu);
    r.rows.push_back(std::move(row));
  }
};

void observe(const std::string& tracepoint, Recorder* r) {
  std::lock_guard<std::mutex> lock(::pivot::internal::registry_mutex());
  for (Site* s : ::pivot::internal::sites_named_locked(tracepoint)) s->advice.store(r);
}

Result<std::unique_ptr<Probes>> hook_with(const std::string& tracepoint, bool at_return,
                                          const std::string& pattern,
                                          std::vector<ProbeSpec::Export> exports) {
  ProbeSpec spec{tracepoint, at_return, pattern, std::move(exports)};
  auto probe = make_probe(spec, symbols());
  if (!probe) return probe.error();
  return Probes::attach({*probe});
}

std::vector<uint8_t> bytes_at(const void* fn, size_t n = 16) {
  std::vector<uint8_t> out(n);
  read_code(reinterpret_cast<uintptr_t>(fn), out.data(), n);
  return out;
}

template <class F>
F* opaque(F* f) {  // calls through this pointer are real calls
  F* volatile p = f;
  return p;
}

TEST(Hook, EntryExportsEveryArgumentType) {
  Recorder rec;
  auto probes =
      hook_with("t.mix", false, "hooktest::mix",
                {{"a", "arg0"}, {"b", "arg1"}, {"c", "arg2"}, {"s", "arg3"}, {"t", "arg4"}, {"u", "arg5"}});
  ASSERT_TRUE(probes) << probes.error().message();
  observe("t.mix", &rec);
  std::string t = "a std::string";
  EXPECT_EQ(opaque(&hooktest::mix)(-7, -3, 2.5, "view", t, "cstr"), -17);
  EXPECT_EQ(opaque(&hooktest::mix)(1, 2, 0.0, {}, t, nullptr), 4);
  ASSERT_EQ(rec.rows.size(), 2u);
  EXPECT_EQ(rec.rows[0], (std::vector<Value>{Value(int64_t{-7}), Value(int64_t{-3}), Value(2.5),
                                             Value("view"), Value("a std::string"), Value("cstr")}));
  EXPECT_EQ(rec.rows[1], (std::vector<Value>{Value(int64_t{1}), Value(int64_t{2}), Value(0.0), Value(""),
                                             Value("a std::string"), Value()}));
}

TEST(Hook, MemberFunctionArg0IsThis) {
  Recorder rec;
  auto probes = hook_with("t.add", false, "hooktest::Counter::add", {{"self", "arg0"}, {"delta", "arg1"}});
  ASSERT_TRUE(probes) << probes.error().message();
  observe("t.add", &rec);
  hooktest::Counter c;
  c.add(5);
  c.add(-2);
  ASSERT_EQ(rec.rows.size(), 2u);
  EXPECT_EQ(rec.rows[0][0], Value(static_cast<int64_t>(reinterpret_cast<uintptr_t>(&c))));
  EXPECT_EQ(rec.rows[0][1], Value(int64_t{5}));
  EXPECT_EQ(rec.rows[1][1], Value(int64_t{-2}));
  EXPECT_EQ(c.get(), 3);
}

TEST(Hook, ReturnExportsRetDurationAndArgumentsAtEntry) {
  Recorder rec;
  auto probes = hook_with("t.halve", true, "hooktest::halve",
                          {{"x", "arg0"}, {"small", "arg1"}, {"ret", "ret"}, {"took", "duration"}});
  ASSERT_TRUE(probes) << probes.error().message();
  observe("t.halve", &rec);
  EXPECT_EQ(opaque(&hooktest::halve)(3.0f, 65535), 65536.5f);
  ASSERT_EQ(rec.rows.size(), 1u);
  EXPECT_EQ(rec.rows[0][0], Value(3.0));
  EXPECT_EQ(rec.rows[0][1], Value(int64_t{65535}));
  ASSERT_EQ(rec.rows[0][3].type(), ValueType::kInt);
  EXPECT_GE(rec.rows[0][3].as_int(), 0);
}

TEST(Hook, UnhookRestoresTheOriginalBytesExactly) {
  for (const void* fn :
       {reinterpret_cast<const void*>(&hooktest::mix), reinterpret_cast<const void*>(&hooktest::padded),
        reinterpret_cast<const void*>(&hk_riprel), reinterpret_cast<const void*>(&hk_jcc),
        reinterpret_cast<const void*>(&hk_push)}) {
    std::vector<uint8_t> before = bytes_at(fn);
    std::string name;
    for (const FunctionSymbol& s : symbols().functions) {
      if (s.address == reinterpret_cast<uintptr_t>(fn)) name = s.demangled;
    }
    ASSERT_FALSE(name.empty());
    {
      auto probes = hook_with("t.bytes", false, name, {});
      ASSERT_TRUE(probes) << name << ": " << probes.error().message();
      EXPECT_EQ(bytes_at(fn, 1)[0], 0xE9) << name;
      EXPECT_NE(bytes_at(fn), before) << name;
    }
    EXPECT_EQ(bytes_at(fn), before) << name;
  }
}

TEST(Hook, RelocatesRipRelativeAndShortBranches) {
  Recorder rec;
  auto a = hook_with("t.rip", false, "hk_riprel", {{"x", "arg0"}});
  ASSERT_TRUE(a) << a.error().message();
  auto b = hook_with("t.jcc", true, "hk_jcc", {{"x", "arg0"}, {"r", "ret"}});
  ASSERT_TRUE(b) << b.error().message();
  observe("t.rip", &rec);
  observe("t.jcc", &rec);
  EXPECT_EQ(opaque(&hk_riprel)(2), 42);  // 40 + 2 + 40 - 40
  EXPECT_EQ(opaque(&hk_jcc)(0), -1);     // the relocated je, taken
  EXPECT_EQ(opaque(&hk_jcc)(6), 7);      // not taken
  ASSERT_EQ(rec.rows.size(), 3u);
  EXPECT_EQ(rec.rows[0][0], Value(int64_t{2}));
  EXPECT_EQ(rec.rows[1][0], Value(int64_t{0}));
  EXPECT_EQ(rec.rows[1][1], Value(int64_t{-1}));
  EXPECT_EQ(rec.rows[2][1], Value(int64_t{7}));
}

TEST(Hook, UsesAPatchableEntryPad) {
  // GCC pads with five 1-byte NOPs, which are flipped by one byte; clang
  // with one 5-byte NOP, which no thread can be inside of.
  const bool gcc_pad = bytes_at(reinterpret_cast<const void*>(&hooktest::padded), 5) ==
                       std::vector<uint8_t>{0x90, 0x90, 0x90, 0x90, 0x90};
  Recorder rec;
  auto probes = hook_with("t.pad", false, "hooktest::padded", {{"x", "arg0"}});
  ASSERT_TRUE(probes) << probes.error().message();
  ASSERT_EQ((*probes)->describe().size(), 1u);
  EXPECT_NE((*probes)->describe()[0].find(gcc_pad ? "5-byte NOP pad, flipped by one byte" : "5-byte NOP pad"),
            std::string::npos)
      << (*probes)->describe()[0];
  observe("t.pad", &rec);
  EXPECT_EQ(opaque(&hooktest::padded)(9), 10);
  ASSERT_EQ(rec.rows.size(), 1u);
  EXPECT_EQ(rec.rows[0][0], Value(int64_t{9}));
}

TEST(Hook, RefusesWhatItCannotPatchSafely) {
  auto loop = hook_with("t.r", false, "hk_loop", {});
  ASSERT_FALSE(loop);
  EXPECT_NE(loop.error().message().find("jumps to +0x2, inside the first"), std::string::npos)
      << loop.error().message();
  auto call = hook_with("t.r", false, "hk_callfirst", {});
  ASSERT_FALSE(call);
  EXPECT_NE(call.error().message().find("contain a call"), std::string::npos) << call.error().message();
  auto tiny = hook_with("t.r", false, "hk_tiny", {});
  ASSERT_FALSE(tiny);
  EXPECT_NE(tiny.error().message().find("4 bytes long"), std::string::npos) << tiny.error().message();
  // Nothing was written.
  EXPECT_EQ(opaque(&hk_loop)(3), 3);
  EXPECT_EQ(opaque(&hk_callfirst)(0), 0);
}

TEST(Hook, RefusesBadExports) {
  auto ret_at_entry = hook_with("t.e", false, "hooktest::padded", {{"r", "ret"}});
  ASSERT_FALSE(ret_at_entry);
  EXPECT_NE(ret_at_entry.error().message().find("only known at Return"), std::string::npos);
  auto out_of_range = hook_with("t.e", false, "hooktest::padded", {{"z", "arg3"}});
  ASSERT_FALSE(out_of_range);
  EXPECT_NE(out_of_range.error().message().find("arg3 does not exist"), std::string::npos)
      << out_of_range.error().message();
}

TEST(Hook, ExceptionsPropagateThroughAReturnHook) {
  Recorder entry, ret;
  auto a = hook_with("t.throw.in", false, "hooktest::thrower", {{"x", "arg0"}});
  auto b = hook_with("t.throw.out", true, "hooktest::thrower", {{"x", "arg0"}, {"r", "ret"}});
  ASSERT_TRUE(a) << a.error().message();
  ASSERT_TRUE(b) << b.error().message();
  observe("t.throw.in", &entry);
  observe("t.throw.out", &ret);
  for (int i = 1; i <= 3; ++i) {
    try {
      opaque (&hooktest::thrower)(i);
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), "boom " + std::to_string(i));
    }
  }
  EXPECT_EQ(opaque(&hooktest::thrower)(-4), 4);
  EXPECT_EQ(entry.events.load(), 4);
  ASSERT_EQ(ret.rows.size(), 1u);  // a call that threw never returned
  EXPECT_EQ(ret.rows[0][1], Value(int64_t{4}));
}

TEST(Hook, LongjmpLeavesAReturnHook) {
  Recorder ret;
  auto a = hook_with("t.jump", true, "hooktest::jumper", {{"x", "arg1"}, {"r", "ret"}});
  ASSERT_TRUE(a) << a.error().message();
  observe("t.jump", &ret);
  for (int i = 1; i <= 100; ++i) {
    std::jmp_buf env;
    int got = setjmp(env);
    if (got == 0) {
      opaque (&hooktest::jumper)(&env, i);
      ADD_FAILURE() << "no longjmp";
    } else {
      EXPECT_EQ(got, i);
    }
  }
  std::jmp_buf env;
  EXPECT_EQ(opaque(&hooktest::jumper)(&env, -1), -1);
  ASSERT_EQ(ret.rows.size(), 1u);
  EXPECT_EQ(ret.rows[0][0], Value(int64_t{-1}));
}

TEST(Hook, ThreadExitLeavesAReturnHook) {
  Recorder ret;
  auto a = hook_with("t.exit", true, "hooktest::exiter", {{"x", "arg0"}});
  ASSERT_TRUE(a) << a.error().message();
  observe("t.exit", &ret);
  for (int i = 1; i <= 20; ++i) {
    std::atomic<bool> after{false};
    std::thread t([&] {
      opaque (&hooktest::exiter)(i);
      after = true;
    });
    t.join();
    EXPECT_FALSE(after.load());
  }
  EXPECT_EQ(opaque(&hooktest::exiter)(0), 0);
  EXPECT_EQ(ret.rows.size(), 1u);
}

// A worker that blocks every signal (as servers often do) is watched
// instead of signalled: hooking waits until it is seen parked in a system
// call. Arriving threads wait at a 2-byte `jmp .`, not an int3, which would
// kill a thread that blocks SIGTRAP; where an int3 is unavoidable (a 1-byte
// first instruction) hooking is refused instead.
TEST(Hook, ThreadsThatBlockSignalsAreWaitedFor) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> wrong{0};
  std::atomic<bool> started{false};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    started = true;
    for (int64_t i = 1; !stop.load(); ++i) {
      if (opaque(&hk_jcc)(i) != i + 1) wrong++;
      usleep(100);
    }
  });
  StopAndJoin joiner{stop, threads};
  while (!started) usleep(100);
  Recorder rec;
  for (int i = 0; i < 5; ++i) {
    auto a = hook_with("t.blocked", false, "hk_jcc", {{"x", "arg0"}});
    ASSERT_TRUE(a) << a.error().message();
    int64_t before = rec.events.load();
    observe("t.blocked", &rec);
    // Let the hook fire before it goes (the worker calls every 100 us; at
    // most 2 s on a loaded machine).
    for (int k = 0; k < 20000 && rec.events.load() == before; ++k) usleep(100);
  }
  unsetenv("PIVOT_HOOK_INT3");                                  // (set under ThreadSanitizer, see above)
  auto refused = hook_with("t.blocked", false, "hk_push", {});  // push %rbx: one byte
#if PIVOT_TSAN
  setenv("PIVOT_HOOK_INT3", "allow", 1);
#endif
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("blocks SIGTRAP"), std::string::npos) << refused.error().message();
  joiner.now();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(rec.events.load(), 0);
}

// A thread that blocks every signal and never enters the kernel (a busy
// loop) can neither answer nor be seen parked: it is accepted once it has run
// 1 ms of CPU time since the barrier went up, by which time it has left the
// displaced bytes.
TEST(Hook, BusyThreadsThatBlockSignalsAreAcceptedOnceTheyRun) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> wrong{0}, calls{0};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    for (int64_t i = 1; !stop.load(std::memory_order_relaxed); ++i) {
      if (opaque(&hk_jcc)(i) != i + 1) wrong++;
      calls.fetch_add(1, std::memory_order_relaxed);
    }
  });
  StopAndJoin joiner{stop, threads};
  while (calls.load() == 0) usleep(100);
  Recorder rec;
  rec.keep = false;
  for (int i = 0; i < 5; ++i) {
    auto a = hook_with("t.busy", false, "hk_jcc", {{"x", "arg0"}});
    ASSERT_TRUE(a) << a.error().message();
    int64_t before = rec.events.load();
    observe("t.busy", &rec);
    for (int k = 0; k < 20000 && rec.events.load() == before; ++k) usleep(100);
  }
  joiner.now();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(rec.events.load(), 0);
}

// Threads call hooked functions in tight loops while their hooks are added
// and removed again and again: no call is lost or misrouted, and the code is
// restored byte for byte at the end.
TEST(Hook, PatchingIsSafeWhileThreadsRunTheFunction) {
  const std::vector<uint8_t> padded_before = bytes_at(reinterpret_cast<const void*>(&hooktest::padded));
  const std::vector<uint8_t> jcc_before = bytes_at(reinterpret_cast<const void*>(&hk_jcc));
  const std::vector<uint8_t> push_before = bytes_at(reinterpret_cast<const void*>(&hk_push));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> wrong{0}, calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      int64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        int64_t x = (n++ % 1000) + 1;
        if (opaque(&hooktest::padded)(x) != x + 1) wrong++;
        if (opaque(&hk_jcc)(t == 0 ? 0 : x) != (t == 0 ? -1 : x + 1)) wrong++;
        if (opaque(&hk_push)(x) != x + 2) wrong++;
        calls += 3;
#if PIVOT_TSAN
        // ThreadSanitizer runs a signal handler only when the thread next
        // enters one of its interceptors; this loop has none, so the
        // checkpoint would never hear back. usleep is one.
        if (n % 256 == 0) usleep(0);
#endif
      }
    });
  }
  StopAndJoin joiner{stop, threads};  // also when an assertion returns early
  Recorder rec;
  rec.keep = false;
  auto padded = make_probe({"t.s1", false, "hooktest::padded", {{"x", "arg0"}}}, symbols());
  auto jcc_entry = make_probe({"t.s2", false, "hk_jcc", {{"x", "arg0"}}}, symbols());
  auto jcc_return = make_probe({"t.s2", true, "hk_jcc", {{"x", "arg0"}}}, symbols());
  auto push = make_probe({"t.s3", false, "hk_push", {{"x", "arg0"}}}, symbols());
  ASSERT_TRUE(padded && jcc_entry && jcc_return && push);
  const int rounds = kStressRounds;
  for (int i = 0; i < rounds; ++i) {
    auto a = Probes::attach({*padded});
    auto b = Probes::attach({i % 2 == 0 ? *jcc_entry : *jcc_return});
    auto c = Probes::attach({*push});
    ASSERT_TRUE(a) << a.error().message();
    ASSERT_TRUE(b) << b.error().message();
    ASSERT_TRUE(c) << c.error().message();
    int64_t before = rec.events.load();
    observe("t.s1", &rec);
    observe("t.s2", &rec);
    observe("t.s3", &rec);
    // Let the hooks fire before they go (at most 20 ms).
    for (int k = 0; k < 200 && rec.events.load() == before; ++k) usleep(100);
  }
  joiner.now();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(calls.load(), 0);
  EXPECT_GT(rec.events.load(), 0);
  EXPECT_LE(rec.events.load(), calls.load());
  EXPECT_EQ(bytes_at(reinterpret_cast<const void*>(&hooktest::padded)), padded_before);
  EXPECT_EQ(bytes_at(reinterpret_cast<const void*>(&hk_jcc)), jcc_before);
  EXPECT_EQ(bytes_at(reinterpret_cast<const void*>(&hk_push)), push_before);
}

}  // namespace
}  // namespace pivot::hook
