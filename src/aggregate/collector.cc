#include "aggregate/collector.h"

#include <algorithm>
#include <atomic>
#include <new>
#include <vector>

#include "core/fork.h"

namespace pivot::aggregate {
namespace {

std::atomic<Collector*> g_owners[internal::kMaxSlots];
std::mutex g_slots_mu;  // held while g_owners changes
// No slot at or past this was ever a collector's, so no thread has a
// partial there. Raised under g_slots_mu.
std::atomic<uint32_t> g_slots_used{0};

}  // namespace

// Thread-exit hook: the exiting thread's partials go to their collectors.
void adopt_exiting_thread(internal::ThreadState& ts) {
  const uint32_t used = g_slots_used.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < used; ++i) {
    auto* p = static_cast<Partial*>(ts.slots[i].exchange(nullptr, std::memory_order_acq_rel));
    if (p == nullptr) continue;
    if (Collector* owner = g_owners[i].load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(owner->mu_);
      owner->orphans_.merge(*p);
    }
    delete p;
  }
}

// fork() holds g_slots_mu and each collector's lock across (core/fork.h),
// after the tracer's list of threads (a thread's exit merges its partials
// under both), so that a thread of the child that exits finds them free.
// The collectors held are those g_owners names, which cannot be destroyed
// meanwhile: the destructor clears g_owners under g_slots_mu.
struct CollectorForkLocks {
  static void prepare() noexcept {
    g_slots_mu.lock();
    held_count = g_slots_used.load(std::memory_order_relaxed);
    for (uint32_t i = 0; i < held_count; ++i) {
      held[i] = g_owners[i].load(std::memory_order_acquire);
      if (held[i] != nullptr) held[i]->mu_.lock();
    }
  }
  static void release() noexcept {
    for (uint32_t i = 0; i < held_count; ++i) {
      if (held[i] != nullptr) held[i]->mu_.unlock();
    }
    g_slots_mu.unlock();
  }
  static inline Collector* held[internal::kMaxSlots] = {};
  static inline uint32_t held_count = 0;
};
namespace {
[[maybe_unused]] const bool g_fork_handler = internal::add_fork_handler(
    internal::ForkOrder::kCollectors,
    {&CollectorForkLocks::prepare, &CollectorForkLocks::release, &CollectorForkLocks::release});
}  // namespace

Result<std::unique_ptr<Collector>> Collector::create(EmitShape shape) {
  internal::add_thread_exit_hook(&adopt_exiting_thread);
  std::lock_guard<std::mutex> lock(g_slots_mu);
  for (uint32_t i = 0; i < internal::kMaxSlots; ++i) {
    if (g_owners[i].load(std::memory_order_relaxed) == nullptr) {
      std::unique_ptr<Collector> c(new Collector(std::move(shape), i));
      g_owners[i].store(c.get(), std::memory_order_release);
      if (i >= g_slots_used.load(std::memory_order_relaxed))
        g_slots_used.store(i + 1, std::memory_order_release);
      return c;
    }
  }
  return Error("too many queries installed in this process (at most " + std::to_string(internal::kMaxSlots) +
               " aggregating at once)");
}

Collector::Collector(EmitShape shape, uint32_t slot)
    : shape_(std::move(shape)), slot_(slot), orphans_(&shape_) {}

Collector::~Collector() {
  {
    std::lock_guard<std::mutex> lock(g_slots_mu);
    g_owners[slot_].store(nullptr, std::memory_order_release);
  }
  internal::for_each_thread([&](internal::ThreadState& ts) {
    delete static_cast<Partial*>(ts.slots[slot_].exchange(nullptr, std::memory_order_acq_rel));
  });
}

Partial* Collector::new_thread_partial(internal::ThreadState& ts) {
  auto* p = new (std::nothrow) Partial(&shape_, &budget_);
  if (p != nullptr) ts.slots[slot_].store(p, std::memory_order_release);
  return p;
}

Partial Collector::collect() {
  std::vector<Partial*> taken;
  internal::for_each_thread([&](internal::ThreadState& ts) {
    void* p = ts.slots[slot_].exchange(nullptr, std::memory_order_acq_rel);
    if (p != nullptr) taken.push_back(static_cast<Partial*>(p));
  });
  budget_.reset();          // the partials that start from now on are the next interval's
  internal::synchronize();  // the threads may still be writing what we took
  // The biggest becomes the result and the others merge into it: its
  // tables are not copied, and no new ones are mapped and faulted in each
  // interval (for one emitting thread, the common case, nothing is merged).
  auto biggest = std::max_element(taken.begin(), taken.end(), [](const Partial* a, const Partial* b) {
    return a->groups().size() < b->groups().size();
  });
  Partial out = biggest == taken.end() ? Partial(&shape_) : std::move(**biggest);
  out.detach_budget();
  for (Partial* p : taken) {
    if (p != *biggest) out.merge(*p);
    delete p;
  }
  std::lock_guard<std::mutex> lock(mu_);
  out.merge(orphans_);
  orphans_.clear();
  return out;
}

}  // namespace pivot::aggregate
