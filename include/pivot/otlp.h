// OTLP/HTTP export: pivot's spans to an OpenTelemetry Collector, Jaeger or
// any OTLP/HTTP receiver, as protobuf (https://opentelemetry.io/docs/specs/otlp/).
//
//   auto sink = pivot::otlp_sink("http://collector:4318");   // POSTs to /v1/traces
//   if (!sink) return sink.error();
//   pivot::set_trace_sink(*sink);
//
// Each sampled pivot::Trace<T> tree becomes OTLP spans of one trace: the W3C
// trace id when a trace context was current as the tree began
// (pivot/trace_context.h; the root's parent is then the caller's span), or
// else a random trace id of its own with a parentless root. Span ids are the
// 8-byte ids the spans had as W3C spans (pivot's ids 1, 2, ... are kept as
// attributes), parents map to parent_span_id, the tag is the span's name.
// docs/otlp.md lists every field and attribute.
//
// The traced threads never wait: trees reach the sink through the span
// writer thread (as the file sinks do), which encodes each batch; an
// exporter thread sends it, retrying 429/502/503/504 with backoff. Memory is
// bounded: a full queue drops the batch, and otlp_stats() counts it. At
// exit the exporter gets OtlpOptions::exit_flush_ms to send what it holds.
//
// `pivot query --otlp URL` and `pivot serve --otlp URL` export query
// results as OTLP metrics to URL/v1/metrics (docs/otlp.md).
//
// Thread safety: otlp_sink() and otlp_stats() may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pivot/result.h"
#include "pivot/trace.h"

namespace pivot {

struct OtlpOptions {
  // The resource's service.name; empty: $OTEL_SERVICE_NAME, else the
  // process name (PIVOT_PROCNAME, else the executable's name).
  std::string service_name;
  // More request headers (e.g. {"Authorization", "Bearer ..."}), sent after
  // those of $OTEL_EXPORTER_OTLP_HEADERS and $OTEL_EXPORTER_OTLP_TRACES_HEADERS.
  std::vector<std::pair<std::string, std::string>> headers;
  // Requests (batches of spans) and bytes the exporter may hold; past
  // either, a batch is dropped and counted.
  size_t max_queue_requests = 64;
  size_t max_queue_bytes = size_t{16} << 20;
  int timeout_ms = 10000;         // per HTTP attempt
  int max_attempts = 6;           // tries of one request, retries included
  int initial_backoff_ms = 1000;  // before the first retry; doubles after each
  int exit_flush_ms = 2000;       // at exit, time left to send what is queued
};

// Counts of every OTLP exporter in the process (spans and metrics).
struct OtlpStats {
  uint64_t requests_sent = 0;     // answered 2xx
  uint64_t requests_failed = 0;   // refused, or out of attempts
  uint64_t requests_dropped = 0;  // the queue was full, or left at exit
  uint64_t items_sent = 0;        // spans or data points in sent requests
  uint64_t items_failed = 0;
  uint64_t items_dropped = 0;
  uint64_t retries = 0;
};

// A sink that sends span trees to `url` + "/v1/traces" (`url` as it is when
// it already ends in /v1/traces). With "", the endpoint the OpenTelemetry
// SDKs would use: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else
// $OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces", else
// http://localhost:4318/v1/traces. Errors: a URL that is not http(s)://.
Result<TraceSink> otlp_sink(const std::string& url, const OtlpOptions& options = {});

OtlpStats otlp_stats() noexcept;

// Sends what the OTLP sinks hold: flush_traces(), then waits until every
// exporter has sent (or given up on) what it had queued, at most
// timeout_ms in all. True when they all did.
bool otlp_flush(int timeout_ms = 5000);

}  // namespace pivot
