// W3C traceparent: parsing, formatting, and the thread's current context.
#include "pivot/trace_context.h"

#include <atomic>
#include <cstring>
#include <utility>

#include "baggage/bag_data.h"
#include "baggage/trace_state.h"
#include "baggage/w3c_header.h"

namespace pivot {

using internal::t_trace;

namespace {

std::atomic<uint64_t> g_parse_errors{0};

// traceparent = version "-" trace-id "-" parent-id "-" trace-flags
constexpr size_t kVersion00Size = 55;
constexpr size_t kTraceIdAt = 3, kParentIdAt = 36, kFlagsAt = 53;

int lower_hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is not allowed either
}

std::string offset_text(size_t at) { return " at offset " + std::to_string(at); }

// Reads n bytes of lowercase hex from v at `at`.
bool read_hex(std::string_view v, size_t at, uint8_t* out, size_t n, Error* error) {
  for (size_t i = 0; i < 2 * n; ++i) {
    if (lower_hex(v[at + i]) < 0) {
      *error = Error(std::string("traceparent: invalid hex digit '") + v[at + i] + "'" + offset_text(at + i));
      return false;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<uint8_t>(lower_hex(v[at + 2 * i]) * 16 + lower_hex(v[at + 2 * i + 1]));
  }
  return true;
}

// In 8-byte words: a span's begin asks whether a trace is current.
template <size_t N>
bool all_zero(const std::array<uint8_t, N>& a) {
  static_assert(N % 8 == 0);
  uint64_t any = 0;
  for (size_t i = 0; i < N; i += 8) {
    uint64_t w;
    std::memcpy(&w, a.data() + i, 8);
    any |= w;
  }
  return any == 0;
}

uint64_t splitmix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

bool TraceContext::valid() const noexcept { return !all_zero(trace_id) && !all_zero(span_id); }

std::string TraceContext::trace_id_hex() const {
  std::string out(32, '0');
  internal::write_hex(trace_id.data(), trace_id.size(), out.data());
  return out;
}

std::string TraceContext::span_id_hex() const {
  std::string out(16, '0');
  internal::write_hex(span_id.data(), span_id.size(), out.data());
  return out;
}

std::string TraceContext::traceparent() const {
  if (!valid()) return std::string();
  std::string out = "00-" + trace_id_hex() + "-" + span_id_hex() + "-00";
  internal::write_hex(&flags, 1, out.data() + kFlagsAt);
  return out;
}

Result<TraceContext> TraceContext::parse(std::string_view text) {
  std::string_view v = internal::trim_ows(text);
  if (v.size() < kVersion00Size) {
    return Error("traceparent: too short (" + std::to_string(v.size()) + " characters, expected 55)");
  }
  Error error;
  uint8_t version = 0;
  if (!read_hex(v, 0, &version, 1, &error)) return error;
  if (version == 0xff) return Error("traceparent: version ff is invalid");
  if (version == 0 && v.size() != kVersion00Size) {
    return Error("traceparent: version 00 is 55 characters, not " + std::to_string(v.size()));
  }
  // A later version may append fields, after a '-'.
  for (size_t at : {size_t{2}, kParentIdAt - 1, kFlagsAt - 1, kVersion00Size}) {
    if (at < v.size() && v[at] != '-') return Error("traceparent: expected '-'" + offset_text(at));
  }
  TraceContext c;
  if (!read_hex(v, kTraceIdAt, c.trace_id.data(), c.trace_id.size(), &error)) return error;
  if (!read_hex(v, kParentIdAt, c.span_id.data(), c.span_id.size(), &error)) return error;
  if (!read_hex(v, kFlagsAt, &c.flags, 1, &error)) return error;
  if (all_zero(c.trace_id)) return Error("traceparent: all-zero trace-id");
  if (all_zero(c.span_id)) return Error("traceparent: all-zero parent-id");
  return c;
}

namespace trace_context {

TraceContext current() noexcept { return t_trace; }

Scope::Scope(const TraceContext& context) noexcept : saved_(t_trace) { t_trace = context; }
Scope::~Scope() { t_trace = saved_; }

TraceContext exchange(const TraceContext& context) noexcept { return std::exchange(t_trace, context); }

uint64_t parse_errors() noexcept { return g_parse_errors.load(std::memory_order_relaxed); }

TraceContext from_header(std::string_view traceparent) noexcept {
  if (internal::trim_ows(traceparent).empty()) return TraceContext();
  try {
    Result<TraceContext> c = TraceContext::parse(traceparent);
    if (c) return *c;
  } catch (...) {
  }
  g_parse_errors.fetch_add(1, std::memory_order_relaxed);
  return TraceContext();
}

}  // namespace trace_context

namespace internal {

void write_hex(const uint8_t* bytes, size_t n, char* out) noexcept {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
}

uint64_t random_span_base() noexcept { return next_random64(); }

uint64_t w3c_span_id(uint64_t base, int64_t id) noexcept {
  uint64_t v = splitmix(base + static_cast<uint64_t>(id));
  return v != 0 ? v : 1;
}

void span_id_bytes(uint64_t id, std::array<uint8_t, 8>& out) noexcept {
  for (int i = 7; i >= 0; --i, id >>= 8) out[static_cast<size_t>(i)] = static_cast<uint8_t>(id);
}

uint64_t span_id_value(const std::array<uint8_t, 8>& bytes) noexcept {
  uint64_t v = 0;
  for (uint8_t b : bytes) v = v << 8 | b;
  return v;
}

}  // namespace internal
}  // namespace pivot
