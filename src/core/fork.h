// fork() in a process that pivot runs in. The child has only the thread that
// called fork(); a lock that another thread held at that moment would stay
// held in the child forever, and what it guarded half-changed. So fork()
// holds pivot's locks across: each component adds a handler that takes its
// locks before fork() (prepare) and gives them back after it, in the parent
// (parent) and in the child (child, which also lets go of what belonged to
// the parent's other threads).
//
// The handlers run in the order of ForkOrder, outer locks first (prepare)
// and in reverse afterwards: a lock that is ever taken while another is held
// must come after it here, or fork() could deadlock. One pthread_atfork
// registration runs them all; pthread_atfork alone would order them by the
// order of static initialization across files, which is unspecified.
// What only the child does and takes no lock (its procId, its random
// sequence) registers with pthread_atfork itself.
#pragma once

namespace pivot::internal {

enum class ForkOrder {
  kAgent,          // the process-wide agent (agent.cc)
  kSpanWriter,     // the writer's write_mu: sinks write under it (trace/sink.cc)
  kSpanThreads,    // span threads and the current sink (trace/sink.cc)
  kOtlpExporters,  // exporters' queues: the span writer sends under write_mu (otlp/http_exporter.cc)
  kSites,          // the tracepoint registry (tracepoint/registry.cc)
  kThreads,        // the tracer's threads: exit hooks run under it (tracepoint/thread_state.cc)
  kCollectors,     // aggregation slots and each collector's lock, taken in thread exit hooks
  kCount
};

struct ForkHandler {
  void (*prepare)() noexcept;
  void (*parent)() noexcept;
  void (*child)() noexcept;
};

// Called from static initializers; true so that it can initialize a
// constant. One handler per order.
bool add_fork_handler(ForkOrder order, ForkHandler handler) noexcept;

}  // namespace pivot::internal
