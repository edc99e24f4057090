// OTLP/HTTP transport: POSTs encoded requests (application/x-protobuf) to
// one endpoint from a background thread. Not public API; otlp_sink() and
// `pivot query --otlp` use it.
//
//   auto e = HttpExporter::create({.url = endpoint_url("http://collector:4318", kTracesPath)});
//   if (!e) return e.error();
//   (*e)->send(std::move(body), /*items=*/spans);   // never blocks
//   (*e)->flush(2000);                               // wait for the queue, bounded
//
// As the OTLP/HTTP specification asks
// (https://opentelemetry.io/docs/specs/otlp/#otlphttp): a 2xx answer is
// success; 429, 502, 503 and 504, and failures to connect, are retried with
// exponential backoff (doubling from initial_backoff_ms, honouring a
// Retry-After of seconds, at most max_backoff_ms) up to max_attempts tries;
// any other answer drops the request. Nothing here ever makes the caller
// wait for the network: send() only queues, and a full queue (by count or
// bytes) drops the request and counts it. Dropped and failed requests are
// counted with their items (spans or data points), per exporter and
// process-wide (pivot::otlp_stats()).
//
// At exit, exporters get exit_flush_ms to send what they hold (after the
// span writer's last batch), then are abandoned; their thread never holds
// up the process longer. In a child made by fork(), which has no exporter
// thread, send() drops (and counts) and flush() returns at once; fork()
// holds the exporters' locks across, so that the child finds them free.
//
// Thread safety: send(), flush() and stats() may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/otlp.h"
#include "pivot/result.h"

namespace pivot::otlp {

inline constexpr std::string_view kTracesPath = "/v1/traces";
inline constexpr std::string_view kMetricsPath = "/v1/metrics";

// The endpoint for a signal: `base` less any trailing '/', and + path
// unless it already ends in `path`, as the OTLP exporter
// specification builds signal URLs from OTEL_EXPORTER_OTLP_ENDPOINT. An
// empty base is http://localhost:4318, OTLP/HTTP's default.
std::string endpoint_url(std::string_view base, std::string_view path);

// The endpoint when none is given, as OpenTelemetry's SDKs find it:
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (or _METRICS_) as it is, else
// OTEL_EXPORTER_OTLP_ENDPOINT + path, else http://localhost:4318 + path.
// `path` is kTracesPath or kMetricsPath.
std::string default_endpoint(std::string_view path);

// OTEL_EXPORTER_OTLP_HEADERS' format, "k1=v1,k2=v2" with percent-encoded
// values (W3C baggage's syntax), as "k1: v1" header lines; malformed
// members are skipped.
std::vector<std::string> parse_headers(std::string_view text);

// The headers OTEL_EXPORTER_OTLP_HEADERS and then
// OTEL_EXPORTER_OTLP_TRACES_HEADERS (or _METRICS_) ask for.
std::vector<std::string> env_headers(std::string_view path);

struct ExporterOptions {
  std::string url;                   // the full endpoint, e.g. http://localhost:4318/v1/traces
  std::vector<std::string> headers;  // more request headers, "Name: value"
  size_t max_queue_requests = 64;
  size_t max_queue_bytes = size_t{16} << 20;
  int timeout_ms = 10000;  // per attempt
  int max_attempts = 6;
  int initial_backoff_ms = 1000;
  int max_backoff_ms = 30000;
  int exit_flush_ms = 2000;
};

class HttpExporter {
 public:
  // Errors: a url that is not http:// or https://, libcurl that cannot start.
  static Result<std::unique_ptr<HttpExporter>> create(ExporterOptions options);
  ~HttpExporter();  // gives the queue exit_flush_ms, then stops
  HttpExporter(const HttpExporter&) = delete;
  HttpExporter& operator=(const HttpExporter&) = delete;

  // Queues one request carrying `items` spans or data points; false when
  // the queue is full (the request is dropped and counted).
  bool send(std::string body, uint64_t items) noexcept;
  // Waits until every request queued before the call was sent or given up,
  // at most timeout_ms; true when they were.
  bool flush(int timeout_ms);
  OtlpStats stats() const;
  // What went wrong last ("<url>: HTTP 400", "<url>: Couldn't connect to
  // server"); "" while nothing has.
  std::string last_error() const;
  const std::string& url() const noexcept { return options_.url; }

 private:
  struct State;
  class Connection;
  friend struct ExporterForkLocks;
  enum class Outcome { kSent, kFailed, kDropped };
  explicit HttpExporter(ExporterOptions options);
  void run();
  Outcome deliver(Connection& connection, const std::string& body, std::minstd_rand& jitter);
  void count(Outcome outcome, uint64_t items);

  const ExporterOptions options_;
  const int owner_pid_;  // a child made by fork() has no exporter thread
  std::unique_ptr<State> state_;
};

}  // namespace pivot::otlp
