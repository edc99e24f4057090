// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent`
// header by which OpenTelemetry and other tracers link a request's spans
// across processes, so that pivot's spans and query results line up with the
// traces a service already sends.
//
//   // Server: the caller's trace is current while serving the request.
//   pivot::trace_context::Scope trace(pivot::trace_context::extract(request.headers));
//   serve(request);
//
//   // Client: send the current span as the parent of the call.
//   pivot::trace_context::inject(call.headers);
//
// While a trace context is current on a thread:
//  - a pivot::Trace<T> span that is traced (sampled, or watched by a query)
//    records the trace id and its parent span id, and gets a span id of its
//    own, which SinkCb spans (Span::trace_id, span_id, parent_span_id) and
//    the JSON-lines sink show; while it is open it is the current span, the
//    parent-id that inject() sends and that nested spans record;
//  - every tracepoint exports `traceId` (32 lowercase hex digits), so a query
//    can `GroupBy x.traceId` or compare traces; with no context it is null.
//
// The context is per thread, like the baggage: Scope sets it for a block, and
// a task handed to another thread carries it only if you capture current()
// and open a Scope there. A span's trace is fixed when the first span of its
// tree (its id on this thread) begins.
//
// parse() accepts what the W3C specification requires a receiver to accept
// (version 00 exactly; a later version's first four fields, with anything
// after a '-') and rejects the rest: uppercase hex, all-zero ids, version ff.
// extract() treats a rejected or missing header as no context, and counts
// the rejected ones in parse_errors().
//
// Thread safety: TraceContext is a plain value; current() and Scope act on
// the calling thread only.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "pivot/carrier.h"
#include "pivot/internal/carrier.h"
#include "pivot/result.h"

namespace pivot {

struct TraceContext {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};  // the traceparent's parent-id: the span calls are made from
  uint8_t flags = 0;                 // trace-flags; bit 0 is "sampled"

  // Both ids non-zero. The default-constructed context is invalid: no trace.
  bool valid() const noexcept;
  bool sampled() const noexcept { return (flags & 1) != 0; }

  std::string trace_id_hex() const;  // 32 lowercase hex digits
  std::string span_id_hex() const;   // 16
  // "00-<trace-id>-<parent-id>-<flags>"; "" when invalid.
  std::string traceparent() const;

  // Parses a traceparent header value (surrounding spaces and tabs allowed).
  // Errors read "traceparent: ...".
  static Result<TraceContext> parse(std::string_view traceparent);

  friend bool operator==(const TraceContext&, const TraceContext&) = default;
};

namespace trace_context {

inline constexpr std::string_view kHeader = "traceparent";

// The calling thread's current context, its span_id the innermost open
// traced span's; invalid when there is none.
TraceContext current() noexcept;

// Makes `context` current until the scope ends, then restores the previous
// one. An invalid context means "no trace" for the scope.
class [[nodiscard]] Scope {
 public:
  explicit Scope(const TraceContext& context) noexcept;
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  TraceContext saved_;
};

// Replaces the calling thread's context; returns the previous one. For code
// that cannot hold a Scope across the two points, such as an RPC
// interceptor that sets the caller's context when a request arrives and
// restores the thread's own when the response leaves.
TraceContext exchange(const TraceContext& context) noexcept;

// Number of traceparent values extract() rejected, process-wide.
uint64_t parse_errors() noexcept;

// The context of a traceparent value; invalid when the value is empty or
// rejected (rejections are counted).
TraceContext from_header(std::string_view traceparent) noexcept;

// The carrier's traceparent as a context (see from_header).
template <class C>
requires HeaderGetter<C> || StringMap<C> TraceContext extract(const C& carrier) {
  auto&& c = internal::as_carrier(carrier);
  auto&& value = c.Get(kHeader);
  return from_header(std::string_view(value));
}

// Sets the carrier's traceparent to current().traceparent(); leaves the
// carrier alone and returns false when no context is current.
template <class C>
requires HeaderCarrier<C> || StringMap<C>
bool inject(C& carrier) {
  TraceContext now = current();
  if (!now.valid()) return false;
  auto&& c = internal::as_carrier(carrier);
  c.Set(kHeader, now.traceparent());
  return true;
}

}  // namespace trace_context
}  // namespace pivot
