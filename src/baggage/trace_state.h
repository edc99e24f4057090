// The calling thread's W3C trace context, as spans and the traceId export
// reach it (pivot/trace_context.h is the public side). Not public API.
//
// Thread safety: the state is thread-local; everything here acts on the
// calling thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pivot/trace_context.h"

namespace pivot::internal {

// The thread's current context, for reading and for spans to move span_id
// as they open and close. valid() is false when there is none. Inline, so a
// span's begin asks "is a trace current?" without a call.
inline constinit thread_local TraceContext t_trace [[gnu::tls_model("initial-exec")]]{};
inline TraceContext& current_trace() noexcept { return t_trace; }
inline bool has_current_trace() noexcept {
  uint64_t w[3];
  std::memcpy(w, t_trace.trace_id.data(), 16);
  std::memcpy(w + 2, t_trace.span_id.data(), 8);
  return (w[0] | w[1]) != 0 && w[2] != 0;
}

// Writes n bytes as 2n lowercase hex digits at out.
void write_hex(const uint8_t* bytes, size_t n, char* out) noexcept;

// The W3C span id (never 0) of span `id` of a tree whose spans were given
// ids from `base`: spans need no storage of their own for it.
uint64_t w3c_span_id(uint64_t base, int64_t id) noexcept;

// A random base for the span ids of one tree (per-thread generator).
uint64_t random_span_base() noexcept;

// A span id as the 8 bytes of traceparent (big-endian), and back.
void span_id_bytes(uint64_t id, std::array<uint8_t, 8>& out) noexcept;
uint64_t span_id_value(const std::array<uint8_t, 8>& bytes) noexcept;

}  // namespace pivot::internal
