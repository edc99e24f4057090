#include "hook/patch.h"

#include <Zydis/Zydis.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "hook/raw_syscall.h"
#include "hook/sanitizer.h"

namespace pivot::hook {
namespace {

constexpr int kJmpSize = 5;
constexpr size_t kPage = 4096;
constexpr int kMaxPatches = kMaxHooks;

std::string hex(uintptr_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(v));
  return buf;
}

// The one patching lock: prepare(), apply() and revert() run under it, so
// one function is patched at a time and the trampoline pages, the patch
// list and the round counter below have one writer.
std::mutex& patching_lock() {
  static std::mutex mu;
  return mu;
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

// answer_of(), find_patch() and load_acquire() run in the signal handlers
// below, so they are uninstrumented as well (sanitizer.h).
// std::atomic<T*>::load is not always inlined, and its out-of-line copy is
// instrumented: the handlers read pointers with the builtin.
template <typename T>
[[gnu::always_inline]] inline T* load_acquire(const std::atomic<T*>& a) {
  static_assert(sizeof(std::atomic<T*>) == sizeof(T*));
  return __atomic_load_n(reinterpret_cast<T* const*>(&a), __ATOMIC_ACQUIRE);
}

PIVOT_HOOK_UNINSTRUMENTED uint64_t answer_of(uint32_t round, int tid) {
  return (uint64_t{round} << 32) | static_cast<uint32_t>(tid);
}

PIVOT_HOOK_UNINSTRUMENTED Patch* find_patch(uintptr_t fn) {
  int n = g_n_patches.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i) {
    Patch* p = load_acquire(g_patches[i]);
    if (p != nullptr && p->fn == fn) return p;
  }
  return nullptr;
}

struct sigaction g_old_trap;

// The signal handlers are compiled without sanitizer instrumentation: a
// thread may trap on a barrier, or take the checkpoint signal, while
// ThreadSanitizer is setting it up or tearing it down (sanitizer.h).
PIVOT_HOOK_UNINSTRUMENTED void on_trap(int sig, siginfo_t* info, void* uc_void) {
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
// call), and the fix-up below changes nothing, as it needs to. It calls no
// library function: the one being patched may be any of them.
PIVOT_HOOK_UNINSTRUMENTED void on_checkpoint(int, siginfo_t*, void* uc_void) {
  uint32_t round = g_round.load(std::memory_order_acquire);
  auto* uc = static_cast<ucontext_t*>(uc_void);
  if (const Patch* p = load_acquire(g_in_progress)) {
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
  int tid = sys::gettid();
  g_answers[tid % kAnswerSlots].store(answer_of(round, tid), std::memory_order_release);
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
    long cmds = sys::membarrier(MEMBARRIER_CMD_QUERY);
    if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) != 0) {
      g_sync_core = sys::membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) == 0;
    }
  });
}

// ---------------------------------------------------------------------------
// Threads, read from /proc with system calls only (see raw_syscall.h): this
// runs while the barrier is up.

// "/proc/self/task/<tid>/<leaf>" into out (at least 64 bytes).
void task_path(int tid, const char* leaf, char* out) {
  const char* prefix = "/proc/self/task/";
  size_t n = 0;
  while (*prefix) out[n++] = *prefix++;
  char digits[12];
  int d = 0;
  do {
    digits[d++] = static_cast<char>('0' + tid % 10);
    tid /= 10;
  } while (tid > 0);
  while (d > 0) out[n++] = digits[--d];
  out[n++] = '/';
  while (*leaf) out[n++] = *leaf++;
  out[n] = '\0';
}

// Reads a small /proc file into buf (NUL-terminated); its length, or -1.
long read_proc(int tid, const char* leaf, char* buf, size_t size) {
  char path[64];
  task_path(tid, leaf, path);
  long fd = sys::open_read(path);
  if (fd < 0) return -1;
  long len = sys::read(static_cast<int>(fd), buf, size - 1);
  sys::close(static_cast<int>(fd));
  if (len <= 0) return -1;
  buf[len] = '\0';
  return len;
}

// strncmp and strstr, for the code under the barrier (no library calls).
bool starts_with(const char* s, const char* prefix) {
  for (; *prefix; ++s, ++prefix) {
    if (*s != *prefix) return false;
  }
  return true;
}

const char* find(const char* s, const char* word) {
  for (; *s; ++s) {
    if (starts_with(s, word)) return s;
  }
  return nullptr;
}

uint64_t parse_number(const char* s, int base, const char** end = nullptr) {
  uint64_t v = 0;
  if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
  for (;; ++s) {
    int digit;
    if (*s >= '0' && *s <= '9') {
      digit = *s - '0';
    } else if (base == 16 && *s >= 'a' && *s <= 'f') {
      digit = *s - 'a' + 10;
    } else if (base == 16 && *s >= 'A' && *s <= 'F') {
      digit = *s - 'A' + 10;
    } else {
      break;
    }
    v = v * base + digit;
  }
  if (end) *end = s;
  return v;
}

// The threads of this process but the caller, into out (its capacity is
// not exceeded); false when the list could not be read or did not fit.
bool other_threads(std::vector<int>& out) {
  out.clear();
  int self = sys::gettid();
  long fd = sys::open_read("/proc/self/task", O_DIRECTORY);
  if (fd < 0) return false;
  alignas(8) char buf[4096];
  bool fits = true;
  for (;;) {
    long len = sys::getdents64(static_cast<int>(fd), buf, sizeof buf);
    if (len <= 0) {
      fits = fits && len == 0;
      break;
    }
    for (long at = 0; at < len;) {
      // struct linux_dirent64 { u64 ino; s64 off; u16 reclen; u8 type; char name[]; }
      auto reclen =
          static_cast<uint16_t>(static_cast<uint8_t>(buf[at + 16]) | static_cast<uint8_t>(buf[at + 17]) << 8);
      const char* name = buf + at + 19;
      at += reclen;
      if (name[0] < '0' || name[0] > '9') continue;
      int tid = static_cast<int>(parse_number(name, 10));
      if (tid == self) continue;
      if (out.size() == out.capacity()) {
        fits = false;
        break;
      }
      out.push_back(tid);  // within capacity: no allocation
    }
  }
  sys::close(static_cast<int>(fd));
  return fits;
}

// True when thread tid is blocked (in a system call or stopped) with its pc
// outside [lo, hi): it can only run again through code we already control.
bool parked_outside(int tid, uintptr_t lo, uintptr_t hi) {
  char buf[256];
  long len = read_proc(tid, "syscall", buf, sizeof buf);
  if (len <= 0 || starts_with(buf, "running")) return false;
  const char* last = nullptr;  // "nr args... sp pc" or "-1 sp pc"
  for (long i = 0; i < len; ++i) {
    if (buf[i] == ' ') last = buf + i;
  }
  if (last == nullptr) return false;
  uintptr_t pc = parse_number(last + 1, 16);
  return pc != 0 && (pc < lo || pc >= hi);
}

bool thread_alive(int pid, int tid) { return sys::tgkill(pid, tid, 0) == 0; }

// Nanoseconds thread tid has spent on a CPU (/proc/.../schedstat), or -1.
int64_t cpu_time_ns(int tid) {
  char buf[96];
  if (read_proc(tid, "schedstat", buf, sizeof buf) <= 0) return -1;
  return static_cast<int64_t>(parse_number(buf, 10));
}

// True when thread tid blocks signal `sig` (SigBlk in its status), as
// servers often do in worker threads.
bool blocks_signal(int tid, int sig) {
  char buf[4096];
  if (read_proc(tid, "status", buf, sizeof buf) <= 0) return false;
  const char* at = find(buf, "SigBlk:");
  if (at == nullptr) return false;
  at += 7;
  while (*at == '\t' || *at == ' ') ++at;
  uint64_t mask = parse_number(at, 16);
  return (mask >> (sig - 1)) & 1;
}

// One thread waited for by a checkpoint.
struct Waiting {
  int tid;
  bool signalled;
  int64_t ran;  // ns on a CPU at the start of the round, -1 when unknown
};

// Scratch of checkpoint(), sized before the barrier goes up (guarded by the
// patching lock).
struct CheckpointScratch {
  std::vector<int> tids;
  std::vector<Waiting> waiting;
  std::vector<int> probe;
  void reserve_for_threads() {
    size_t n = 0;
    if (probe.capacity() < (1 << 16)) probe.reserve(1 << 16);
    if (other_threads(probe)) n = probe.size();
    size_t want = 2 * n + 64;
    if (tids.capacity() < want) tids.reserve(want);
    if (waiting.capacity() < want) waiting.reserve(want);
  }
};

CheckpointScratch& scratch() {
  static auto* s = new CheckpointScratch;
  return *s;
}

// Waits until no other thread can be inside [lo, hi) but through code we
// control, for at most `patience_ns`. Each thread that may be running user
// code is accepted when
//  - it answers the checkpoint signal (not sent to threads that block it), or
//  - it is seen blocked in a system call (or stopped) outside the range, or
//  - it has run 1 ms of CPU time since the round began: the displaced bytes
//    are a few straight-line instructions (no call, branch or system call),
//    and it can come back to them only through the barrier. This also
//    accepts a busy thread whose handler ThreadSanitizer defers.
// With `everyone` (serializing every core without membarrier SYNC_CORE)
// each thread that accepts the signal must answer: returning from the
// handler is what serializes it.
// Runs under the barrier: system calls only, into scratch() sized before.
bool checkpoint(uintptr_t lo, uintptr_t hi, bool everyone, int64_t patience_ns) {
  int sig = checkpoint_signal();
  int pid = sys::getpid();
  int64_t deadline = sys::monotonic_ns() + patience_ns;
  uint32_t round =
      g_round.fetch_add(1, std::memory_order_acq_rel) + 1;  // after the barrier and g_in_progress
  CheckpointScratch& s = scratch();
  if (!other_threads(s.tids)) return false;  // more threads than room: the caller retries
  s.waiting.clear();
  for (int tid : s.tids) {
    if (!everyone && parked_outside(tid, lo, hi)) continue;
    bool blocked = blocks_signal(tid, sig);
    if (!blocked && sys::tgkill(pid, tid, sig) != 0) continue;  // ESRCH: it exited meanwhile
    s.waiting.push_back({tid, !blocked, cpu_time_ns(tid)});     // within capacity
  }
  auto accepted = [&](const Waiting& w) {
    if (w.signalled &&
        g_answers[w.tid % kAnswerSlots].load(std::memory_order_acquire) == answer_of(round, w.tid)) {
      return true;
    }
    if (!thread_alive(pid, w.tid)) return true;
    if (everyone && w.signalled) return false;
    if (parked_outside(w.tid, lo, hi)) return true;
    int64_t now = w.ran < 0 ? -1 : cpu_time_ns(w.tid);
    return now >= 0 && now - w.ran >= 1'000'000;
  };
  for (int polls = 0;; ++polls) {
    for (size_t i = 0; i < s.waiting.size();) {
      if (accepted(s.waiting[i])) {
        s.waiting[i] = s.waiting.back();
        s.waiting.pop_back();
      } else {
        ++i;
      }
    }
    if (s.waiting.empty()) return true;
    if (sys::monotonic_ns() > deadline) return false;
    if (polls < 16) {
      sys::sched_yield();
    } else {
      sys::sleep_ns(100'000);  // leave the CPU to the threads waited for
    }
  }
}

// Makes every thread's instruction stream see the bytes written so far.
void sync_cores(uintptr_t lo, uintptr_t hi) {
  if (g_sync_core) {
    sys::membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE);
  } else {
    checkpoint(lo, hi, true, 5'000'000'000);  // returning from a signal handler serializes (iret)
  }
}

// ---------------------------------------------------------------------------
// Writing code.

bool set_writable(uintptr_t at, size_t len, bool writable) {
  uintptr_t lo = at & ~(kPage - 1);
  uintptr_t hi = (at + len + kPage - 1) & ~(kPage - 1);
  int prot = PROT_READ | PROT_EXEC | (writable ? PROT_WRITE : 0);
  return sys::mprotect(lo, hi - lo, prot) == 0;
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
  std::vector<int> tids;
  tids.reserve(1 << 16);
  other_threads(tids);
  return std::any_of(tids.begin(), tids.end(), [](int tid) { return blocks_signal(tid, SIGTRAP); });
}

// ---------------------------------------------------------------------------
// Preparing a patch: decode the prologue, place the trampoline, emit it,
// publish the patch.

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

// One instruction the jump displaces.
struct Displaced {
  uintptr_t at;
  ZydisDecodedInstruction insn;
  std::array<ZydisDecodedOperand, ZYDIS_MAX_OPERAND_COUNT> ops;
};

// Checks that no branch in [from, from+size) lands inside fn+1..fn+n-1;
// `where` names `from` in the error ("" when it is fn itself). Code that
// cannot be decoded is an error in fn, and ends the scan of a neighbor
// (data, or padding between functions).
Status check_no_jump_into(const Decoder& dec, uintptr_t from, size_t size, uintptr_t fn, int n,
                          const std::string& where = "") {
  uintptr_t at = from;
  ZydisDecodedInstruction insn;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  while (at < from + size) {
    if (!dec.decode(at, from + size - at, &insn, ops)) {
      if (!where.empty()) return Status();
      return Error("cannot decode the instruction at +" + hex(at - fn) +
                   "; not patching a function it cannot read");
    }
    if (is_relative_branch(insn)) {
      ZyanU64 target = 0;
      if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&insn, &ops[0], at, &target)) && target > fn &&
          target < fn + static_cast<uintptr_t>(n)) {
        return Error("the instruction at " + (where.empty() ? "" : where) + "+" + hex(at - from) +
                     " jumps to +" + hex(target - fn) + ", inside the first " + std::to_string(n) +
                     " bytes that the hook replaces");
      }
    }
    at += insn.length;
  }
  return Status();
}

// Decodes the instructions the 5-byte jump covers into p (n, n_insns,
// orig_at, original, pad) and `out`; refuses what cannot be moved.
Status decode_prologue(uintptr_t fn, size_t size, Patch& p, std::vector<Displaced>& out) {
  if (size < static_cast<size_t>(kJmpSize)) {
    return Error("the function is " + std::to_string(size) + " bytes long, shorter than the " +
                 std::to_string(kJmpSize) + "-byte jump a hook needs");
  }
  Decoder dec;
  ZydisDecodedInstruction insn;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  p.fn = fn;
  p.pad = true;
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
    out.push_back({at, insn, {}});
    std::memcpy(out.back().ops.data(), ops, sizeof ops);
    p.n += insn.length;
  }
  if (static_cast<size_t>(p.n) > size)
    return Error("the function is shorter than the instructions a hook moves");
  return check_no_jump_into(dec, fn, size, fn, p.n);
}

// The trampoline's layout (T = where F's jump lands):
//   T+0   68 <index>            push $index            ; the Hook is pivot_hook_table[index]
//   T+5   ff 25 00 00 00 00     jmp *0(%rip)           ; no register or flag touched
//   T+11  <stub address>                              ; stub.h, for this CPU
//   T+32  the displaced instructions, relocated (the body)
//   ...   ff 25 00 00 00 00 <F+n>   jmp back to the first untouched instruction
constexpr size_t kBodyAt = 32;
constexpr size_t kTrampoline = 128;  // room for the body of any patch

// Pages that hold our trampolines (guarded by the patching lock).
std::vector<uintptr_t>& own_pages() {
  static auto* v = new std::vector<uintptr_t>;
  return *v;
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

// Where the trampoline goes, writable: for a pad of five 1-byte NOPs, where
// the jump's offset is 0x90909090, so that the offset bytes are the pad's own
// NOPs and one byte flips the jump on (apply()); else any page within reach.
Result<uintptr_t> place_trampoline(Patch& p) {
  if (p.pad && p.n == kJmpSize && p.n_insns == kJmpSize) {
    uintptr_t t =
        p.fn + kJmpSize + static_cast<uintptr_t>(static_cast<int64_t>(static_cast<int32_t>(0x90909090)));
    if (t > (1ull << 16) && t < p.fn && map_code_at(t, t + kTrampoline)) {
      p.flip = true;
      return t;
    }
  }
  uintptr_t page = alloc_near(p.fn);
  if (page == 0) return Error("no free memory within 2 GiB of the function for its trampoline");
  own_pages().push_back(page);
  return page;
}

// Writes the trampoline at t (see its layout) and makes it executable.
// Nothing is unmapped on an error: the page may be shared, and an error
// here is rare.
Status emit_trampoline(Patch& p, uintptr_t t, const std::vector<Displaced>& displaced, int index) {
  auto* code = reinterpret_cast<uint8_t*>(t);
  size_t at = 0;
  auto put = [&](std::initializer_list<uint8_t> bytes) {
    for (uint8_t b : bytes) code[at++] = b;
  };
  auto put32 = [&](uint32_t v) {
    std::memcpy(code + at, &v, 4);
    at += 4;
  };
  auto put64 = [&](uint64_t v) {
    std::memcpy(code + at, &v, 8);
    at += 8;
  };
  put({0x68});  // push $index
  put32(static_cast<uint32_t>(index));
  put({0xFF, 0x25, 0, 0, 0, 0});  // jmp *0(%rip)
  put64(hook_stub());
  at = kBodyAt;
  p.trampoline = t;
  p.body = t + at;
  for (int i = 0; i < p.n_insns; ++i) {
    const Displaced& d = displaced[i];
    p.body_at[i] = static_cast<uint8_t>(at - kBodyAt);
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
    if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstructionAbsolute(&req, code + at, &len, t + at))) {
      return Error("cannot relocate '" + text_of(d.insn, d.ops.data(), d.at) + "' to the trampoline");
    }
    at += len;
  }
  put({0xFF, 0x25, 0, 0, 0, 0});  // jmp *0(%rip) back to F+n
  put64(p.fn + p.n);
  for (uintptr_t pg = t & ~(kPage - 1); pg < t + kTrampoline; pg += kPage) {
    if (mprotect(reinterpret_cast<void*>(pg), kPage, PROT_READ | PROT_EXEC) != 0) {
      return Error("cannot make the trampoline executable");
    }
  }
  return Status();
}

// Makes the patch visible to the signal handlers, at the slot its hook has
// in pivot_hook_table; it is never freed (patch.h).
Patch* publish(std::unique_ptr<Patch> patch, int slot) {
  Patch* out = patch.release();
  g_patches[slot].store(out, std::memory_order_release);
  g_n_patches.store(slot + 1, std::memory_order_release);
  return out;
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

Result<Patch*> prepare(uintptr_t fn, size_t size, HookHeader* hook, const std::vector<Neighbor>& neighbors) {
  std::lock_guard<std::mutex> lock(patching_lock());
  if (Patch* p = find_patch(fn)) {
    if (pivot_hook_table[p->index] != hook) {
      return Error("internal: function " + hex(fn) + " is already patched for another hook");
    }
    return p;
  }
  int slot = g_n_patches.load(std::memory_order_relaxed);
  if (slot >= kMaxPatches) return Error("too many hooked functions (" + std::to_string(kMaxPatches) + ")");
  auto patch = std::make_unique<Patch>();
  std::vector<Displaced> displaced;
  if (Status s = decode_prologue(fn, size, *patch, displaced); !s) return s.error();
  Decoder dec;
  for (const Neighbor& other : neighbors) {
    if (other.address == fn) continue;
    if (Status s = check_no_jump_into(dec, other.address, other.size, fn, patch->n, other.name); !s)
      return s.error();
  }
  auto t = place_trampoline(*patch);
  if (!t) return t.error();
  patch->index = slot;
  pivot_hook_table[slot] = hook;
  if (Status s = emit_trampoline(*patch, *t, displaced, slot); !s) return s.error();
  return publish(std::move(patch), slot);
}

Status check_patchable(uintptr_t fn, size_t size, const std::vector<Neighbor>& neighbors) {
  std::lock_guard<std::mutex> lock(patching_lock());
  if (find_patch(fn) != nullptr) return Status();
  Patch probe;
  std::vector<Displaced> displaced;
  if (Status s = decode_prologue(fn, size, probe, displaced); !s) return s;
  Decoder dec;
  for (const Neighbor& other : neighbors) {
    if (other.address == fn) continue;
    if (Status s = check_no_jump_into(dec, other.address, other.size, fn, probe.n, other.name); !s) return s;
  }
  return Status();
}

// apply() and revert() follow the protocol of patch.h. From the moment a
// barrier is up until it is gone, the code below calls no library function
// and allocates nothing (system calls through raw_syscall.h, checkpoint
// scratch sized beforehand): the function being patched may be any of them,
// and a thread held at the barrier may hold any lock.
Status apply(Patch& p) {
  install_handlers_once();
  std::lock_guard<std::mutex> lock(patching_lock());
  if (p.applied) return Status();
  uintptr_t lo = p.fn, hi = p.fn + p.n;
  scratch().reserve_for_threads();
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
  uint8_t jmp[kJmpSize] = {0xE9};
  int32_t rel =
      static_cast<int32_t>(static_cast<int64_t>(p.trampoline) - static_cast<int64_t>(p.fn + kJmpSize));
  std::memcpy(jmp + 1, &rel, 4);
  if (!set_writable(p.fn, p.n, true)) return Error("cannot make the function's code writable (mprotect)");
  auto raise_barrier = [&] {
    if (spin) {
      store_pair(p.fn, kSpin[0], kSpin[1]);
    } else {
      store_byte(p.fn, 0xCC);
    }
    sync_cores(lo, hi);
  };
  auto lower_barrier = [&] {  // the original bytes again
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
  int64_t give_up = sys::monotonic_ns() + 5'000'000'000;
  for (;;) {
    raise_barrier();
    g_in_progress.store(&p, std::memory_order_release);
    // One displaced instruction has no boundary a thread could stop at.
    bool clear = p.n_insns == 1 || checkpoint(lo, hi, false, 50'000'000);
    g_in_progress.store(nullptr, std::memory_order_release);
    if (clear) break;
    lower_barrier();
    if (sys::monotonic_ns() > give_up) {
      set_writable(p.fn, p.n, false);
      return Error(
          "a thread neither answered the patching signal " + std::to_string(checkpoint_signal()) +
          ", nor blocked in a system call, nor ran 1 ms within 5 s (a starved thread?); not patching");
    }
    sys::sleep_ns(5'000'000);
    scratch().reserve_for_threads();  // barrier down: the thread list may have outgrown the room
  }
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
  std::lock_guard<std::mutex> lock(patching_lock());
  if (!p.applied) return;
  uintptr_t lo = p.fn, hi = p.fn + p.n;
  scratch().reserve_for_threads();
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
