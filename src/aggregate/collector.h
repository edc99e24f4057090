// Collector: gathers one query's per-thread partial aggregates.
//
// Each installed query's EMIT writes into a Partial owned by the emitting
// thread, found through a per-thread slot (thread_state.h), so EMIT takes no
// lock and shares no cache line. collect() swaps every thread's partial out,
// waits a grace period, and merges them: the result holds every event that
// completed before the call. Partials of threads that exit are merged into
// the collector as they exit.
//
// The thread partials share a GroupBudget: together they make at most
// shape.group_cap groups between two collect() calls, however many threads
// emit, so a query holds a bounded number of groups per process and
// interval. (A thread still writing into a partial collect() took may take
// from the next interval's budget: a few groups, at most one per thread.)
//
//   auto c = Collector::create(shape);        // at install
//   c->thread_partial(*ts)->add(keys, inputs); // in advice, inside a ReadSection
//   Partial delta = c->collect();             // each interval, or on results()
//
// Lifetime: destroy a collector only after removing the advice that emits
// into it and calling synchronize().
#pragma once

#include <memory>
#include <mutex>

#include "aggregate/partial.h"
#include "pivot/result.h"
#include "tracepoint/thread_state.h"

namespace pivot::aggregate {

class Collector {
 public:
  static Result<std::unique_ptr<Collector>> create(EmitShape shape);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  const EmitShape& shape() const { return shape_; }
  // The thread-state slot holding each thread's partial (thread_state.h).
  uint32_t slot() const { return slot_; }

  // The calling thread's partial; call inside a read section.
  Partial* thread_partial(internal::ThreadState& ts) {
    void* p = ts.slots[slot_].load(std::memory_order_relaxed);
    if (p != nullptr) [[likely]]
      return static_cast<Partial*>(p);
    return new_thread_partial(ts);
  }

  // Everything emitted since the previous collect(). Thread-safe; must not
  // be called inside a read section.
  Partial collect();

 private:
  friend void adopt_exiting_thread(internal::ThreadState& ts);
  friend struct CollectorForkLocks;
  Collector(EmitShape shape, uint32_t slot);
  Partial* new_thread_partial(internal::ThreadState& ts);

  const EmitShape shape_;
  const uint32_t slot_;
  GroupBudget budget_;  // the thread partials' groups this interval
  std::mutex mu_;
  Partial orphans_;  // from exited threads, guarded by mu_
};

}  // namespace pivot::aggregate
