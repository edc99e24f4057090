#include "tracepoint/thread_state.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mutex>
#include <thread>
#include <vector>

#include "core/fork.h"

namespace pivot::internal {

bool g_reader_fence = false;

namespace {

struct Threads {
  std::mutex mu;
  ThreadState* head = nullptr;
  std::vector<ThreadExitHook> exit_hooks;
};

Threads& threads() {
  static Threads* t = new Threads;  // never destroyed: threads may exit after main
  return *t;
}

bool membarrier_ready() {
  static const bool ok = [] {
    long mask = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (mask < 0 || !(mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return false;
    return syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  }();
  return ok;
}

// Decided before any thread can read: readers fence when membarrier fails.
// The priority runs it before the library's other constructors, one of
// which may start the agent's thread (libpivot_preload.so).
[[gnu::constructor(101)]] void choose_barrier() { g_reader_fence = !membarrier_ready(); }

ThreadState* const kDead = reinterpret_cast<ThreadState*>(detail::kRetired);
using detail::tls_thread_state;

struct Owner {
  ~Owner() {
    ThreadState* ts = tls_thread_state;
    if (ts == nullptr || ts == kDead) return;
    TracerScope busy;  // the exit hooks lock and free: hooked functions stay unobserved
    Threads& t = threads();
    {
      std::lock_guard<std::mutex> lock(t.mu);
      for (ThreadExitHook hook : t.exit_hooks) hook(*ts);
      for (ThreadState** p = &t.head; *p != nullptr; p = &(*p)->next) {
        if (*p == ts) {
          *p = ts->next;
          break;
        }
      }
    }
    tls_thread_state = kDead;
    delete ts;
  }
};
thread_local Owner tls_owner;

[[gnu::noinline]] ThreadState* create_thread_state() noexcept {
  TracerScope busy;  // allocates and locks: a hooked malloc or mutex must not come back here
  auto* ts = new (std::nothrow) ThreadState;
  if (ts == nullptr) return nullptr;
  ts->tid = static_cast<int64_t>(syscall(SYS_gettid));
  (void)&tls_owner;  // touching the owner registers its destructor
  Threads& t = threads();
  std::lock_guard<std::mutex> lock(t.mu);
  ts->next = t.head;
  t.head = ts;
  tls_thread_state = ts;
  return ts;
}

// fork() holds the list's lock across (core/fork.h). In the child the
// parent's other threads are not there: one that was running advice never
// leaves it, so it is counted out of its read section (or synchronize()
// would wait for it forever). Their states stay listed, and what their
// slots hold is freed with the collectors, as for any thread.
void before_fork() noexcept { threads().mu.lock(); }
void after_fork_parent() noexcept { threads().mu.unlock(); }
void after_fork_child() noexcept {
  Threads& t = threads();
  ThreadState* self = tls_thread_state;
  for (ThreadState* ts = t.head; ts != nullptr; ts = ts->next) {
    uint64_t seq = ts->seq.load(std::memory_order_relaxed);
    if (ts != self && (seq & 1) != 0) ts->seq.store(seq + 1, std::memory_order_relaxed);
  }
  t.mu.unlock();
}
[[maybe_unused]] const bool g_fork_handler =
    add_fork_handler(ForkOrder::kThreads, {before_fork, after_fork_parent, after_fork_child});

}  // namespace

constinit thread_local ThreadState* detail::tls_thread_state [[gnu::tls_model("initial-exec")]] = nullptr;
constinit thread_local uint32_t detail::tls_in_tracer [[gnu::tls_model("initial-exec")]] = 0;

ThreadState* detail::current_thread_state_slow() noexcept {
  ThreadState* ts = tls_thread_state;
  if (ts == kDead) [[unlikely]]
    return nullptr;
  if (ts == nullptr) [[unlikely]]
    return create_thread_state();
  return ts;
}

void synchronize() {
  if (!g_reader_fence) {
    syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  Threads& t = threads();
  std::lock_guard<std::mutex> lock(t.mu);
  for (ThreadState* ts = t.head; ts != nullptr; ts = ts->next) {
    uint64_t seen = ts->seq.load(std::memory_order_acquire);
    if ((seen & 1) == 0) continue;
    // Advice never blocks, so this wait is short.
    for (int spins = 0; ts->seq.load(std::memory_order_acquire) == seen; ++spins) {
      if (spins > 64) std::this_thread::yield();
    }
  }
}

void for_each_thread(const std::function<void(ThreadState&)>& f) {
  Threads& t = threads();
  std::lock_guard<std::mutex> lock(t.mu);
  for (ThreadState* ts = t.head; ts != nullptr; ts = ts->next) f(*ts);
}

void add_thread_exit_hook(ThreadExitHook hook) {
  Threads& t = threads();
  std::lock_guard<std::mutex> lock(t.mu);
  for (ThreadExitHook h : t.exit_hooks) {
    if (h == hook) return;
  }
  t.exit_hooks.push_back(hook);
}

}  // namespace pivot::internal
