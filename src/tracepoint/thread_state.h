// Per-thread state of the tracer, and the grace periods that let the rest of
// pivot change what threads use without making them take a lock.
//
// A thread running advice is inside a read section (ReadSection). Writers
// (installing advice, collecting per-thread aggregates) publish a new pointer
// and then call synchronize(), which returns once every thread that might
// still use the old pointer has left its read section. This is userspace RCU
// with the membarrier(2) flavour: readers pay two plain stores and compiler
// barriers; the writer pays a membarrier system call. Where membarrier is
// unavailable, readers add one full fence.
//
// Read sections also guard against re-entry: a tracepoint that fires while
// its thread already runs advice (say, in a function the advice calls) is
// skipped, so the tracer never traces itself.
//
// Slots: each thread has kMaxSlots atomic pointers for later stages (the
// aggregation keeps one partial aggregate per installed query there). Only
// the owning thread stores a non-null pointer; a collector exchanges it for
// null and, after synchronize(), owns what it took.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace pivot::internal {

inline constexpr uint32_t kMaxSlots = 256;

struct alignas(64) ThreadState {
  std::atomic<uint64_t> seq{0};  // odd while inside a read section
  uint32_t nesting = 0;
  int64_t tid = 0;
  std::atomic<void*> slots[kMaxSlots] = {};
  ThreadState* next = nullptr;  // registry list, guarded by its mutex
  void* scratch = nullptr;      // owned by the advice interpreter
};

namespace detail {
// The calling thread's state; null before first use, kRetired once the
// thread's state was retired at exit. Initial-exec, as tls_in_tracer: read
// straight from %fs, with no call to __tls_get_addr even in
// libpivot_preload.so (the hook's fast path may call nothing outside its own
// code, gpr_code.h).
extern constinit thread_local ThreadState* tls_thread_state [[gnu::tls_model("initial-exec")]];
inline constexpr uintptr_t kRetired = 1;
ThreadState* current_thread_state_slow() noexcept;
}  // namespace detail

// The calling thread's state, created on first use; null while the thread
// is exiting (after its state was retired). Inline: one thread-local load on
// the path of every active tracepoint.
inline ThreadState* current_thread_state() noexcept {
  ThreadState* ts = detail::tls_thread_state;
  if (reinterpret_cast<uintptr_t>(ts) > 1) [[likely]]
    return ts;
  return detail::current_thread_state_slow();
}

// Set while the calling thread runs pivot's own code that a hooked function
// could be called from: runtime hooks (src/hook) skip while it is set, so a
// hooked malloc, mutex or system call that pivot itself calls runs
// unobserved instead of recursing into the tracer or waiting on a lock its
// own thread holds. Thread-state creation, thread exit and the hook path set
// it; pivot's own threads (agent, installer, sink writer) set it for life.
namespace detail {
extern constinit thread_local uint32_t tls_in_tracer [[gnu::tls_model("initial-exec")]];
}  // namespace detail
inline bool in_tracer() noexcept { return detail::tls_in_tracer != 0; }

class TracerScope {
 public:
  TracerScope() noexcept { ++detail::tls_in_tracer; }
  ~TracerScope() { --detail::tls_in_tracer; }
  TracerScope(const TracerScope&) = delete;
  TracerScope& operator=(const TracerScope&) = delete;
};

// For a thread of pivot's own: it is never traced by runtime hooks.
inline void mark_tracer_thread() noexcept { ++detail::tls_in_tracer; }

extern bool g_reader_fence;  // true when membarrier(2) is unavailable

class ReadSection {
 public:
  // entered() is false when the thread is already inside one (re-entry) or
  // has no state; the caller must then skip its work.
  explicit ReadSection(ThreadState* ts) noexcept : ts_(ts) {
    if (ts_ == nullptr || ts_->nesting++ != 0) {
      entered_ = false;
      return;
    }
    ts_->seq.store(ts_->seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (g_reader_fence) [[unlikely]] {
      std::atomic_thread_fence(std::memory_order_seq_cst);
    } else {
      std::atomic_signal_fence(std::memory_order_seq_cst);
    }
    entered_ = true;
  }
  ~ReadSection() {
    if (ts_ == nullptr) return;
    if (--ts_->nesting == 0) {
      ts_->seq.store(ts_->seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
  }
  ReadSection(const ReadSection&) = delete;
  ReadSection& operator=(const ReadSection&) = delete;

  bool entered() const { return entered_; }

 private:
  ThreadState* ts_;
  bool entered_ = false;
};

// Waits until every read section that began before the call has ended.
// Must not be called from inside a read section.
void synchronize();

// Runs f on every live thread's state, with new threads and thread exits
// held off meanwhile.
void for_each_thread(const std::function<void(ThreadState&)>& f);

// Called (once per thread, registry lock held) when a thread exits, before
// its state is freed, so later stages can take over what its slots hold.
using ThreadExitHook = void (*)(ThreadState&);
void add_thread_exit_hook(ThreadExitHook hook);

}  // namespace pivot::internal
