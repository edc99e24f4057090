// Delivery of finished trees, the current sink, and the background writer.
#include "trace/sink.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "baggage/trace_state.h"
#include "core/clock.h"
#include "core/fork.h"
#include "trace/builtin_sinks.h"
#include "tracepoint/thread_state.h"

namespace pivot::internal {

std::atomic<uint64_t> g_sink_exceptions{0};
std::atomic<uint64_t> g_write_errors{0};

namespace {

// The current sink. Threads cache it and compare versions on delivery.
std::mutex g_sink_mu;
// Guarded by g_sink_mu; null: the default. Never destroyed, since spans may
// end during static destruction (or begin during static initialization).
std::shared_ptr<SinkImpl>& current_sink() {
  static auto* sink = new std::shared_ptr<SinkImpl>;
  return *sink;
}
constinit std::atomic<uint64_t> g_sink_version{1};

struct Writer {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t requested = 0;  // flush requests, guarded by mu
  uint64_t completed = 0;  // requests covered by a finished pass
  bool stopping = false;
  std::thread thread;
  std::mutex write_mu;                             // held while built-in sinks write
  std::vector<std::shared_ptr<SinkImpl>> touched;  // the writer thread's, per pass
};

Writer& writer() {
  static Writer* w = new Writer;  // never destroyed: spans may end during exit
  return *w;
}

// kRunning: trees go to the writer; kInline: it stopped at exit (or could not
// start), so trees are written in place.
enum WriterState : int { kNotStarted, kRunning, kInline };
std::atomic<int> g_writer_state{kNotStarted};
std::atomic<bool> g_wake{false};
constinit thread_local bool t_is_writer = false;

void refresh_sink(ThreadSpans& ts) {
  if (g_sink_version.load(std::memory_order_acquire) == ts.sink_version && ts.sink) return;
  std::lock_guard<std::mutex> lock(g_sink_mu);
  std::shared_ptr<SinkImpl>& current = current_sink();
  if (!current) current = TraceSinkAccess::impl(syslog_sink());
  if (ts.sink != current) ts.switch_pending = true;
  ts.sink = current;
  ts.sink_callback = ts.sink->callback();
  ts.sink_version = g_sink_version.load(std::memory_order_relaxed);
}

TreeView view_of(const SpanTree& tree) {
  return {tree.tid, tree.uniq, tree.freq, tree.kind, &tree.done, tree.has_trace ? &tree.trace : nullptr};
}

constexpr uint64_t round8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

// Packs a finished tree into ts's ring, or hands it over by pointer if it is
// big. False when the ring is full. On success the tree is the ring's (a
// packed one is recycled at once).
bool enqueue_tree(ThreadSpans& ts, SpanTree* tree) noexcept {
  uint64_t bytes = round8(sizeof(PackedTree) + (tree->has_trace ? sizeof(TreeTrace) : 0) +
                          tree->done.size() * sizeof(PackedSpan) + tree->uniq.size() + tree->kind.size() +
                          tree->done_text);
  if (bytes > SpanRing::kMaxRecord) {
    char* p = ts.ring.reserve(sizeof(PointerRecord));
    if (p == nullptr) return false;
    auto* r = reinterpret_cast<PointerRecord*>(p);
    r->head = {sizeof(PointerRecord), RecordHead::kTreePtr};
    r->ptr = tree;
    ts.ring.commit();
    return true;
  }
  char* p = ts.ring.reserve(bytes);
  if (p == nullptr) return false;
  auto* t = reinterpret_cast<PackedTree*>(p);
  t->head = {static_cast<uint32_t>(bytes), RecordHead::kTree};
  t->tid = tree->tid;
  t->freq = tree->freq;
  t->n_spans = static_cast<uint32_t>(tree->done.size());
  t->uniq_len = static_cast<uint32_t>(tree->uniq.size());
  t->kind_len = static_cast<uint32_t>(tree->kind.size());
  t->has_trace = tree->has_trace;
  char* after = reinterpret_cast<char*>(t + 1);
  if (tree->has_trace) {
    std::memcpy(after, &tree->trace, sizeof(TreeTrace));
    after += sizeof(TreeTrace);
  }
  auto* spans = reinterpret_cast<PackedSpan*>(after);
  char* text = reinterpret_cast<char*>(spans + tree->done.size());
  auto put = [&text](std::string_view v) {
    copy_bytes(text, v.data(), v.size());
    text += v.size();
  };
  put(tree->uniq);
  put(tree->kind);
  for (size_t i = 0; i < tree->done.size(); ++i) {
    const DoneSpan& d = tree->done[i];
    spans[i] = {d.t1,
                d.t2,
                d.id,
                d.pid,
                static_cast<uint32_t>(d.tag.size()),
                static_cast<uint32_t>(d.kind.size()),
                d.cross_thread};
    put(d.tag);
    put(d.kind);
  }
  ts.ring.commit();
  recycle_tree(ts, tree);
  return true;
}

// The inverse of enqueue_tree's packing, into views of the ring's bytes.
TreeView unpack(const PackedTree* t, std::vector<DoneSpan>& spans) {
  const char* after = reinterpret_cast<const char*>(t + 1);
  const TreeTrace* trace = nullptr;
  if (t->has_trace) {
    trace = reinterpret_cast<const TreeTrace*>(after);
    after += sizeof(TreeTrace);
  }
  const auto* packed = reinterpret_cast<const PackedSpan*>(after);
  const char* text = reinterpret_cast<const char*>(packed + t->n_spans);
  auto take = [&text](uint32_t n) {
    std::string_view v(text, n);
    text += n;
    return v;
  };
  std::string_view uniq = take(t->uniq_len);
  std::string_view kind = take(t->kind_len);
  spans.clear();
  for (uint32_t i = 0; i < t->n_spans; ++i) {
    const PackedSpan& p = packed[i];
    std::string_view tag = take(p.tag_len);
    std::string_view span_kind = take(p.kind_len);
    spans.push_back({p.id, p.pid, p.t1, p.t2, tag, span_kind, p.cross_thread != 0});
  }
  return {t->tid, uniq, t->freq, kind, &spans, trace};
}

void return_tree(ThreadSpans& ts, SpanTree* tree) noexcept {
  // Only the writer pushes; the owner takes the whole list at once.
  tree->next_returned = ts.returned.load(std::memory_order_relaxed);
  while (!ts.returned.compare_exchange_weak(tree->next_returned, tree, std::memory_order_release,
                                            std::memory_order_relaxed)) {
  }
}

void add_touched(std::vector<std::shared_ptr<SinkImpl>>& touched, const std::shared_ptr<SinkImpl>& s) {
  if (std::find(touched.begin(), touched.end(), s) == touched.end()) touched.push_back(s);
}

// Writes the trees queued in ts's ring to their sinks, or with `discard`
// drops them (still taking in the sink switches queued with them).
void drain_ring(ThreadSpans& ts, std::vector<std::shared_ptr<SinkImpl>>& touched,
                std::vector<DoneSpan>& scratch, bool discard = false) {
  uint64_t head = ts.ring.head();
  uint64_t t = ts.ring.tail();
  auto write = [&](const TreeView& view) {
    if (!discard && ts.writer_sink && ts.writer_sink->callback() == nullptr) {
      ts.writer_sink->write(view);
      add_touched(touched, ts.writer_sink);
    }
  };
  while (t != head) {
    ts.ring.prefetch_ahead(t, head);
    const auto* rec = reinterpret_cast<const RecordHead*>(ts.ring.at(t));
    switch (rec->type) {
      case RecordHead::kTree:
        if (!discard) write(unpack(reinterpret_cast<const PackedTree*>(rec), scratch));
        break;
      case RecordHead::kTreePtr: {
        auto* tree = static_cast<SpanTree*>(reinterpret_cast<const PointerRecord*>(rec)->ptr);
        write(view_of(*tree));
        return_tree(ts, tree);
        break;
      }
      case RecordHead::kSwitch: {
        auto* sw = static_cast<SinkSwitch*>(reinterpret_cast<const PointerRecord*>(rec)->ptr);
        ts.writer_sink = std::move(sw->sink);
        delete sw;
        break;
      }
      default: break;  // kWrap
    }
    t += rec->size;
  }
  ts.ring.advance(t);
  ts.wake_sent.store(false, std::memory_order_relaxed);
}

// Zombies (threads that exited with spans still open elsewhere) get their
// remote closes handled here, the writer standing in for their owner.
void process_zombies() {
  std::vector<ThreadSpans*> work;
  {
    std::lock_guard<std::mutex> lock(thread_spans_mutex());
    for (ThreadSpans* ts : all_thread_spans_locked()) {
      if (ts->life.load(std::memory_order_relaxed) == ThreadSpans::Life::kZombie &&
          ts->inbox.load(std::memory_order_acquire) != nullptr) {
        ts->life.store(ThreadSpans::Life::kZombieBusy, std::memory_order_relaxed);
        work.push_back(ts);
      }
    }
  }
  for (ThreadSpans* ts : work) drain_inbox(*ts);
  std::lock_guard<std::mutex> lock(thread_spans_mutex());
  for (ThreadSpans* ts : work) ts->life.store(ThreadSpans::Life::kZombie, std::memory_order_relaxed);
}

void pass(std::vector<std::shared_ptr<SinkImpl>>& touched) {
  {
    static std::vector<DoneSpan> scratch;  // the writer's (or, at exit, under write_mu)
    std::lock_guard<std::mutex> lock(writer().write_mu);
    for (ThreadSpans* ts : all_thread_spans()) drain_ring(*ts, touched, scratch);
    for (auto& s : touched) s->end_batch();
    touched.clear();
  }
  process_zombies();
}

void writer_main() {
  t_is_writer = true;
  mark_thread_untraced();
  internal::mark_tracer_thread();
  Writer& w = writer();
  std::unique_lock<std::mutex> lock(w.mu);
  for (;;) {
    w.cv.wait_for(lock, std::chrono::milliseconds(20), [&] {
      return g_wake.load(std::memory_order_relaxed) || w.stopping || w.requested > w.completed;
    });
    g_wake.store(false, std::memory_order_relaxed);
    bool stop = w.stopping;
    uint64_t target = w.requested;
    lock.unlock();
    pass(w.touched);
    lock.lock();
    w.completed = target;
    w.cv.notify_all();
    if (stop) return;
  }
}

void stop_writer() {
  Writer& w = writer();
  {
    std::lock_guard<std::mutex> lock(w.mu);
    w.stopping = true;
  }
  w.cv.notify_all();
  if (w.thread.joinable()) w.thread.join();
  g_writer_state.store(kInline, std::memory_order_release);
  std::vector<std::shared_ptr<SinkImpl>> touched;
  pass(touched);  // what was queued after the writer's last pass
}

// True when the writer runs (starting it if needed); false: write in place.
bool ensure_writer() noexcept {
  int state = g_writer_state.load(std::memory_order_acquire);
  if (state != kNotStarted) return state == kRunning;
  Writer& w = writer();
  std::lock_guard<std::mutex> lock(w.mu);
  state = g_writer_state.load(std::memory_order_relaxed);
  if (state != kNotStarted) return state == kRunning;
  try {
    w.thread = std::thread(writer_main);
  } catch (...) {
    g_writer_state.store(kInline, std::memory_order_release);
    return false;
  }
  static const bool at_exit = std::atexit(stop_writer) == 0;  // once: a forked child inherits it
  (void)at_exit;
  g_writer_state.store(kRunning, std::memory_order_release);
  return true;
}

// fork(): the child has none of the parent's threads, the writer included.
// Across the fork pivot holds the locks that guard what the child keeps
// (core/fork.h): the sinks' own state (written under write_mu), the span
// threads and the current sink, so the child finds them whole. The child
// drops the trees the parent's writer has yet to write (the parent writes
// them), takes the other threads for exited ones, and starts a writer of its
// own with its first tree. Without this a child's flush_traces() waited for
// the parent's writer forever.
void writer_before_fork() noexcept { writer().write_mu.lock(); }
void writer_after_fork_parent() noexcept { writer().write_mu.unlock(); }
void writer_after_fork_child() noexcept {
  // The writer's thread and whoever waited for it are the parent's, and may
  // hold its mutex: those members are made anew in place (not destroyed
  // first: the thread's destructor would end the process, since it names a
  // thread).
  Writer& w = writer();
  new (&w.thread) std::thread;
  new (&w.mu) std::mutex;
  new (&w.cv) std::condition_variable;
  w.requested = 0;
  w.completed = 0;
  w.stopping = false;
  g_writer_state.store(kNotStarted, std::memory_order_relaxed);
  g_wake.store(false, std::memory_order_relaxed);
  w.write_mu.unlock();
}

void threads_before_fork() noexcept {
  thread_spans_mutex().lock();
  g_sink_mu.lock();
}
void threads_after_fork_parent() noexcept {
  g_sink_mu.unlock();
  thread_spans_mutex().unlock();
}
void threads_after_fork_child() noexcept {
  ThreadSpans* self = current_thread_spans();
  std::vector<std::shared_ptr<SinkImpl>> touched;
  std::vector<DoneSpan> scratch;
  try {
    for (ThreadSpans* ts : all_thread_spans_locked()) {
      ThreadSpans::Life life = ts->life.load(std::memory_order_relaxed);
      // A zombie the parent's writer was closing spans of, in the middle of
      // it: never touched again.
      if (life == ThreadSpans::Life::kZombieBusy) continue;
      if (ts != self) {
        ts->calling_sink.store(0, std::memory_order_relaxed);  // or set_trace_sink() would wait for it
        ts->life.store(ThreadSpans::Life::kZombie, std::memory_order_relaxed);
      }
      drain_ring(*ts, touched, scratch, /*discard=*/true);
      ts->wake_sent.store(false, std::memory_order_relaxed);
    }
  } catch (...) {  // out of memory listing the threads: their trees stay queued
  }
  g_sink_mu.unlock();
  thread_spans_mutex().unlock();
}

[[maybe_unused]] const bool g_fork_handlers[] = {
    add_fork_handler(ForkOrder::kSpanWriter,
                     {writer_before_fork, writer_after_fork_parent, writer_after_fork_child}),
    add_fork_handler(ForkOrder::kSpanThreads,
                     {threads_before_fork, threads_after_fork_parent, threads_after_fork_child}),
};

void write_in_place(ThreadSpans& ts, SpanTree* tree) noexcept {
  std::lock_guard<std::mutex> lock(writer().write_mu);
  ts.sink->write(view_of(*tree));
  ts.sink->end_batch();
}

// Wall-clock ns minus steady_clock ns, for moving span times onto
// steady_clock (Span::start_, end_). Re-read when `wall_ns` is more than
// 100 ms from when the cached offset was read, so the clocks' drift between
// reads stays in microseconds and a busy thread reads the clocks about ten
// times a second, not once per tree.
int64_t steady_offset(ThreadSpans& ts, int64_t wall_ns) noexcept {
  constexpr int64_t kMaxAgeNs = 100'000'000;
  if (wall_ns > ts.steady_offset_at - kMaxAgeNs && wall_ns < ts.steady_offset_at + kMaxAgeNs) [[likely]]
    return ts.steady_offset;
  auto steady_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  // The wall clock is the spans' own (ticks_to_ns), read between two steady
  // readings.
  int64_t s0 = steady_ns();
  int64_t wall = ticks_to_ns(tsc_now());
  int64_t s1 = steady_ns();
  ts.steady_offset = wall - (s0 + (s1 - s0) / 2);
  ts.steady_offset_at = wall;
  return ts.steady_offset;
}

std::chrono::steady_clock::time_point steady_time(int64_t wall_ns, int64_t offset) noexcept {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::nanoseconds(wall_ns - offset)));
}

void assign_hex(std::string& out, const uint8_t* bytes, size_t n) {
  out.resize(2 * n);
  write_hex(bytes, n, out.data());
}

void assign_span_id(std::string& out, uint64_t id) {
  std::array<uint8_t, 8> bytes;
  span_id_bytes(id, bytes);
  assign_hex(out, bytes.data(), bytes.size());
}

// A span's W3C ids ("" without a trace).
void set_w3c_ids(Span& s, const TreeTrace* trace, int64_t id, int64_t pid) {
  if (trace == nullptr) {
    s.trace_id.clear();
    s.span_id.clear();
    s.parent_span_id.clear();
    return;
  }
  assign_hex(s.trace_id, trace->trace_id.data(), trace->trace_id.size());
  assign_span_id(s.span_id, w3c_span_id(trace->span_base, id));
  assign_span_id(s.parent_span_id, pid < 0 ? trace->root_parent : w3c_span_id(trace->span_base, pid));
}

void call_callback(ThreadSpans& ts, const SinkCb& cb, SpanTree* tree) noexcept {
  try {
    ProbeCtx& ctx = ts.ctx_scratch;
    std::get<0>(ctx) = tree->kind.data();  // NUL-terminated in the arena
    std::get<1>(ctx).assign(tree->uniq);
    std::get<2>(ctx) = static_cast<uint32_t>(tree->freq);
    std::vector<Span>& spans = ts.spans_scratch;
    spans.resize(tree->done.size());
    int64_t offset = 0;
    for (size_t i = 0; i < spans.size(); ++i) {
      const DoneSpan& d = tree->done[i];
      Span& s = spans[i];
      s.tag.assign(d.tag);
      s.id = d.id;
      s.pid = d.pid;
      s.t1 = ticks_to_ns(d.t1);
      s.t2 = ticks_to_ns(d.t2);
      s.kind.assign(d.kind);
      s.cross_thread = d.cross_thread;
      set_w3c_ids(s, tree->has_trace ? &tree->trace : nullptr, d.id, d.pid);
      // RTBkit's members (pivot/rtbkit.h).
      if (i == 0) offset = steady_offset(ts, s.t2);
      s.tag_ = s.tag;  // string to string: no aliasing check, cheaper than assign(view)
      s.id_ = static_cast<uint32_t>(d.id);
      s.pid_ = static_cast<uint32_t>(d.pid);  // the root's -1 is 4294967295, as in RTBkit
      s.start_ = steady_time(s.t1, offset);
      s.end_ = steady_time(s.t2, offset);
    }
    ts.in_sink = true;
    cb(ctx, spans);
  } catch (...) {
    g_sink_exceptions.fetch_add(1, std::memory_order_relaxed);
  }
  ts.in_sink = false;
}

void drop(ThreadSpans& ts, SpanTree* tree) noexcept {
  bump(ts.trees_dropped);
  recycle_tree(ts, tree);
}

}  // namespace

void wake_writer() noexcept {
  g_wake.store(true, std::memory_order_relaxed);
  if (ensure_writer()) writer().cv.notify_one();
}

namespace {

// Runs the tree through a SinkCb if that is the current sink; false if the
// current sink is a built-in one (then ts.sink is it).
bool deliver_to_callback(ThreadSpans& ts, SpanTree* tree) {
  for (;;) {
    refresh_sink(ts);
    const SinkCb* cb = ts.sink_callback;
    if (cb == nullptr) return false;
    // Announce the call, then check the sink is still current: a
    // set_trace_sink() that bumped the version either sees us here and
    // waits, or we see its version and take its sink.
    ts.calling_sink.store(ts.sink_version, std::memory_order_seq_cst);
    if (g_sink_version.load(std::memory_order_seq_cst) != ts.sink_version) {
      ts.calling_sink.store(0, std::memory_order_relaxed);
      continue;
    }
    bump(ts.trees_delivered);
    bump(ts.spans_delivered, tree->done.size());
    call_callback(ts, *cb, tree);
    ts.calling_sink.store(0, std::memory_order_release);
    recycle_tree(ts, tree);
    return true;
  }
}

// Into the ring, counted; the writer is woken when the ring is half full.
void enqueue_counted(ThreadSpans& ts, SpanTree* tree) noexcept {
  size_t n = tree->done.size();
  if (!enqueue_tree(ts, tree)) {
    drop(ts, tree);
    return;
  }
  bump(ts.trees_delivered);
  bump(ts.spans_delivered, n);
  if (ts.ring.maybe_half_full() && !ts.wake_sent.load(std::memory_order_relaxed)) {
    ts.wake_sent.store(true, std::memory_order_relaxed);
    wake_writer();
  }
}

// Everything but the common case: a SinkCb, a sink not yet seen by this
// thread, a writer not running.
[[gnu::noinline]] void deliver_tree_slow(ThreadSpans& ts, SpanTree* tree) noexcept {
  // The sink version is never 0, so a thread that matches it has its sink.
  bool builtin =
      ts.sink_callback == nullptr && g_sink_version.load(std::memory_order_acquire) == ts.sink_version;
  if (!builtin) {
    try {
      if (deliver_to_callback(ts, tree)) return;
    } catch (...) {  // out of memory taking the sink
      drop(ts, tree);
      return;
    }
  }
  if (g_writer_state.load(std::memory_order_acquire) != kRunning && !ensure_writer()) [[unlikely]] {
    bump(ts.trees_delivered);
    bump(ts.spans_delivered, tree->done.size());
    write_in_place(ts, tree);
    recycle_tree(ts, tree);
    return;
  }
  if (ts.switch_pending) {
    auto* sw = new (std::nothrow) SinkSwitch{ts.sink};
    char* p = sw != nullptr ? ts.ring.reserve(sizeof(PointerRecord)) : nullptr;
    if (p == nullptr) {
      delete sw;
      drop(ts, tree);
      return;
    }
    auto* r = reinterpret_cast<PointerRecord*>(p);
    r->head = {sizeof(PointerRecord), RecordHead::kSwitch};
    r->ptr = sw;
    ts.ring.commit();
    ts.switch_pending = false;
  }
  enqueue_counted(ts, tree);
}

}  // namespace

void deliver_tree(ThreadSpans& ts, SpanTree* tree) noexcept {
  // A built-in sink this thread has announced to the running writer.
  if (ts.sink_callback == nullptr && !ts.switch_pending &&
      g_sink_version.load(std::memory_order_acquire) == ts.sink_version &&
      g_writer_state.load(std::memory_order_acquire) == kRunning) [[likely]] {
    enqueue_counted(ts, tree);
    return;
  }
  deliver_tree_slow(ts, tree);
}

// The writer, standing in for a zombie's owner, writes its trees directly.
void deliver_tree_from_writer(ThreadSpans& ts, SpanTree* tree) noexcept {
  try {
    if (deliver_to_callback(ts, tree)) return;
  } catch (...) {
    drop(ts, tree);
    return;
  }
  bump(ts.trees_delivered);
  bump(ts.spans_delivered, tree->done.size());
  write_in_place(ts, tree);
  recycle_tree(ts, tree);
}

}  // namespace pivot::internal

namespace pivot {

using internal::ThreadSpans;

void set_trace_sink(TraceSink sink) {
  std::shared_ptr<internal::SinkImpl> impl = internal::TraceSinkAccess::impl(sink);
  if (!impl) impl = internal::TraceSinkAccess::impl(discard_sink());
  uint64_t version;
  std::shared_ptr<internal::SinkImpl> old;
  {
    std::lock_guard<std::mutex> lock(internal::g_sink_mu);
    old = std::exchange(internal::current_sink(), std::move(impl));
    version = internal::g_sink_version.load(std::memory_order_relaxed) + 1;
    internal::g_sink_version.store(version, std::memory_order_seq_cst);
  }
  // Wait for SinkCb calls that began under an older sink (see deliver_tree).
  ThreadSpans* self = internal::current_thread_spans();
  for (ThreadSpans* ts : internal::all_thread_spans()) {
    if (ts == self) continue;
    for (;;) {
      uint64_t calling = ts->calling_sink.load(std::memory_order_seq_cst);
      if (calling == 0 || calling >= version) break;
      std::this_thread::yield();
    }
  }
}

void set_trace_sink(SinkCb cb) { set_trace_sink(cb ? callback_sink(std::move(cb)) : discard_sink()); }

void flush_traces() {
  internal::drain_own_inbox();
  if (internal::t_is_writer ||
      internal::g_writer_state.load(std::memory_order_acquire) != internal::kRunning) {
    return;
  }
  internal::Writer& w = internal::writer();
  std::unique_lock<std::mutex> lock(w.mu);
  if (w.stopping) return;
  uint64_t mine = ++w.requested;
  w.cv.notify_all();
  w.cv.wait(lock, [&] { return w.completed >= mine || w.stopping; });
}

TraceStats trace_stats() {
  TraceStats s;
  for (ThreadSpans* ts : internal::all_thread_spans()) {
    s.trees_delivered += ts->trees_delivered.load(std::memory_order_relaxed);
    s.spans_delivered += ts->spans_delivered.load(std::memory_order_relaxed);
    s.trees_dropped += ts->trees_dropped.load(std::memory_order_relaxed);
  }
  internal::span_counters(&s.freq_zero, &s.cross_thread_ends, &s.untraced);
  s.sink_exceptions = internal::g_sink_exceptions.load(std::memory_order_relaxed);
  s.write_errors = internal::g_write_errors.load(std::memory_order_relaxed);
  return s;
}

}  // namespace pivot
