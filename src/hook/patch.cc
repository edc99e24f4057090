#include "hook/patch.h"

#include <Zydis/Zydis.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace pivot::hook {
namespace {

constexpr int kJmpSize = 5;
constexpr size_t kPage = 4096;
constexpr int kMaxPatches = 4096;

std::string hex(uintptr_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(v));
  return buf;
}

// ---------------------------------------------------------------------------
// Every patch ever made, for the signal handlers (which must not lock).
// Slots are filled once and never cleared.

std::atomic<Patch*> g_patches[kMaxPatches];
std::atomic<int> g_n_patches{0};
std::atomic<const Patch*> g_in_progress{nullptr};  // the patch in step 2
// Checkpoint rounds and answers to them: an answering thread stores
// (round << 32 | tid) in slot tid % kAnswerSlots. Two threads sharing a slot
// may overwrite each other's answer; the loser is then accepted another way
// (see checkpoint), never wrongly.
constexpr int kAnswerSlots = 4096;
std::atomic<uint32_t> g_round{0};
std::atomic<uint64_t> g_answers[kAnswerSlots];

uint64_t answer_of(uint32_t round, pid_t tid) { return (uint64_t{round} << 32) | static_cast<uint32_t>(tid); }

Patch* find_patch(uintptr_t fn) {
  int n = g_n_patches.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i) {
    Patch* p = g_patches[i].load(std::memory_order_acquire);
    if (p != nullptr && p->fn == fn) return p;
  }
  return nullptr;
}

struct sigaction g_old_trap;

void on_trap(int sig, siginfo_t* info, void* uc_void) {
  auto* uc = static_cast<ucontext_t*>(uc_void);
  uintptr_t pc = uc->uc_mcontext.gregs[REG_RIP];
  if (Patch* p = find_patch(pc - 1)) {  // our int3 at F[0]: continue as the jump would
    uc->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(p->trampoline);
    return;
  }
  // Not ours: behave as if we were not here.
  if (g_old_trap.sa_flags & SA_SIGINFO) {
    if (g_old_trap.sa_sigaction != nullptr) g_old_trap.sa_sigaction(sig, info, uc_void);
    return;
  }
  if (g_old_trap.sa_handler == SIG_IGN) return;
  if (g_old_trap.sa_handler != SIG_DFL && g_old_trap.sa_handler != nullptr) {
    g_old_trap.sa_handler(sig);
    return;
  }
  signal(SIGTRAP, SIG_DFL);
  raise(SIGTRAP);
}

// Runs in a thread of the round that began last (whenever the signal was
// sent): the barrier is up, so once this returns the thread is not inside
// the displaced bytes. Under ThreadSanitizer the handler runs late, at the
// thread's next interceptor, with a copy of the context: the thread is then
// in the runtime, called from outside the displaced bytes (they hold no
// call), and the fix-up below changes nothing, as it needs to.
void on_checkpoint(int, siginfo_t*, void* uc_void) {
  int saved_errno = errno;
  uint32_t round = g_round.load(std::memory_order_acquire);
  auto* uc = static_cast<ucontext_t*>(uc_void);
  if (const Patch* p = g_in_progress.load(std::memory_order_acquire)) {
    uintptr_t pc = uc->uc_mcontext.gregs[REG_RIP];
    if (pc > p->fn && pc < p->fn + p->n) {
      for (int i = 0; i < p->n_insns; ++i) {
        if (p->fn + p->orig_at[i] == pc) {
          uc->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(p->body + p->body_at[i]);
          break;
        }
      }
    }
  }
  auto tid = static_cast<pid_t>(syscall(SYS_gettid));
  g_answers[tid % kAnswerSlots].store(answer_of(round, tid), std::memory_order_release);
  errno = saved_errno;
}

bool g_sync_core = false;  // membarrier SYNC_CORE registered

void install_handlers_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTRAP, &sa, &g_old_trap);
    struct sigaction cp {};
    cp.sa_sigaction = on_checkpoint;
    cp.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&cp.sa_mask);
    sigaction(checkpoint_signal(), &cp, nullptr);
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) != 0) {
      g_sync_core = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) == 0;
    }
  });
}

// ---------------------------------------------------------------------------
// Threads.

std::vector<pid_t> other_threads() {
  std::vector<pid_t> out;
  pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    pid_t tid = static_cast<pid_t>(std::atoi(e->d_name));
    if (tid > 0 && tid != self) out.push_back(tid);
  }
  closedir(d);
  return out;
}

// True when thread tid is blocked (in a system call or stopped) with its pc
// outside [lo, hi): it can only run again through code we already control.
bool parked_outside(pid_t tid, uintptr_t lo, uintptr_t hi) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[256];
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return false;
  buf[len] = '\0';
  if (std::strncmp(buf, "running", 7) == 0) return false;
  const char* last = std::strrchr(buf, ' ');  // "nr args... sp pc" or "-1 sp pc"
  if (last == nullptr) return false;
  uintptr_t pc = std::strtoul(last + 1, nullptr, 16);
  return pc != 0 && (pc < lo || pc >= hi);
}

bool thread_alive(pid_t pid, pid_t tid) { return syscall(SYS_tgkill, pid, tid, 0) == 0; }

// Nanoseconds thread tid has spent on a CPU (/proc/.../schedstat), or -1.
int64_t cpu_time_ns(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[96];
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return -1;
  buf[len] = '\0';
  return std::strtoll(buf, nullptr, 10);
}

// True when thread tid blocks signal `sig` (SigBlk in its status), as
// servers often do in worker threads.
bool blocks_signal(pid_t tid, int sig) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) return false;
  char line[256];
  bool blocked = false;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "SigBlk:", 7) == 0) {
      unsigned long long mask = std::strtoull(line + 7, nullptr, 16);
      blocked = (mask >> (sig - 1)) & 1;
      break;
    }
  }
  std::fclose(f);
  return blocked;
}

// Waits until no other thread can be inside [lo, hi) but through code we
// control, for at most `patience`. Each thread that may be running user code
// is accepted when
//  - it answers the checkpoint signal (not sent to threads that block it), or
//  - it is seen blocked in a system call (or stopped) outside the range, or
//  - it has run 1 ms of CPU time since the round began: the displaced bytes
//    are a few straight-line instructions (no call, branch or system call),
//    and it can come back to them only through the barrier. This also
//    accepts a busy thread whose handler ThreadSanitizer defers.
// With `everyone` (serializing every core without membarrier SYNC_CORE)
// each thread that accepts the signal must answer: returning from the
// handler is what serializes it.
bool checkpoint(uintptr_t lo, uintptr_t hi, bool everyone, std::chrono::milliseconds patience) {
  int sig = checkpoint_signal();
  pid_t pid = getpid();
  auto deadline = std::chrono::steady_clock::now() + patience;
  uint32_t round =
      g_round.fetch_add(1, std::memory_order_acq_rel) + 1;  // after the barrier and g_in_progress
  struct Waiting {
    pid_t tid;
    bool signalled;
    int64_t ran;  // ns on a CPU at the start of the round, -1 when unknown
  };
  std::vector<Waiting> waiting;
  for (pid_t tid : other_threads()) {
    if (!everyone && parked_outside(tid, lo, hi)) continue;
    bool blocked = blocks_signal(tid, sig);
    if (!blocked && syscall(SYS_tgkill, pid, tid, sig) != 0) continue;  // ESRCH: it exited meanwhile
    waiting.push_back({tid, !blocked, cpu_time_ns(tid)});
  }
  for (int polls = 0;; ++polls) {
    std::erase_if(waiting, [&](const Waiting& w) {
      if (w.signalled &&
          g_answers[w.tid % kAnswerSlots].load(std::memory_order_acquire) == answer_of(round, w.tid)) {
        return true;
      }
      if (!thread_alive(pid, w.tid)) return true;
      if (everyone && w.signalled) return false;
      if (parked_outside(w.tid, lo, hi)) return true;
      int64_t now = w.ran < 0 ? -1 : cpu_time_ns(w.tid);
      return now >= 0 && now - w.ran >= 1'000'000;
    });
    if (waiting.empty()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (polls < 16) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(100));  // leave the CPU to the threads waited for
    }
  }
}

// Makes every thread's instruction stream see the bytes written so far.
void sync_cores(uintptr_t lo, uintptr_t hi) {
  if (g_sync_core) {
    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
  } else {
    checkpoint(lo, hi, true, std::chrono::seconds(5));  // returning from a signal handler serializes (iret)
  }
}

// ---------------------------------------------------------------------------
// Writing code.

bool set_writable(uintptr_t at, size_t len, bool writable) {
  uintptr_t lo = at & ~(kPage - 1);
  uintptr_t hi = (at + len + kPage - 1) & ~(kPage - 1);
  int prot = PROT_READ | PROT_EXEC | (writable ? PROT_WRITE : 0);
  return mprotect(reinterpret_cast<void*>(lo), hi - lo, prot) == 0;
}

// Code is read and written with plain moves in asm: sanitizers instrument
// C++ accesses, and ThreadSanitizer has no shadow memory for program text.
void store_byte(uintptr_t at, uint8_t v) { asm volatile("movb %1, (%0)" : : "r"(at), "q"(v) : "memory"); }

void store_bytes(uintptr_t at, const uint8_t* bytes, int n) {
  for (int i = 0; i < n; ++i) store_byte(at + i, bytes[i]);
}

// One 16-bit store, atomic on x86 within a cache line even unaligned (as
// Windows hot-patching relies on); asm, since C++ has no unaligned atomics.
void store_pair(uintptr_t at, uint8_t b0, uint8_t b1) {
  uint16_t v = static_cast<uint16_t>(b0 | (b1 << 8));
  asm volatile("movw %1, (%0)" : : "r"(at), "r"(v) : "memory");
}

constexpr uint8_t kSpin[2] = {0xEB, 0xFE};  // jmp . (a thread that arrives waits there)

// True when any thread but this one blocks SIGTRAP: an int3 it ran into
// would kill the process (the kernel forces synchronous signals).
// PIVOT_HOOK_INT3=allow says those threads never run hooked code (say,
// ThreadSanitizer's runtime thread, which blocks every signal).
bool someone_blocks_sigtrap() {
  const char* allow = std::getenv("PIVOT_HOOK_INT3");
  if (allow != nullptr && std::strcmp(allow, "allow") == 0) return false;
  for (pid_t tid : other_threads()) {
    if (blocks_signal(tid, SIGTRAP)) return true;
  }
  return false;
}

// A page within a 32-bit displacement of `near`, for one trampoline.
uintptr_t alloc_near(uintptr_t near) {
  constexpr uintptr_t kStep = 1 << 20;
  constexpr uintptr_t kReach = (1ull << 31) - (64ull << 20);
  uintptr_t base = near & ~(kPage - 1);
  for (uintptr_t d = kStep; d < kReach; d += kStep) {
    for (uintptr_t hint : {base - d, base + d}) {
      if (hint < (1ull << 16) || hint >= (1ull << 47)) continue;
      void* p = mmap(reinterpret_cast<void*>(hint), kPage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (p == MAP_FAILED) continue;
      if (reinterpret_cast<uintptr_t>(p) == hint) return hint;
      munmap(p, kPage);  // an old kernel that took it as a hint only
    }
  }
  return 0;
}

// Pages that hold our trampolines (guarded by prepare()'s mutex).
std::vector<uintptr_t>& own_pages() {
  static auto* v = new std::vector<uintptr_t>;
  return *v;
}

// Makes [lo, hi) writable for a new trampoline at exactly that place:
// pages there must be free, or already ours (a neighbour's trampoline runs
// there: it stays executable while we write beside it).
bool map_code_at(uintptr_t lo, uintptr_t hi) {
  for (uintptr_t page = lo & ~(kPage - 1); page < hi; page += kPage) {
    auto& own = own_pages();
    if (std::find(own.begin(), own.end(), page) != own.end()) {
      if (mprotect(reinterpret_cast<void*>(page), kPage, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
        return false;
      continue;
    }
    void* m = mmap(reinterpret_cast<void*>(page), kPage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (m == MAP_FAILED) return false;
    if (reinterpret_cast<uintptr_t>(m) != page) {
      munmap(m, kPage);
      return false;
    }
    own.push_back(page);
  }
  return true;
}

struct Decoder {
  ZydisDecoder d;
  Decoder() { ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64); }
  bool decode(uintptr_t at, size_t avail, ZydisDecodedInstruction* insn, ZydisDecodedOperand* ops) const {
    return ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, reinterpret_cast<const void*>(at), avail, insn, ops));
  }
};

bool is_relative_branch(const ZydisDecodedInstruction& insn) {
  return (insn.attributes & ZYDIS_ATTRIB_IS_RELATIVE) != 0 &&
         (insn.meta.category == ZYDIS_CATEGORY_COND_BR || insn.meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
          insn.meta.category == ZYDIS_CATEGORY_CALL);
}

std::string text_of(const ZydisDecodedInstruction& insn, const ZydisDecodedOperand* ops, uintptr_t at) {
  ZydisFormatter f;
  ZydisFormatterInit(&f, ZYDIS_FORMATTER_STYLE_ATT);
  char buf[96];
  if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&f, &insn, ops, insn.operand_count_visible, buf,
                                                    sizeof buf, at, nullptr))) {
    return "?";
  }
  return buf;
}

// Checks that no branch in [fn, fn+size) lands inside fn+1..fn+n-1.
Status check_no_jump_into(const Decoder& dec, uintptr_t fn, size_t size, int n) {
  uintptr_t at = fn;
  ZydisDecodedInstruction insn;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  while (at < fn + size) {
    if (!dec.decode(at, fn + size - at, &insn, ops)) {
      return Error("cannot decode the instruction at +" + hex(at - fn) +
                   "; not patching a function it cannot read");
    }
    if (is_relative_branch(insn)) {
      ZyanU64 target = 0;
      if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&insn, &ops[0], at, &target)) && target > fn &&
          target < fn + static_cast<uintptr_t>(n)) {
        return Error("the instruction at +" + hex(at - fn) + " jumps to +" + hex(target - fn) +
                     ", inside the first " + std::to_string(n) + " bytes that the hook replaces");
      }
    }
    at += insn.length;
  }
  return Status();
}

}  // namespace

void read_code(uintptr_t at, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint8_t b;
    asm volatile("movb (%1), %0" : "=q"(b) : "r"(at + i) : "memory");
    out[i] = b;
  }
}

int checkpoint_signal() {
  static const int sig = [] {
    if (const char* s = std::getenv("PIVOT_HOOK_SIGNAL")) {
      int v = std::atoi(s);
      if (v > 0 && v < NSIG) return v;
    }
    return SIGRTMIN + 5;
  }();
  return sig;
}

std::string Patch::describe() const {
  if (pad) return std::to_string(n) + "-byte NOP pad" + (flip ? ", flipped by one byte" : "");
  return "relocated " + std::to_string(n_insns) + " instruction(s), " + std::to_string(n) + " bytes";
}

Result<Patch*> prepare(uintptr_t fn, size_t size, HookHeader* hook) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (Patch* p = find_patch(fn)) {
    if (reinterpret_cast<HookHeader*>(*reinterpret_cast<const uint64_t*>(p->trampoline + 2)) != hook) {
      return Error("internal: function " + hex(fn) + " is already patched for another hook");
    }
    return p;
  }
  if (size < static_cast<size_t>(kJmpSize)) {
    return Error("the function is " + std::to_string(size) + " bytes long, shorter than the " +
                 std::to_string(kJmpSize) + "-byte jump a hook needs");
  }
  Decoder dec;
  ZydisDecodedInstruction insn;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];

  // The displaced instructions.
  auto patch = std::make_unique<Patch>();
  Patch& p = *patch;
  p.fn = fn;
  p.pad = true;
  struct Displaced {
    uintptr_t at;
    ZydisDecodedInstruction insn;
    std::array<ZydisDecodedOperand, ZYDIS_MAX_OPERAND_COUNT> ops;
  };
  std::vector<Displaced> displaced;
  while (p.n < kJmpSize) {
    uintptr_t at = fn + p.n;
    if (!dec.decode(at, fn + size - at, &insn, ops)) {
      return Error("cannot decode the instruction at +" + hex(at - fn));
    }
    if (p.n + insn.length > kMaxDisplaced) return Error("the first instructions are too long to relocate");
    std::string what = text_of(insn, ops, at);
    if (insn.meta.category == ZYDIS_CATEGORY_CALL) {
      return Error("the first " + std::to_string(kJmpSize) + " bytes contain a call (" + what +
                   "), which cannot be moved without breaking unwinding");
    }
    if (insn.meta.category == ZYDIS_CATEGORY_RET ||
        (insn.meta.category == ZYDIS_CATEGORY_UNCOND_BR && p.n + insn.length < kJmpSize) ||
        insn.mnemonic == ZYDIS_MNEMONIC_INT3 || insn.mnemonic == ZYDIS_MNEMONIC_UD2 ||
        insn.mnemonic == ZYDIS_MNEMONIC_SYSCALL) {
      return Error("the function leaves (" + what + ") within its first " + std::to_string(kJmpSize) +
                   " bytes; it is too short to hook");
    }
    if ((insn.attributes & ZYDIS_ATTRIB_IS_RELATIVE) != 0 && !is_relative_branch(insn) &&
        !(insn.attributes & ZYDIS_ATTRIB_HAS_MODRM)) {
      return Error("cannot relocate '" + what + "' (a relative instruction other than jmp/jcc)");
    }
    if (insn.mnemonic != ZYDIS_MNEMONIC_NOP) p.pad = false;  // GCC: five 1-byte NOPs; clang: one 5-byte NOP
    p.orig_at[p.n_insns++] = static_cast<uint8_t>(p.n);
    read_code(at, p.original + p.n, insn.length);
    displaced.push_back({at, insn, {}});
    std::memcpy(displaced.back().ops.data(), ops, sizeof ops);
    p.n += insn.length;
  }
  if (static_cast<size_t>(p.n) > size)
    return Error("the function is shorter than the instructions a hook moves");
  if (Status s = check_no_jump_into(dec, fn, size, p.n); !s) return s.error();

  // The trampoline: mov r11, hook; jmp [rip]; .quad stub; then the body.
  // For a pad it goes where the jump's offset is 0x90909090, so the offset
  // bytes are the pad's own NOPs and one byte flips the jump on (apply()).
  constexpr size_t kTrampoline = 128;  // room for the body of any patch
  uintptr_t page = 0;
  if (p.pad && p.n == kJmpSize && p.n_insns == kJmpSize) {  // five 1-byte NOPs
    uintptr_t t =
        fn + kJmpSize + static_cast<uintptr_t>(static_cast<int64_t>(static_cast<int32_t>(0x90909090)));
    if (t > (1ull << 16) && t < fn && map_code_at(t, t + kTrampoline)) {
      page = t;
      p.flip = true;
    }
  }
  if (page == 0) {
    page = alloc_near(fn);
    if (page == 0) return Error("no free memory within 2 GiB of the function for its trampoline");
    own_pages().push_back(page);
  }
  // Nothing is unmapped on an error below: the page may be shared, and an
  // error here is rare.
  auto* code = reinterpret_cast<uint8_t*>(page);
  size_t at = 0;
  auto put = [&](std::initializer_list<uint8_t> bytes) {
    for (uint8_t b : bytes) code[at++] = b;
  };
  auto put64 = [&](uint64_t v) {
    std::memcpy(code + at, &v, 8);
    at += 8;
  };
  put({0x49, 0xBB});  // mov r11, imm64
  put64(reinterpret_cast<uint64_t>(hook));
  put({0xFF, 0x25, 0, 0, 0, 0});  // jmp [rip+0]
  put64(reinterpret_cast<uint64_t>(&pivot_hook_stub));
  at = 32;
  p.trampoline = page;
  p.body = page + at;
  for (int i = 0; i < p.n_insns; ++i) {
    const Displaced& d = displaced[i];
    p.body_at[i] = static_cast<uint8_t>(at - 32);
    if (p.pad) continue;  // NOPs need no copy
    if ((d.insn.attributes & ZYDIS_ATTRIB_IS_RELATIVE) == 0) {
      read_code(d.at, code + at, d.insn.length);
      at += d.insn.length;
      continue;
    }
    ZydisEncoderRequest req;
    if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(&d.insn, d.ops.data(),
                                                                     d.insn.operand_count_visible, &req))) {
      return Error("cannot re-encode '" + text_of(d.insn, d.ops.data(), d.at) + "'");
    }
    for (int k = 0; k < req.operand_count; ++k) {  // relative operands become absolute addresses
      const ZydisDecodedOperand& op = d.ops[k];
      ZyanU64 abs = 0;
      if (op.type == ZYDIS_OPERAND_TYPE_IMMEDIATE && op.imm.is_relative) {
        ZydisCalcAbsoluteAddress(&d.insn, &op, d.at, &abs);
        req.operands[k].imm.u = abs;
      } else if (op.type == ZYDIS_OPERAND_TYPE_MEMORY && op.mem.base == ZYDIS_REGISTER_RIP) {
        ZydisCalcAbsoluteAddress(&d.insn, &op, d.at, &abs);
        req.operands[k].mem.displacement = static_cast<ZyanI64>(abs);
      }
    }
    req.branch_type = ZYDIS_BRANCH_TYPE_NONE;
    req.branch_width = ZYDIS_BRANCH_WIDTH_NONE;
    ZyanUSize len = kTrampoline - at - 16;
    if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstructionAbsolute(&req, code + at, &len, page + at))) {
      return Error("cannot relocate '" + text_of(d.insn, d.ops.data(), d.at) + "' to the trampoline");
    }
    at += len;
  }
  put({0xFF, 0x25, 0, 0, 0, 0});  // jmp [rip+0] back to F+n
  put64(fn + p.n);
  for (uintptr_t pg = page & ~(kPage - 1); pg < page + kTrampoline; pg += kPage) {
    if (mprotect(reinterpret_cast<void*>(pg), kPage, PROT_READ | PROT_EXEC) != 0) {
      return Error("cannot make the trampoline executable");
    }
  }
  int slot = g_n_patches.load(std::memory_order_relaxed);
  if (slot >= kMaxPatches) {
    return Error("too many hooked functions (" + std::to_string(kMaxPatches) + ")");
  }
  Patch* out = patch.release();  // never freed: see patch.h
  g_patches[slot].store(out, std::memory_order_release);
  g_n_patches.store(slot + 1, std::memory_order_release);
  return out;
}

namespace {
std::mutex& patch_mutex() {
  static std::mutex mu;
  return mu;
}
}  // namespace

Status apply(Patch& p) {
  install_handlers_once();
  std::lock_guard<std::mutex> lock(patch_mutex());
  if (p.applied) return Status();
  uintptr_t lo = p.fn, hi = p.fn + p.n;
  if (p.flip) {  // NOP -> jmp over the pad's own NOPs: a thread anywhere in the pad is fine either way
    if (!set_writable(p.fn, 1, true)) return Error("cannot make the function's code writable (mprotect)");
    store_byte(p.fn, 0xE9);
    sync_cores(lo, hi);
    set_writable(p.fn, 1, false);
    p.applied = true;
    return Status();
  }
  // The barrier that holds arriving threads during the checkpoint: a 2-byte
  // `jmp .` when no thread can be at F+1 (the first instruction is longer
  // than a byte), else int3.
  bool spin = p.n_insns > 1 ? p.orig_at[1] >= 2 : p.n >= 2;
  spin = spin && (p.fn & 63) != 63;
  if (!spin && someone_blocks_sigtrap()) {
    return Error(
        "its first instruction is one byte long, so patching it needs an int3, and a thread of this "
        "process blocks SIGTRAP (which an int3 would turn into a crash); not patching (set "
        "PIVOT_HOOK_INT3=allow if the threads that block SIGTRAP never run it)");
  }
  if (!set_writable(p.fn, p.n, true)) return Error("cannot make the function's code writable (mprotect)");
  auto release = [&] {  // undoes the barrier: the original bytes again
    if (spin) {
      store_pair(p.fn, p.original[0], p.original[1]);
    } else {
      store_byte(p.fn, p.original[0]);
    }
    sync_cores(lo, hi);
  };
  // A thread that blocks the checkpoint signal and keeps running (or waits
  // at the barrier) is given up on after a short while: the barrier is
  // lifted, and the round tried again, for up to 5 s.
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (bool clear = false; !clear;) {
    if (spin) {
      store_pair(p.fn, kSpin[0], kSpin[1]);
    } else {
      store_byte(p.fn, 0xCC);
    }
    sync_cores(lo, hi);
    g_in_progress.store(&p, std::memory_order_release);
    // One displaced instruction has no boundary a thread could stop at.
    clear = p.n_insns == 1 || checkpoint(lo, hi, false, std::chrono::milliseconds(50));
    g_in_progress.store(nullptr, std::memory_order_release);
    if (clear) break;
    release();
    if (std::chrono::steady_clock::now() > give_up) {
      set_writable(p.fn, p.n, false);
      return Error(
          "a thread neither answered the patching signal " + std::to_string(checkpoint_signal()) +
          ", nor blocked in a system call, nor ran 1 ms within 5 s (a starved thread?); not patching");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  uint8_t jmp[kJmpSize] = {0xE9};
  int32_t rel =
      static_cast<int32_t>(static_cast<int64_t>(p.trampoline) - static_cast<int64_t>(p.fn + kJmpSize));
  std::memcpy(jmp + 1, &rel, 4);
  for (int i = kJmpSize; i < p.n; ++i) store_byte(p.fn + i, 0xCC);  // never run: no branch lands there
  if (spin) {
    store_bytes(p.fn + 2, jmp + 2, kJmpSize - 2);
    sync_cores(lo, hi);
    store_pair(p.fn, jmp[0], jmp[1]);
  } else {
    store_bytes(p.fn + 1, jmp + 1, kJmpSize - 1);
    sync_cores(lo, hi);
    store_byte(p.fn, jmp[0]);
  }
  sync_cores(lo, hi);
  set_writable(p.fn, p.n, false);
  p.applied = true;
  return Status();
}

// While patched, no thread can be at F+1 (inside the jmp), so a 2-byte
// `jmp .` holds arriving threads while the rest goes back, whatever the
// original instructions were; then the first two bytes return at once.
void revert(Patch& p) {
  std::lock_guard<std::mutex> lock(patch_mutex());
  if (!p.applied) return;
  uintptr_t lo = p.fn, hi = p.fn + p.n;
  if (!set_writable(p.fn, p.n, true)) return;  // cannot happen once apply() managed it
  if (p.flip) {
    store_byte(p.fn, 0x90);
  } else if ((p.fn & 63) != 63) {
    store_pair(p.fn, kSpin[0], kSpin[1]);
    sync_cores(lo, hi);
    store_bytes(p.fn + 2, p.original + 2, p.n - 2);
    sync_cores(lo, hi);
    store_pair(p.fn, p.original[0], p.original[1]);
  } else {  // the pair would straddle a cache line: int3, as in apply()
    store_byte(p.fn, 0xCC);
    sync_cores(lo, hi);
    store_bytes(p.fn + 1, p.original + 1, p.n - 1);
    sync_cores(lo, hi);
    store_byte(p.fn, p.original[0]);
  }
  sync_cores(lo, hi);
  set_writable(p.fn, p.n, false);
  p.applied = false;
}

}  // namespace pivot::hook
