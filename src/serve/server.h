// `pivot serve`: managed queries, their results, and Prometheus metrics,
// over HTTP (cpp-httplib). docs/serve.md is the API's reference.
//
//   ServeOptions o;  o.transport = "local";  o.runtime_dir = ...;  o.state_path = ...;
//   auto server = Server::open(o);   // binds, restores the state file's queries
//   if (!server) { report server.error(); }
//   (*server)->run();                // until stop() from another thread
//
// Requests never wait on agents, except the writes that change a query: an
// install waits for its outcome (at most 15 s), a pause or stop for the
// agents' last reports (at most 2 s).
//
// The process must ignore SIGPIPE (the `pivot` CLI does): a stream client
// that goes away mid-write is a failed write, not a signal.
//
// Thread safety: stop() may be called from any thread; the rest from one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pivot/result.h"
#include "serve/limits.h"

namespace pivot::serve {

inline constexpr int kDefaultPort = 9464;  // Prometheus' default port of pivot's exporter

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = kDefaultPort;  // 0: any free port (tests)
  std::string token;        // "" for none: loopback only
  std::string transport = "local";
  std::string runtime_dir;
  std::string state_path;
  ServeLimits limits;
  int64_t agents_refresh_ms = 2000;
  // An OTLP/HTTP endpoint (http://host:4318) to send every running query's
  // total to as OTLP metrics each interval (otlp/query_metrics.h); "": none.
  std::string otlp_url;
};

class Server {
 public:
  // Refuses a non-loopback host without a token, a port that cannot be
  // bound, a state file that cannot be read, an otlp_url that is not http(s).
  static Result<std::unique_ptr<Server>> open(const ServeOptions& options);
  ~Server();

  int port() const;
  // Queries restored from the state file when it opened.
  size_t restored() const;
  // Serves until stop(); then stops the queries (agents drop them), keeping
  // them in the state file for the next start.
  void run();
  void stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pivot::serve
