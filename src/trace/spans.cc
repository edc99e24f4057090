// Span trees: begin, end, trees per id per thread, spans ended on other
// threads, and the registry of per-thread state.
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>

#include "baggage/trace_state.h"
#include "core/cityhash.h"
#include "core/clock.h"
#include "trace/sink.h"
#include "trace/span_state.h"

namespace pivot::internal {
namespace {

constinit thread_local ThreadSpans* t_state [[gnu::tls_model("initial-exec")]] = nullptr;
constinit thread_local bool t_exited = false;

// Instantiates the span sites' registration (a PIVOT_TRACEPOINT does this in
// its expansion), so SpanBegin and SpanEnd are known from program load.
[[maybe_unused]] const bool* const kSpanSitesRegistered[] = {&SpanBeginSite::registered,
                                                             &SpanEndSite::registered};

std::atomic<uint64_t> g_freq_zero{0};
std::atomic<uint64_t> g_cross_thread{0};
std::atomic<uint64_t> g_untraced{0};

struct Registry {
  std::mutex mu;
  ThreadSpans* head = nullptr;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: threads exit after statics
  return *r;
}

// Marks the thread's state a zombie when the thread exits.
struct ExitGuard {
  ~ExitGuard();
};
thread_local ExitGuard t_exit_guard;

ThreadSpans* adopt_state() noexcept {
  if (t_exited) return nullptr;
  try {
    Registry& r = registry();
    ThreadSpans* ts = nullptr;
    {
      std::lock_guard<std::mutex> lock(r.mu);
      for (ThreadSpans* z = r.head; z != nullptr; z = z->next) {
        // A zombie with no open trees has nothing left that another thread
        // could reach: take it over, ring and returned trees included.
        if (z->life.load(std::memory_order_relaxed) == ThreadSpans::Life::kZombie && z->open_trees.empty() &&
            z->inbox.load(std::memory_order_acquire) == nullptr) {
          ts = z;
          break;
        }
      }
      if (ts == nullptr) {
        ts = new ThreadSpans;
        ts->next = r.head;
        r.head = ts;
      }
      ts->tid = static_cast<int64_t>(syscall(SYS_gettid));
      ts->life.store(ThreadSpans::Life::kAlive, std::memory_order_relaxed);
    }
    (void)&t_exit_guard;  // constructs the guard, so its destructor runs at exit
    t_state = ts;
    return ts;
  } catch (...) {
    return nullptr;
  }
}

ExitGuard::~ExitGuard() {
  ThreadSpans* ts = t_state;
  t_exited = true;
  t_sample_cache = SampleCache{};
  if (ts == nullptr) return;
  drain_inbox(*ts);
  // Once it is a zombie the state may be taken over by a new thread at once:
  // read what we need first.
  bool still_open = !ts->open_trees.empty();
  {
    std::lock_guard<std::mutex> lock(registry().mu);
    ts->life.store(ThreadSpans::Life::kZombie, std::memory_order_relaxed);
  }
  t_state = nullptr;
  if (still_open) wake_writer();  // its remote closes are the writer's now
}

bool decide(std::string_view uniq, int64_t freq) noexcept {
  if (freq <= 0) {
    g_freq_zero.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (freq == 1) return true;
  return CityHash64(uniq) % static_cast<uint64_t>(freq) == 0;
}

SpanTree* find_open_tree(ThreadSpans& ts, std::string_view uniq) noexcept {
  for (auto it = ts.open_trees.rbegin(); it != ts.open_trees.rend(); ++it) {
    if ((*it)->uniq == uniq) return *it;
  }
  return nullptr;
}

// The tree belongs to the current W3C trace: its spans get span ids, and
// its root's parent is the span current now.
void join_trace(SpanTree& tree, const TraceContext& w3c) noexcept {
  tree.has_trace = true;
  tree.trace = {w3c.trace_id, random_span_base(), span_id_value(w3c.span_id)};
}

// While a span of a traced tree is open it is the thread's current span
// (what trace_context::inject sends as the parent); when it ends, its parent
// is again. Only if the context is still the tree's: a Scope may have
// replaced it meanwhile.
void enter_w3c_span(const SpanTree& tree, int32_t id) noexcept {
  TraceContext& now = current_trace();
  if (now.trace_id == tree.trace.trace_id) span_id_bytes(w3c_span_id(tree.trace.span_base, id), now.span_id);
}

void leave_w3c_span(const SpanTree& tree, int32_t id, int32_t pid) noexcept {
  TraceContext& now = current_trace();
  if (now.trace_id != tree.trace.trace_id ||
      span_id_value(now.span_id) != w3c_span_id(tree.trace.span_base, id))
    return;
  span_id_bytes(pid < 0 ? tree.trace.root_parent : w3c_span_id(tree.trace.span_base, pid), now.span_id);
}

SpanTree* new_tree(ThreadSpans& ts, std::string_view uniq, int64_t freq, bool sampled) {
  SpanTree* tree;
  if (ts.free_trees == nullptr) ts.free_trees = ts.returned.exchange(nullptr, std::memory_order_acquire);
  if (ts.free_trees != nullptr) {
    tree = ts.free_trees;
    ts.free_trees = tree->next_returned;
  } else {
    tree = new SpanTree;
  }
  // Trees come back from the writer as they were written: clear here.
  tree->stack.clear();
  tree->done.clear();
  tree->arena.reset();
  tree->owner = &ts;
  tree->tid = ts.tid;
  tree->uniq = tree->arena.add(uniq);
  tree->freq = freq;
  tree->sampled = sampled;
  tree->kind = {};
  tree->has_trace = false;
  if (has_current_trace()) [[unlikely]]
    join_trace(*tree, current_trace());
  tree->next_id = 0;
  tree->open_count = 0;
  tree->done_text = 0;
  ts.open_trees.push_back(tree);
  return tree;
}

void fire_span_begin(const OpenSpan& s) noexcept {
  auto get = [&s](uint32_t i, ExportSink& sink) {
    switch (i) {
      case 0: sink.put(s.tag); break;
      case 1: sink.put(s.kind); break;
      case 2: sink.put(s.tree->uniq); break;
      case 3: sink.put(int64_t{s.id}); break;
      case 4: sink.put(int64_t{s.pid}); break;
      case 5: sink.put(ticks_to_ns(s.t1)); break;
      default: break;
    }
  };
  fire(SpanBeginSite::site, get);
}

void fire_span_end(const OpenSpan& s, uint64_t t2) noexcept {
  auto get = [&s, t2](uint32_t i, ExportSink& sink) {
    switch (i) {
      case 0: sink.put(s.tag); break;
      case 1: sink.put(s.kind); break;
      case 2: sink.put(s.tree->uniq); break;
      case 3: sink.put(int64_t{s.id}); break;
      case 4: sink.put(int64_t{s.pid}); break;
      case 5: sink.put(ticks_to_ns(s.t1)); break;
      case 6: sink.put(ticks_to_ns(t2)); break;
      case 7: sink.put(ticks_to_ns(t2) - ticks_to_ns(s.t1)); break;
      default: break;
    }
  };
  fire(SpanEndSite::site, get);
}

void forget_open_tree(ThreadSpans& ts, SpanTree* tree) noexcept {
  if (!ts.open_trees.empty() && ts.open_trees.back() == tree) [[likely]] {
    ts.open_trees.pop_back();
  } else {
    auto it = std::find(ts.open_trees.begin(), ts.open_trees.end(), tree);
    if (it != ts.open_trees.end()) ts.open_trees.erase(it);
  }
  if (t_state == &ts && t_sample_cache.tree == tree) t_sample_cache.tree = nullptr;
}

// A tree that never got a span (allocation failed).
void abandon_tree(ThreadSpans& ts, SpanTree* tree) noexcept {
  forget_open_tree(ts, tree);
  recycle_tree(ts, tree);
}

void complete_tree(ThreadSpans& ts, SpanTree* tree) noexcept {
  forget_open_tree(ts, tree);
  if (!tree->sampled) {
    recycle_tree(ts, tree);
  } else if (ts.life.load(std::memory_order_relaxed) != ThreadSpans::Life::kAlive) {
    deliver_tree_from_writer(ts, tree);
  } else {
    deliver_tree(ts, tree);
  }
}

// Closes `s` in its tree (owner side). `t2` comes from whoever ended it.
void close_span(ThreadSpans& ts, OpenSpan& s, uint64_t t2, bool cross_thread) noexcept {
  SpanTree* tree = s.tree;
  s.open = false;
  try {
    tree->done.push_back({s.id, s.pid, s.t1, t2, s.tag, s.kind, cross_thread});
    tree->done_text += s.tag.size() + s.kind.size();
  } catch (...) {
    g_untraced.fetch_add(1, std::memory_order_relaxed);
  }
  // Closed spans leave the stack once nothing open is above them.
  while (tree->stack.size() != 0 && !tree->stack.top()->open) tree->stack.pop();
  if (--tree->open_count == 0) complete_tree(ts, tree);
}

}  // namespace

std::string_view Arena::add_slow(std::string_view s) {
  size_t need = s.size() + 1;
  // Next chunk that fits (chunks are kept across resets), else a new one.
  size_t i = chunks_.empty() ? 0 : cur_ + 1;
  while (i < chunks_.size() && sizes_[i] < need) ++i;
  if (i == chunks_.size()) {
    size_t size = std::max(kChunk, need);
    chunks_.push_back(std::make_unique<char[]>(size));
    sizes_.push_back(size);
  }
  cur_ = i;
  next_ = chunks_[i].get();
  room_ = sizes_[i];
  return add(s);
}

void Arena::trim() noexcept {
  chunks_.resize(4);
  sizes_.resize(4);
}

void SpanSlots::grow() {
  chunks_.push_back(std::make_unique<OpenSpan[]>(kChunk));
  capacity_ += kChunk;
}

void recycle_tree(ThreadSpans& ts, SpanTree* tree) noexcept {
  tree->next_returned = ts.free_trees;
  ts.free_trees = tree;
}

void drain_inbox(ThreadSpans& ts) noexcept {
  RemoteClose* list = ts.inbox.exchange(nullptr, std::memory_order_acquire);
  // The inbox is a stack; close in the order the spans ended.
  RemoteClose* fifo = nullptr;
  while (list != nullptr) {
    RemoteClose* next = list->next;
    list->next = fifo;
    fifo = list;
    list = next;
  }
  while (fifo != nullptr) {
    RemoteClose* next = fifo->next;
    close_span(ts, *fifo->span, fifo->t2, true);
    delete fifo;
    fifo = next;
  }
}

std::vector<ThreadSpans*> all_thread_spans() {
  std::lock_guard<std::mutex> lock(registry().mu);
  return all_thread_spans_locked();
}

std::vector<ThreadSpans*> all_thread_spans_locked() {
  std::vector<ThreadSpans*> out;
  for (ThreadSpans* ts = registry().head; ts != nullptr; ts = ts->next) out.push_back(ts);
  return out;
}

std::mutex& thread_spans_mutex() { return registry().mu; }

void mark_thread_untraced() noexcept { t_exited = true; }

OpenSpan* span_begin(std::string_view kind, std::string_view uniq, int64_t freq,
                     std::string_view tag) noexcept {
  ThreadSpans* ts = t_state;
  if (ts == nullptr) [[unlikely]] {
    ts = adopt_state();
    if (ts == nullptr) {
      g_untraced.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
  }
  if (ts->in_sink) [[unlikely]] {
    g_untraced.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  if (ts->inbox.load(std::memory_order_relaxed) != nullptr) [[unlikely]]
    drain_inbox(*ts);

  SampleCache& c = t_sample_cache;
  bool sampled;
  SpanTree* tree;
  bool cached = true;  // c describes this id
  if (c.len == uniq.size() && c.freq == freq && same_bytes(c.id, uniq.data(), uniq.size())) {
    sampled = c.sampled;
    tree = static_cast<SpanTree*>(c.tree);
  } else {
    tree = find_open_tree(*ts, uniq);
    sampled = decide(uniq, freq);
    cached = freq > 0 && uniq.size() <= kCachedIdBytes;
    if (cached) {
      c.len = static_cast<uint32_t>(uniq.size());
      c.freq = freq;
      c.sampled = sampled;
      c.tree = tree;
      if (!uniq.empty()) std::memcpy(c.id, uniq.data(), uniq.size());
    } else {
      c.len = ~0u;
    }
  }
  bool created = false;
  try {
    if (tree == nullptr) {
      if (!sampled && !span_sites_active()) return nullptr;
      tree = new_tree(*ts, uniq, freq, sampled);
      created = true;
      if (cached) c.tree = tree;
    }
    std::string_view tag_copy = tree->arena.add(tag);
    std::string_view kind_copy = tree->arena.add(kind);
    OpenSpan& s = tree->stack.push();  // the last step that may throw
    s.tree = tree;
    s.id = ++tree->next_id;
    s.pid = tree->stack.size() > 1 ? tree->stack.at(tree->stack.size() - 2).id : -1;
    s.tag = tag_copy;
    s.kind = kind_copy;
    if (s.id == 1) tree->kind = kind_copy;  // the root's kind is the tree's (ProbeCtx)
    s.open = true;
    ++tree->open_count;
    if (tree->has_trace) [[unlikely]]
      enter_w3c_span(*tree, s.id);
    s.t1 = tsc_now();
    if (SpanBeginSite::site.advice.load(std::memory_order_relaxed) != nullptr) [[unlikely]]
      fire_span_begin(s);
    return &s;
  } catch (...) {  // out of memory: this span goes untraced
    g_untraced.fetch_add(1, std::memory_order_relaxed);
    if (created && tree->open_count == 0) abandon_tree(*ts, tree);
    return nullptr;
  }
}

void span_end(OpenSpan* s) noexcept {
  uint64_t t2 = tsc_now();
  SpanTree* tree = s->tree;
  ThreadSpans* ts = t_state;
  if (SpanEndSite::site.advice.load(std::memory_order_relaxed) != nullptr) [[unlikely]]
    fire_span_end(*s, t2);
  if (tree->owner != ts) [[unlikely]] {
    // Ended on another thread: the owner closes it. Everything read here was
    // written before the Trace left its thread and stays put while it is open.
    g_cross_thread.fetch_add(1, std::memory_order_relaxed);
    ThreadSpans* owner = tree->owner;
    auto* msg = new (std::nothrow) RemoteClose{s, t2, nullptr};
    if (msg == nullptr) return;  // the tree will stay open; nothing else we can do
    msg->next = owner->inbox.load(std::memory_order_relaxed);
    while (!owner->inbox.compare_exchange_weak(msg->next, msg, std::memory_order_release,
                                               std::memory_order_relaxed)) {
    }
    if (owner->life.load(std::memory_order_relaxed) == ThreadSpans::Life::kZombie) wake_writer();
    return;
  }
  if (ts->inbox.load(std::memory_order_relaxed) != nullptr) [[unlikely]]
    drain_inbox(*ts);
  if (tree->has_trace) [[unlikely]]
    leave_w3c_span(*tree, s->id, s->pid);
  close_span(*ts, *s, t2, false);
}

bool span_sampled(const OpenSpan* span) noexcept { return span->tree->sampled; }

// Used by flush_traces() on the calling thread.
void drain_own_inbox() noexcept {
  if (ThreadSpans* ts = t_state; ts != nullptr) drain_inbox(*ts);
}

ThreadSpans* current_thread_spans() noexcept { return t_state; }

void span_counters(uint64_t* freq_zero, uint64_t* cross_thread, uint64_t* untraced) noexcept {
  *freq_zero = g_freq_zero.load(std::memory_order_relaxed);
  *cross_thread = g_cross_thread.load(std::memory_order_relaxed);
  *untraced = g_untraced.load(std::memory_order_relaxed);
}

}  // namespace pivot::internal
