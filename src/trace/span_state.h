// The per-thread state behind pivot::Trace: span trees, their open spans, and
// the hand-off of finished trees to sinks. Not public API.
//
// Ownership: each thread that traces a span gets a ThreadSpans (its owner),
// registered process-wide. Only the owner touches a tree's mutable parts
// (the stack of open spans, the finished spans, counters). Other threads
// touch a ThreadSpans only through its atomics: `inbox` (spans that ended on
// another thread) and the SPSC `ring` (finished trees, consumed by the
// background writer), and `returned` (trees the writer is done with).
//
// Stability: an OpenSpan never moves while it is open, and the strings a
// tree holds (id, tags, kinds) never move while the tree is alive, so a
// thread that ends a span it did not begin can still read them. A tree stays
// alive while any of its spans is open; a ThreadSpans stays alive while any
// of its trees is (after its thread exits it becomes a zombie that the
// writer thread owns until it is empty).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/trace.h"

namespace pivot::internal {

struct SpanTree;
struct ThreadSpans;

struct OpenSpan {
  SpanTree* tree = nullptr;
  int32_t id = 0;
  int32_t pid = -1;
  uint64_t t1 = 0;  // ticks (core/clock.h)
  std::string_view tag;
  std::string_view kind;  // NUL-terminated in the arena
  bool open = false;
};

struct DoneSpan {
  int32_t id;
  int32_t pid;
  uint64_t t1;
  uint64_t t2;
  std::string_view tag;
  std::string_view kind;
  bool cross_thread;
};

// Copies n bytes, n small and known not to overlap: cheaper than a call to
// memcpy for the few bytes of tags and ids.
inline void copy_bytes(char* dst, const char* src, size_t n) noexcept {
  if (n >= 8 && n <= 16) {
    uint64_t a, b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n != 0) {
    std::memcpy(dst, src, n);
  }
}

// Append-only string storage in chunks: what it hands out never moves until
// reset(). Each string is followed by a NUL.
class Arena {
 public:
  std::string_view add(std::string_view s) {
    size_t need = s.size() + 1;
    if (need <= room_) [[likely]] {
      char* p = next_;
      copy_bytes(p, s.data(), s.size());
      p[s.size()] = '\0';
      next_ += need;
      room_ -= need;
      return {p, s.size()};
    }
    return add_slow(s);
  }
  void reset() noexcept {
    // Keep a few chunks for the next tree; an occasional huge tree does not
    // pin its memory.
    if (chunks_.size() > 4) [[unlikely]]
      trim();
    cur_ = 0;
    next_ = chunks_.empty() ? nullptr : chunks_[0].get();
    room_ = chunks_.empty() ? 0 : sizes_[0];
  }

 private:
  std::string_view add_slow(std::string_view s);
  void trim() noexcept;
  static constexpr size_t kChunk = 512;
  std::vector<std::unique_ptr<char[]>> chunks_;
  std::vector<size_t> sizes_;
  size_t cur_ = 0;        // chunk being filled
  char* next_ = nullptr;  // free space in it
  size_t room_ = 0;
};

// The open spans of one tree, innermost last. Entries never move.
class SpanSlots {
 public:
  OpenSpan& push() {
    if (size_ == capacity_) [[unlikely]]
      grow();
    return at(size_++);
  }
  void pop() { --size_; }
  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  OpenSpan& at(size_t i) { return chunks_[i / kChunk][i % kChunk]; }
  OpenSpan* top() { return size_ == 0 ? nullptr : &at(size_ - 1); }

 private:
  void grow();
  static constexpr size_t kChunk = 16;
  std::vector<std::unique_ptr<OpenSpan[]>> chunks_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// The W3C trace a tree belongs to (pivot/trace_context.h). Span i of the
// tree has W3C span id w3c_span_id(span_base, i), so spans store nothing for
// it; the root's parent is root_parent, the span current when it began.
struct TreeTrace {
  std::array<uint8_t, 16> trace_id;
  uint64_t span_base;
  uint64_t root_parent;
};

struct SpanTree {
  ThreadSpans* owner = nullptr;
  int64_t tid = 0;  // the owner's thread
  // Fixed while the tree is alive (other threads may read them).
  std::string_view uniq;  // in the arena
  int64_t freq = 0;
  bool sampled = false;
  std::string_view kind;   // the root span's kind (ProbeCtx)
  bool has_trace = false;  // a W3C trace context was current when the tree began
  TreeTrace trace;
  // Owner only.
  int32_t next_id = 0;
  uint32_t open_count = 0;
  SpanSlots stack;
  std::vector<DoneSpan> done;  // in the order spans ended
  size_t done_text = 0;        // bytes of their tags and kinds
  Arena arena;
  SpanTree* next_returned = nullptr;  // link in ThreadSpans::returned or free_trees
};

// A span ended on another thread than its owner's; the owner closes it.
struct RemoteClose {
  OpenSpan* span;
  uint64_t t2;
  RemoteClose* next;
};

// Bounded single-producer (the owner) single-consumer (the writer) byte
// ring of records: finished trees packed flat (PackedTree), big trees by
// pointer, and sink switches. Packing keeps the owner's trees hot in its
// cache (it reuses them at once) and costs a few dozen bytes of copying.
struct RecordHead {
  enum Type : uint32_t { kWrap, kTree, kTreePtr, kSwitch };
  uint32_t size;  // bytes, a multiple of 8, this header included
  uint32_t type;
};

struct PackedTree {
  RecordHead head;
  int64_t tid;
  int64_t freq;
  uint32_t n_spans;
  uint32_t uniq_len;
  uint32_t kind_len;
  uint32_t has_trace;
  // Then a TreeTrace if has_trace, n_spans PackedSpans, then the bytes of
  // uniq, kind, and each span's tag and kind, in that order.
};

struct PackedSpan {
  uint64_t t1;
  uint64_t t2;
  int32_t id;
  int32_t pid;
  uint32_t tag_len;
  uint32_t kind_len;
  uint64_t cross_thread;
};

struct PointerRecord {  // kTreePtr (a SpanTree*) or kSwitch (a SinkSwitch*)
  RecordHead head;
  void* ptr;
};

// A prefetch that asks for the line in a state to be written (PREFETCHW,
// a no-op on x86-64 processors without it); GCC emits only a read prefetch
// for __builtin_prefetch(p, 1) unless the target has PRFCHW.
inline void prefetch_for_write(const char* p) noexcept {
#if defined(__x86_64__)
  asm volatile("prefetchw %0" ::"m"(*p));
#else
  __builtin_prefetch(p, 1);
#endif
}

class SpanRing {
 public:
  static constexpr uint64_t kCapacity = 64 * 1024;
  static constexpr uint64_t kMaxRecord = 4 * 1024;  // bigger trees go by pointer
  static constexpr uint64_t kPrefetchAhead = 1024;  // bytes, both sides

  SpanRing() : buf_(new (std::align_val_t{64}) char[kCapacity]) {}
  ~SpanRing() { operator delete[](buf_, std::align_val_t{64}); }
  SpanRing(const SpanRing&) = delete;
  SpanRing& operator=(const SpanRing&) = delete;

  // Producer: `bytes` (a multiple of 8, at most kMaxRecord) of contiguous
  // space, or null when the ring is full. commit() publishes it.
  char* reserve(uint64_t bytes) noexcept {
    uint64_t h = head_.load(std::memory_order_relaxed);
    uint64_t pos = h % kCapacity;
    uint64_t skip = pos + bytes > kCapacity ? kCapacity - pos : 0;
    if (h + skip + bytes - tail_cache_ > kCapacity) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (h + skip + bytes - tail_cache_ > kCapacity) return nullptr;
    }
    if (skip != 0) {
      auto* wrap = reinterpret_cast<RecordHead*>(buf_ + pos);
      wrap->size = static_cast<uint32_t>(skip);
      wrap->type = RecordHead::kWrap;
    }
    pending_ = h + skip + bytes;
    // The lines a few records ahead, claimed for writing now if they are
    // free: the writer's core read them on the last lap, and taking each
    // back when the first store reaches it stalls the stores behind it.
    // That was most of what a span cost with the writer on another core
    // (performance.md, Spans).
    if (pending_ + kPrefetchAhead + 128 - tail_cache_ <= kCapacity) {
      prefetch_for_write(buf_ + (pending_ + kPrefetchAhead) % kCapacity);
      prefetch_for_write(buf_ + (pending_ + kPrefetchAhead + 64) % kCapacity);
    }
    return buf_ + (h + skip) % kCapacity;
  }
  void commit() noexcept { head_.store(pending_, std::memory_order_release); }
  // Producer: whether the ring may be half full. Reads the consumer's
  // cache line only when the producer's view of it says so.
  bool maybe_half_full() noexcept {
    uint64_t h = head_.load(std::memory_order_relaxed);
    if (h - tail_cache_ < kCapacity / 2) return false;
    tail_cache_ = tail_.load(std::memory_order_acquire);
    return h - tail_cache_ >= kCapacity / 2;
  }

  // Consumer.
  uint64_t head() const noexcept { return head_.load(std::memory_order_acquire); }
  // Reading at `offset` of records up to `head`: fetches the two lines
  // kPrefetchAhead further on if the producer is done with them.
  void prefetch_ahead(uint64_t offset, uint64_t head) const noexcept {
    if (offset + kPrefetchAhead + 64 < head) {
      __builtin_prefetch(buf_ + (offset + kPrefetchAhead) % kCapacity);
      __builtin_prefetch(buf_ + (offset + kPrefetchAhead + 64) % kCapacity);
    }
  }
  uint64_t tail() const noexcept { return tail_.load(std::memory_order_relaxed); }
  const char* at(uint64_t offset) const noexcept { return buf_ + offset % kCapacity; }
  void advance(uint64_t new_tail) noexcept { tail_.store(new_tail, std::memory_order_release); }

 private:
  alignas(64) std::atomic<uint64_t> head_{0};
  uint64_t tail_cache_ = 0;  // producer's view of tail_
  uint64_t pending_ = 0;
  alignas(64) std::atomic<uint64_t> tail_{0};
  char* buf_;
};

// A change of sink, queued in order with the trees that precede it.
struct SinkSwitch {
  std::shared_ptr<SinkImpl> sink;
};

struct ThreadSpans {
  // kZombieBusy: a zombie whose inbox the writer is handling right now.
  enum class Life : int { kAlive, kZombie, kZombieBusy };

  // Owner only.
  std::vector<SpanTree*> open_trees;
  SpanTree* free_trees = nullptr;         // linked by next_returned
  std::shared_ptr<SinkImpl> sink;         // the sink this thread delivers to
  const SinkCb* sink_callback = nullptr;  // sink->callback()
  uint64_t sink_version = 0;              // version of `sink`; 0 before the first
  bool switch_pending = false;            // a SinkSwitch for `sink` is not queued yet
  bool in_sink = false;                   // inside a SinkCb (spans are not traced)
  ProbeCtx ctx_scratch;
  std::vector<Span> spans_scratch;
  int64_t steady_offset = 0;                 // wall-clock ns minus steady_clock ns (sink.cc)
  int64_t steady_offset_at = INT64_MIN / 2;  // wall-clock ns when it was read
  int64_t tid = 0;

  // Shared.
  SpanRing ring;
  std::atomic<RemoteClose*> inbox{nullptr};
  std::atomic<SpanTree*> returned{nullptr};
  std::atomic<uint64_t> calling_sink{0};  // sink version while inside a SinkCb, else 0
  std::atomic<Life> life{Life::kAlive};
  std::atomic<bool> wake_sent{false};
  // Counters: written by the owner (a plain add) for every tree, read by
  // stats. On a line of their own, and so is writer_sink, which the writer
  // reads for every tree it drains: on one line, they moved between the two
  // cores twice per tree (performance.md, Spans).
  alignas(64) std::atomic<uint64_t> trees_delivered{0};
  std::atomic<uint64_t> spans_delivered{0};
  std::atomic<uint64_t> trees_dropped{0};

  // Writer only.
  alignas(64) std::shared_ptr<SinkImpl> writer_sink;  // sink for the ring's next trees

  ThreadSpans* next = nullptr;  // registry list, guarded by its mutex
};

inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// Recycles a tree whose spans are all closed (owner, or the writer for a
// zombie).
void recycle_tree(ThreadSpans& ts, SpanTree* tree) noexcept;

// Handles every RemoteClose queued for ts (owner, or the writer for a zombie).
void drain_inbox(ThreadSpans& ts) noexcept;

// The registry of ThreadSpans (never freed: a zombie with nothing open is
// taken over by the next new thread). The mutex is held while adding,
// taking over, or changing a zombie's life.
std::vector<ThreadSpans*> all_thread_spans();
std::vector<ThreadSpans*> all_thread_spans_locked();  // caller holds thread_spans_mutex()
std::mutex& thread_spans_mutex();

// The calling thread's state (null before its first tracked span).
ThreadSpans* current_thread_spans() noexcept;
// Closes the spans other threads ended for the calling thread's trees.
void drain_own_inbox() noexcept;
// The calling thread never traces spans (the writer thread).
void mark_thread_untraced() noexcept;
// Process-wide counters kept by spans.cc.
void span_counters(uint64_t* freq_zero, uint64_t* cross_thread, uint64_t* untraced) noexcept;

}  // namespace pivot::internal
