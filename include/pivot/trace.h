// RTBkit-compatible spans: pivot::Trace<T>.
//
// A Trace is a tiny RAII object that times a scope on behalf of an object,
// without the object's type knowing about tracing. The object's type
// provides do_probe(), found by argument-dependent lookup, returning
// (kind, id, freq):
//
//   namespace rtb {
//   struct Auction { std::string id; };
//   std::tuple<const char*, std::string, int> do_probe(const Auction& a) {
//     return {"Auction", a.id, 100};  // trace one auction id in about 100
//   }
//   }  // namespace rtb
//
//   void Router::bid(const rtb::Auction& a) {
//     pivot::Trace<rtb::Auction> t(a, "Router::bid");   // or PIVOT_TRACE(a, "Router::bid");
//     ...
//   }   // span ends here
//
// Sampling is RTBkit's: an id is traced iff freq != 0 and
// CityHash64(id) % freq == 0 (CityHash v1.0.3, so the same ids as RTBkit).
// freq <= 0 is never traced and is counted in TraceStats::freq_zero.
//
// Spans of one id on one thread form a tree: span ids count from 1, a root's
// parent is -1, and a span's parent is the innermost open span of that id on
// that thread when it began. When the last open span of the id on the thread
// ends, the sink receives the whole tree, spans in the order they ended
// (innermost first). Different ids make different trees, even when nested.
//
// Sinks: the default writes one syslog line per span (facility LOG_LOCAL7,
// level LOG_INFO, a JSON object with keys tid, host, kpid, kind, uniq, freq,
// pid, id, tag, t1, t2). json_lines_sink() and chrome_trace_sink() write
// files. Built-in sinks never make the traced thread wait: finished trees go
// to a background writer through a bounded per-thread queue, and are dropped
// (and counted) when it is full. A SinkCb runs synchronously on the thread
// that ended the tree, as in RTBkit; exceptions it throws are caught and
// counted.
//
// Code written for RTBkit's Trace, Span and SinkCb compiles against
// pivot/rtbkit.h (Span also carries RTBkit's tag_, id_, pid_, start_, end_).
//
// Spans are also tracepoints, SpanBegin (tag, kind, uniq, span, parent, t1)
// and SpanEnd (tag, kind, uniq, span, parent, t1, t2, duration), times in ns
// since the epoch. They fire for every span, sampled or not, while a query
// uses them; sampling only decides what reaches the sink.
//
// Thread safety and lifetime:
//  - A Trace is move-only. Destroying it on another thread than the one that
//    created it is allowed: the span is closed in its origin thread's tree,
//    flagged Span::cross_thread, and the tree is delivered when the origin
//    thread next begins or ends a span, calls flush_traces(), or exits.
//  - The tag and kind are copied; the object need not outlive the Trace.
//  - set_trace_sink() may be called from any thread at any time; once it
//    returns, the previous SinkCb is not called again.
//  - Spans begun inside a SinkCb are not traced (the tracer never traces
//    itself).
//  - After fork() the child has a writer of its own; trees the parent had
//    queued are written by the parent only (docs/spans.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "pivot/internal/span.h"
#include "pivot/result.h"

namespace pivot {

// What do_probe returned for the tree: (kind, id, freq), as RTBkit's ProbeCtx.
using ProbeCtx = std::tuple<const char*, std::string, uint32_t>;

// One finished span, as a SinkCb receives it.
//
// The first fields are pivot's. The last five are RTBkit's members, with
// RTBkit's names and types, so that a sink written for RTBkit's Span compiles
// unchanged (see pivot/rtbkit.h); pivot fills both sets for every span it
// hands to a SinkCb, and they describe the same span:
//   tag_ == tag, id_ == id, pid_ == uint32_t(pid) (the root's -1 reads as
//   4294967295, as in RTBkit), end_ - start_ == nanoseconds(t2 - t1).
// start_ and end_ are steady_clock times: t1 and t2 moved onto steady_clock
// by the offset between the two clocks, read on the delivering thread at most
// 100 ms before, so they compare with steady_clock::now() to within the
// clocks' drift over that time (microseconds).
// Built-in sinks build no Span at all; only a SinkCb pays for these copies.
struct Span {
  std::string tag;
  int64_t id = 0;             // 1, 2, ... in the order spans of this tree began
  int64_t pid = -1;           // parent span id; -1 for the root
  int64_t t1 = 0;             // begin, ns since the Unix epoch
  int64_t t2 = 0;             // end
  std::string kind;           // kind of the object this span traced
  bool cross_thread = false;  // ended on another thread than it began on
  // The W3C trace the span belongs to (pivot/trace_context.h), lowercase
  // hex; all "" when no trace context was current as its tree began.
  std::string trace_id;        // 32 digits
  std::string span_id;         // 16 digits, this span's own
  std::string parent_span_id;  // 16: the parent span's, or for the root the caller's

  // RTBkit's members.
  std::string tag_;
  uint32_t id_ = 0;
  uint32_t pid_ = static_cast<uint32_t>(-1);
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point end_;
};

// RTBkit's sink signature. The vector holds one tree, innermost span first.
using SinkCb = std::function<void(const ProbeCtx&, const std::vector<Span>&)>;

// RTBkit's default sink as a SinkCb: one syslog(LOG_LOCAL7 | LOG_INFO) line
// per span, the line syslog_sink() writes (tid is the calling thread's, kind
// the span's kind or, if empty, the ProbeCtx's). Called directly, it writes
// synchronously; set_trace_sink(default_probe_sink) installs syslog_sink()
// instead, so that traced threads do not wait on syslog.
void default_probe_sink(const ProbeCtx& ctx, const std::vector<Span>& spans);

namespace internal {
class SinkImpl;
struct TraceSinkAccess;
}  // namespace internal

// A sink for finished span trees, made by the functions below. A copyable
// handle: copies name the same sink.
class TraceSink {
 private:
  friend struct internal::TraceSinkAccess;
  explicit TraceSink(std::shared_ptr<internal::SinkImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<internal::SinkImpl> impl_;
};

// The default: one syslog(LOG_LOCAL7 | LOG_INFO) line per span.
TraceSink syslog_sink();
// One JSON object per span per line (the syslog line's keys), appended to path.
Result<TraceSink> json_lines_sink(const std::string& path);
// A Chrome Trace Event Format file ("X" events; opens in Perfetto UI and
// chrome://tracing). The file is a valid JSON array after every write.
Result<TraceSink> chrome_trace_sink(const std::string& path);
// Takes trees off the traced threads like the others and writes nothing.
TraceSink discard_sink();
// Calls cb synchronously on the thread whose tree finished.
TraceSink callback_sink(SinkCb cb);

void set_trace_sink(TraceSink sink);
void set_trace_sink(SinkCb cb);

// Closes spans that other threads ended for this thread's trees, then waits
// until the background writer has written every tree delivered so far.
void flush_traces();

struct TraceStats {
  uint64_t trees_delivered = 0;    // sampled trees handed to a sink
  uint64_t spans_delivered = 0;    // spans in those trees
  uint64_t trees_dropped = 0;      // a built-in sink's queue was full
  uint64_t freq_zero = 0;          // spans whose do_probe gave freq <= 0
  uint64_t sink_exceptions = 0;    // exceptions thrown by a SinkCb
  uint64_t cross_thread_ends = 0;  // spans ended on another thread
  uint64_t write_errors = 0;       // built-in sink I/O failures
  uint64_t untraced = 0;           // spans not traced: begun inside a sink, out of memory
};
TraceStats trace_stats();

template <class T>
class Trace {
 public:
  Trace(const T& object, std::string_view tag) noexcept(noexcept(do_probe(object))) {
    static_assert(internal::Probeable<T>,
                  "pivot::Trace<T> needs `do_probe(const T&)`, found by argument-dependent lookup, returning "
                  "a tuple (kind: const char* or string, id: string, freq: integer)");
    span_ = internal::open_span(do_probe(object), tag);
  }
  // A null pointer opens no span.
  Trace(const std::shared_ptr<T>& object, std::string_view tag) noexcept(noexcept(do_probe(*object))) {
    if (object) span_ = internal::open_span(do_probe(*object), tag);
  }

  Trace(Trace&& other) noexcept : span_(std::exchange(other.span_, nullptr)) {}
  Trace& operator=(Trace&& other) noexcept {
    if (this != &other) {
      end();
      span_ = std::exchange(other.span_, nullptr);
    }
    return *this;
  }
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  ~Trace() { end(); }

  // Ends the span now rather than at destruction. Idempotent.
  void end() noexcept {
    if (span_ != nullptr) internal::span_end(std::exchange(span_, nullptr));
  }

  // Whether this span will reach the sink.
  bool sampled() const noexcept { return span_ != nullptr && internal::span_sampled(span_); }

  // RTBkit's spelling of set_trace_sink(cb), kept for code ported from it
  // (hence not snake_case). It installs the process-wide sink, for every T:
  // RTBkit kept one sink per T, but a pivot tree may mix types that share an
  // id. An empty cb installs discard_sink().
  static void set_sinkCb(SinkCb cb) { set_trace_sink(std::move(cb)); }

 private:
  internal::OpenSpan* span_ = nullptr;
};

template <class T>
Trace<T> make_trace(const T& object, std::string_view tag) {
  return Trace<T>(object, tag);
}
template <class T>
Trace<T> make_trace(const std::shared_ptr<T>& object, std::string_view tag) {
  return Trace<T>(object, tag);
}

}  // namespace pivot

// Opens a span for the rest of the enclosing scope: PIVOT_TRACE(auction, "Router::bid");
#define PIVOT_TRACE(object, tag) \
  auto PIVOT_INTERNAL_CAT(pivot_trace_, __COUNTER__) = ::pivot::make_trace((object), (tag))
