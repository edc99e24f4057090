// Sinks for finished span trees, and the background writer that runs the
// built-in ones. Not public API.
//
// A tree is delivered on the thread that ended its last span. A SinkCb runs
// right there. A built-in sink's tree goes into that thread's ring and is
// formatted and written by the writer thread, which wakes every 20 ms, when a
// ring is half full, and on flush_traces().
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "pivot/trace.h"
#include "trace/span_state.h"

namespace pivot::internal {

// One finished tree as a built-in sink sees it. Times are ticks.
struct TreeView {
  int64_t tid;
  std::string_view uniq;
  int64_t freq;
  std::string_view kind;
  const std::vector<DoneSpan>* spans;
  const TreeTrace* trace;  // null when no W3C trace context was current
};

class SinkImpl {
 public:
  virtual ~SinkImpl() = default;
  // Non-null for a callback sink, which runs on the traced thread.
  virtual const SinkCb* callback() const { return nullptr; }
  // Built-in sinks: called on the writer thread only (or, after the writer
  // stopped at exit, under its lock).
  virtual void write(const TreeView&) {}
  // After each batch of writes: push the batch out.
  virtual void end_batch() {}
};

// The sink behind a TraceSink handle, and a handle for a sink.
struct TraceSinkAccess {
  static TraceSink make(std::shared_ptr<SinkImpl> impl) { return TraceSink(std::move(impl)); }
  static const std::shared_ptr<SinkImpl>& impl(const TraceSink& sink) { return sink.impl_; }
};

// Delivers a finished sampled tree from its owner thread; recycles it when
// done with it (a queued tree is recycled by the writer).
void deliver_tree(ThreadSpans& ts, SpanTree* tree) noexcept;

// Delivers a tree of a zombie ThreadSpans, on the writer thread.
void deliver_tree_from_writer(ThreadSpans& ts, SpanTree* tree) noexcept;

// Counters kept by the sink side.
extern std::atomic<uint64_t> g_sink_exceptions;
extern std::atomic<uint64_t> g_write_errors;

// Called by ThreadSpans users: the writer thread's wake-up for zombie work.
void wake_writer() noexcept;

}  // namespace pivot::internal
