// An OTLP/HTTP receiver for tests, and protoc to decode what it received
// with the official opentelemetry-proto definitions.
//
//   OtlpReceiver r;                      // 127.0.0.1, a free port
//   r.answer_next({503});                // then 200s
//   ... export to r.url() ...
//   ASSERT_TRUE(r.wait_for(1, 10000));
//   std::string text = decode(kTraceRequest, r.received()[0].body);   // protoc's text format
//
// PIVOT_OTLP_PROTOS is the directory with opentelemetry/proto/... (the
// pinned npm package that tests/otlp/fetch_protos.sh installs).
#pragma once

#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pivot::testing {

struct Received {
  std::string path;
  std::string content_type;
  std::string body;
};

class OtlpReceiver {
 public:
  OtlpReceiver() {
    auto handle = [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      got_.push_back({req.path, req.get_header_value("Content-Type"), req.body});
      int status = 200;
      if (!statuses_.empty()) status = statuses_.front(), statuses_.pop_front();
      res.status = status;
      if (status == 429 || status == 503) res.set_header("Retry-After", retry_after_);
      cv_.notify_all();
    };
    server_.Post("/v1/traces", handle);
    server_.Post("/v1/metrics", handle);
    // One request per connection: stopping the server then waits for no
    // idle keep-alive connection of an exporter that outlives it.
    server_.set_keep_alive_max_count(1);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~OtlpReceiver() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The next answers, in order (then 200); 429 and 503 carry Retry-After.
  void answer_next(std::vector<int> statuses, std::string retry_after = "0") {
    std::lock_guard<std::mutex> lock(mu_);
    statuses_.assign(statuses.begin(), statuses.end());
    retry_after_ = std::move(retry_after);
  }
  bool wait_for(size_t n, int timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return got_.size() >= n; });
  }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> got_;
  std::deque<int> statuses_;
  std::string retry_after_ = "0";
};

struct ProtoType {
  const char* message;
  const char* file;
};
inline constexpr ProtoType kTraceRequest{"opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
                                         "opentelemetry/proto/collector/trace/v1/trace_service.proto"};
inline constexpr ProtoType kMetricsRequest{
    "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
    "opentelemetry/proto/collector/metrics/v1/metrics_service.proto"};

inline std::string protos_dir() { return PIVOT_OTLP_PROTOS; }

// Why the decode tests cannot run here, or "" when they can.
inline std::string decode_unavailable() {
  if (std::system("protoc --version >/dev/null 2>&1") != 0)
    return "protoc not found: install the Debian package protobuf-compiler (scripts/setup.sh does)";
  if (access((protos_dir() + "/" + kTraceRequest.file).c_str(), R_OK) != 0)
    return "no opentelemetry-proto definitions in " + protos_dir() +
           " (the otlp_protos_setup test installs them with npm)";
  return "";
}

// protoc --decode: the body in protobuf's text format; nullopt (and the
// error in *error) when protoc rejects it.
inline std::optional<std::string> decode(ProtoType type, const std::string& body, std::string* error) {
  char path[] = "/tmp/pivot-otlp-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return std::nullopt;
  (void)!write(fd, body.data(), body.size());
  close(fd);
  std::string cmd = std::string("protoc --decode=") + type.message + " -I " + protos_dir() + " " + type.file +
                    " < " + path + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while (p != nullptr && (n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = p != nullptr ? pclose(p) : -1;
  unlink(path);
  if (status != 0) {
    *error = out;
    return std::nullopt;
  }
  return out;
}

}  // namespace pivot::testing
