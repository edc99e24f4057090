// pivot::otlp_sink(): span trees as OTLP spans (include/pivot/otlp.h).
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "baggage/trace_state.h"
#include "core/clock.h"
#include "otlp/http_exporter.h"
#include "otlp/otlp_encode.h"
#include "pivot/otlp.h"
#include "trace/sink.h"
#include "tracepoint/process_info.h"

namespace pivot::otlp {
namespace {

using internal::DoneSpan;
using internal::process_info;
using internal::ProcessInfo;
using internal::random_span_base;
using internal::span_id_bytes;
using internal::ticks_to_ns;
using internal::TreeView;
using internal::w3c_span_id;

// A request is sent at the end of each writer batch, or sooner when it
// holds this many spans or bytes (the OpenTelemetry SDKs' batch processor
// sends 512 spans at most).
constexpr size_t kMaxSpansPerRequest = 512;
constexpr size_t kMaxRequestBytes = size_t{1} << 20;

// The ids of one tree's spans.
struct TreeIds {
  std::array<uint8_t, 16> trace_id;
  uint64_t span_base;
  std::optional<uint64_t> root_parent;  // the caller's span, for a W3C trace
};

TreeIds ids_of(const TreeView& t) {
  TreeIds ids;
  if (t.trace != nullptr) {
    ids.trace_id = t.trace->trace_id;
    ids.span_base = t.trace->span_base;
    ids.root_parent = t.trace->root_parent;
    return ids;
  }
  // No W3C context: a trace of its own, with random ids as a tracer's root
  // span would have (W3C: never all zero).
  uint64_t hi = 0, lo = 0;
  while (hi == 0 && lo == 0) hi = random_span_base(), lo = random_span_base();
  for (int i = 0; i < 8; ++i) {
    ids.trace_id[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    ids.trace_id[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  ids.span_base = random_span_base();
  return ids;
}

class OtlpSpanSink final : public internal::SinkImpl {
 public:
  OtlpSpanSink(std::unique_ptr<HttpExporter> exporter, std::string service_name)
      : exporter_(std::move(exporter)), service_name_(std::move(service_name)) {}

  void write(const TreeView& t) override {
    const TreeIds ids = ids_of(t);
    for (const DoneSpan& d : *t.spans) {
      if (!request_) start_request();
      std::array<uint8_t, 8> span_id, parent_id;
      span_id_bytes(w3c_span_id(ids.span_base, d.id), span_id);
      bool has_parent = true;
      if (d.pid >= 0) {
        span_id_bytes(w3c_span_id(ids.span_base, d.pid), parent_id);
      } else if (ids.root_parent) {
        span_id_bytes(*ids.root_parent, parent_id);
      } else {
        has_parent = false;
      }
      std::array<Attribute, 7> attributes{{
          {"pivot.kind", d.kind},
          {"pivot.uniq", t.uniq},
          {"pivot.freq", t.freq},
          {"pivot.span.id", int64_t{d.id}},
          {"pivot.span.parent", int64_t{d.pid}},
          {"thread.id", t.tid},
          {"pivot.cross_thread", true},
      }};
      request_->add_span({ids.trace_id, span_id,
                          has_parent ? std::span<const uint8_t>(parent_id) : std::span<const uint8_t>(),
                          d.tag, ticks_to_ns(d.t1), ticks_to_ns(d.t2)},
                         std::span<const Attribute>(attributes).first(d.cross_thread ? 7 : 6));
      if (request_->spans() >= kMaxSpansPerRequest || request_->size() >= kMaxRequestBytes) ship();
    }
  }

  void end_batch() override { ship(); }

 private:
  void start_request() {
    const ProcessInfo& p = process_info();
    const std::array<Attribute, 3> resource{{
        {"service.name",
         service_name_.empty() ? std::string_view(p.proc_name) : std::string_view(service_name_)},
        {"host.name", p.host},
        {"process.pid", p.proc_id},
    }};
    request_.emplace(resource, "pivot", PIVOT_VERSION);
  }

  void ship() {
    if (!request_) return;
    const size_t spans = request_->spans();
    if (spans > 0) exporter_->send(request_->finish(), spans);
    request_.reset();
  }

  std::unique_ptr<HttpExporter> exporter_;
  const std::string service_name_;
  std::optional<TraceRequest> request_;
};

}  // namespace
}  // namespace pivot::otlp

namespace pivot {

Result<TraceSink> otlp_sink(const std::string& url, const OtlpOptions& options) {
  otlp::ExporterOptions e;
  e.url =
      url.empty() ? otlp::default_endpoint(otlp::kTracesPath) : otlp::endpoint_url(url, otlp::kTracesPath);
  e.headers = otlp::env_headers(otlp::kTracesPath);
  for (const auto& [name, value] : options.headers) e.headers.push_back(name + ": " + value);
  e.max_queue_requests = options.max_queue_requests;
  e.max_queue_bytes = options.max_queue_bytes;
  e.timeout_ms = options.timeout_ms;
  e.max_attempts = options.max_attempts;
  e.initial_backoff_ms = options.initial_backoff_ms;
  e.exit_flush_ms = options.exit_flush_ms;
  auto exporter = otlp::HttpExporter::create(std::move(e));
  if (!exporter) return exporter.error();
  std::string service = options.service_name;
  if (const char* env = std::getenv("OTEL_SERVICE_NAME"); service.empty() && env != nullptr) service = env;
  return internal::TraceSinkAccess::make(
      std::make_shared<otlp::OtlpSpanSink>(std::move(*exporter), std::move(service)));
}

}  // namespace pivot
