// RTBkit-style spans (pivot::Trace) on minidfs's request paths.
//
// Every op of a client has a request id, "<client host>/<seq>", sent in the
// "rid" header of its RPCs. The client's op, the namenode's request and the
// datanode's block read each open a span of kind "minidfs.op" with that id,
// so every process samples the same ops (CityHash64(id) % freq == 0, as
// RTBkit does for auctions):
//
//   pivot::Trace<minidfs::RequestSpan> span(minidfs::RequestSpan{"minidfs.op", rid}, "DataNode.ReadBlock");
//
// Spans are also the SpanBegin/SpanEnd tracepoints, so a query can ask for
// latencies whatever the sampling:
//   From e In SpanEnd GroupBy e.tag Select e.tag, AVG(e.duration)
//
// configure_spans() sets the process's sampling frequency (0, the default:
// no span reaches a sink) and, optionally, a JSON-lines file to write
// sampled spans to (otherwise pivot's default sink, syslog).
//
// Thread safety: configure once at start-up; do_probe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

#include "pivot/result.h"
#include "pivot/trace.h"

namespace minidfs {

struct RequestSpan {
  const char* kind;  // a string literal
  std::string_view id;
};

int64_t span_freq();
inline std::tuple<const char*, std::string_view, int64_t> do_probe(const RequestSpan& r) {
  return {r.kind, r.id, span_freq()};
}

pivot::Status configure_spans(int64_t freq, const std::string& file);

}  // namespace minidfs
