// A porting aid: RTBkit's tracing names on top of pivot::Trace<T>.
//
// Code written against RTBkit's nprobe.h compiles with one include change:
//
//   #include "soa/service/nprobe.h"     // before
//   #include <pivot/rtbkit.h>           // after
//
//   using namespace RTBKIT;             // or Datacratic, as RTBkit later moved it
//   std::tuple<const char*, std::string, int> do_probe(const Auction& a) {
//     return std::make_tuple("Auction", a.id, 100);
//   }
//   Trace<Auction>::set_sinkCb([](const ProbeCtx& ctx, const std::vector<Span>& vs) {
//     for (const Span& s : vs)
//       record(s.tag_, s.id_, s.pid_, s.end_ - s.start_);
//   });
//   void Router::bid(const Auction& a) {
//     Trace<Auction> t(a, "Router::bid");      // or TRACE(a, "Router::bid");
//     ...
//   }
//
// What it provides, in namespace RTBKIT (nprobe.h and the wiki) and in
// namespace Datacratic (where soa/service/nprobe.h later moved them), all
// of them pivot's own types and functions under RTBkit's names:
//   Trace, Span, SinkCb, ProbeCtx, make_trace, clock_type (steady_clock),
//   default_probe_sink (also as RTBKIT::detail::default_probe_sink, where the
//   first nprobe.h declared it) and syslog_probe_sink (its later name);
// and RTBkit's macros TRACE(object, tag) and TRACE_FN(object, tag, sink),
// unless PIVOT_RTBKIT_NO_MACROS is defined before the include (they are the
// only pivot macros without the PIVOT_ prefix).
//
// What differs from RTBkit (docs/spans.md, "Porting from RTBkit"):
//  - Trace is move-only; RTBkit's copies ended a span twice.
//  - There is one sink per process: Trace<A>::set_sinkCb(f) installs f for
//    spans of every type, replacing the previous sink (RTBkit kept one per T).
//    A sink that captures locals must be replaced before they go away.
//  - Span::pid_ is a uint32_t as in RTBkit, so a root's -1 reads as
//    4294967295; pivot's own Span::pid is a signed -1.
//  - The default sink's lines are real JSON, strings escaped, and it writes
//    them from a background thread.
//  - Sampling is RTBkit's (CityHash64 v1.0.3 of the id, modulo freq), but
//    freq <= 0 traces nothing instead of dividing by zero.
//
// Thread safety and lifetime are pivot/trace.h's.
#pragma once

#include <chrono>

#include "pivot/internal/preprocessor.h"
#include "pivot/trace.h"

namespace pivot::rtbkit_compat {

using clock_type = std::chrono::steady_clock;

// A reference, so that a SinkCb made from syslog_probe_sink holds the same
// function as one made from default_probe_sink (set_trace_sink recognizes it).
inline constexpr void (&syslog_probe_sink)(const ProbeCtx&, const std::vector<Span>&) = default_probe_sink;

}  // namespace pivot::rtbkit_compat

namespace RTBKIT {
using pivot::default_probe_sink;
using pivot::make_trace;
using pivot::ProbeCtx;
using pivot::SinkCb;
using pivot::Span;
using pivot::Trace;
using pivot::rtbkit_compat::clock_type;
using pivot::rtbkit_compat::syslog_probe_sink;
namespace detail {
using pivot::default_probe_sink;
}  // namespace detail
}  // namespace RTBKIT

namespace Datacratic {
using pivot::default_probe_sink;
using pivot::make_trace;
using pivot::ProbeCtx;
using pivot::SinkCb;
using pivot::Span;
using pivot::Trace;
using pivot::rtbkit_compat::clock_type;
using pivot::rtbkit_compat::syslog_probe_sink;
}  // namespace Datacratic

#ifndef PIVOT_RTBKIT_NO_MACROS
// RTBkit's macros: a span for the rest of the scope, and the same after
// installing `fn` as the (process-wide) sink.
#define TRACE(object, tag)                                                                          \
  auto PIVOT_INTERNAL_CAT(pivot_rtbkit_trace_, __COUNTER__) = ::pivot::make_trace((object), (tag)); \
  (void)0
#define TRACE_FN(object, tag, fn) \
  PIVOT_INTERNAL_RTBKIT_TRACE_FN(PIVOT_INTERNAL_CAT(pivot_rtbkit_trace_, __COUNTER__), object, tag, fn)
#define PIVOT_INTERNAL_RTBKIT_TRACE_FN(name, object, tag, fn) \
  auto name = ::pivot::make_trace((object), (tag));           \
  name.set_sinkCb(fn)
#endif
