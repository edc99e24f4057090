// serve's HTTP handlers and the state they share (server.cc builds it,
// routes.cc and stream.cc answer requests with it). Internal to src/serve.
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstdint>

#include "serve/agent_cache.h"
#include "serve/event_hub.h"
#include "serve/limits.h"
#include "serve/query_manager.h"
#include "serve/server.h"
#include "wire/protocol.h"

namespace pivot::serve {

struct Server::Impl {
  Impl(const ServeOptions& o, LinkFactory make_link, std::unique_ptr<otlp::HttpExporter> otlp);
  ~Impl();
  // Whether the request may go on; if not, *res is the 401.
  bool authorize(const httplib::Request& req, httplib::Response& res);

  const ServeOptions options;
  LimitCounters counters;
  EventHub hub;
  const std::unique_ptr<otlp::HttpExporter> otlp;  // null without --otlp; outlives the queries
  AgentCache agents;
  QueryManager queries;
  httplib::Server http;
  std::atomic<uint64_t> unauthorized{0};
  int port = 0;
  size_t restored = 0;
  int state_lock = -1;  // held while serve runs (lock_state)
  const int64_t started_ms;
};

void add_routes(Server::Impl& s);
// GET / and the dashboard's files (dashboard.cc).
void add_dashboard_routes(Server::Impl& s);
// GET /api/stream: Server-Sent Events (stream.cc).
void add_stream_route(Server::Impl& s);

void send_json(httplib::Response& res, int status, const wire::Json& body);
void send_error(httplib::Response& res, int status, const Error& e);

}  // namespace pivot::serve
