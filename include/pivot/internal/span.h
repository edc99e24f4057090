// What pivot::Trace<T> needs inline: the span tracepoint sites, the
// per-thread sampling cache its fast path reads, and the slow paths it calls
// (src/trace/spans.cc). Not public API.
#pragma once

#include <array>
#include <atomic>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <tuple>

#include "pivot/internal/site.h"

namespace pivot::internal {

struct OpenSpan;  // defined in src/trace

struct SpanBeginTag {
  static constexpr std::string_view tracepoint() { return "SpanBegin"; }
  static constexpr const char* file() { return __FILE__; }
  static constexpr int line() { return __LINE__; }
  static constexpr auto names() {
    return std::array<std::string_view, 6>{"tag", "kind", "uniq", "span", "parent", "t1"};
  }
  static constexpr auto units() { return std::array<std::string_view, 6>{"", "", "", "", "", "epoch_ns"}; }
};
struct SpanEndTag {
  static constexpr std::string_view tracepoint() { return "SpanEnd"; }
  static constexpr const char* file() { return __FILE__; }
  static constexpr int line() { return __LINE__; }
  static constexpr auto names() {
    return std::array<std::string_view, 8>{"tag", "kind", "uniq", "span", "parent", "t1", "t2", "duration"};
  }
  static constexpr auto units() {
    return std::array<std::string_view, 8>{"", "", "", "", "", "epoch_ns", "epoch_ns", "ns"};
  }
};
// The two span tracepoint sites, named (unlike a PIVOT_TRACEPOINT's) so that a
// span's begin can tell whether SpanEnd is watched.
using SpanBeginSite = SiteHolder<SpanBeginTag, TypeList<void, std::string_view, std::string_view,
                                                        std::string_view, int64_t, int64_t, int64_t>>;
using SpanEndSite =
    SiteHolder<SpanEndTag, TypeList<void, std::string_view, std::string_view, std::string_view, int64_t,
                                    int64_t, int64_t, int64_t, int64_t>>;

inline bool span_sites_active() noexcept {
  return SpanBeginSite::site.advice.load(std::memory_order_relaxed) != nullptr ||
         SpanEndSite::site.advice.load(std::memory_order_relaxed) != nullptr;
}

// The sampling decision for the last id this thread probed, so that repeated
// and nested spans of one id neither hash nor divide.
inline constexpr uint32_t kCachedIdBytes = 40;
struct alignas(64) SampleCache {
  uint32_t len = ~0u;  // ~0u: empty
  bool sampled = false;
  int64_t freq = 0;
  void* tree = nullptr;  // the open tree of this id on this thread, if any
  char id[kCachedIdBytes] = {};
};
inline constinit thread_local SampleCache t_sample_cache [[gnu::tls_model("initial-exec")]];

inline bool same_bytes(const char* a, const char* b, size_t n) noexcept {
  auto load8 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (load8(a + i) != load8(b + i)) return false;
    }
    return load8(a + n - 8) == load8(b + n - 8);
  }
  if (n >= 4) {
    uint32_t x, y, u, v;
    std::memcpy(&x, a, 4), std::memcpy(&y, b, 4), std::memcpy(&u, a + n - 4, 4),
        std::memcpy(&v, b + n - 4, 4);
    return x == y && u == v;
  }
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// The slow paths (src/trace/spans.cc). span_begin returns null when the span
// is not tracked.
[[gnu::noinline]] OpenSpan* span_begin(std::string_view kind, std::string_view uniq, int64_t freq,
                                       std::string_view tag) noexcept;
[[gnu::noinline]] void span_end(OpenSpan* span) noexcept;
bool span_sampled(const OpenSpan* span) noexcept;

inline std::string_view text_of(const char* s) noexcept { return s != nullptr ? std::string_view(s) : ""; }
inline std::string_view text_of(std::string_view s) noexcept { return s; }

template <class T>
concept Probeable = requires(const T& t) {
  std::get<0>(do_probe(t));
  { text_of(std::get<1>(do_probe(t))) } -> std::same_as<std::string_view>;
  { text_of(std::get<0>(do_probe(t))) } -> std::same_as<std::string_view>;
  static_cast<int64_t>(std::get<2>(do_probe(t)));
};

// Trace<T>'s constructor: the span for (kind, id, freq) = probe, or null when
// it is not tracked. The fast path: an unsampled id, the one this thread
// probed last, while no query watches spans, returns at once (no hash, no
// division, no call).
template <class Probe>
[[gnu::always_inline]] inline OpenSpan* open_span(const Probe& probe, std::string_view tag) noexcept {
  std::string_view uniq = text_of(std::get<1>(probe));
  auto freq = static_cast<int64_t>(std::get<2>(probe));
  const SampleCache& c = t_sample_cache;
  if (c.len == uniq.size() && c.freq == freq && !c.sampled && c.tree == nullptr &&
      same_bytes(c.id, uniq.data(), uniq.size()) && !span_sites_active()) [[likely]] {
    return nullptr;
  }
  return span_begin(text_of(std::get<0>(probe)), uniq, freq, tag);
}

}  // namespace pivot::internal
