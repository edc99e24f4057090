#include "serve/server.h"

#include <httplib.h>
#include <unistd.h>

#include <atomic>

#include "core/clock.h"
#include "frontend/link.h"
#include "serve/agent_cache.h"
#include "serve/auth.h"
#include "serve/event_hub.h"
#include "serve/query_manager.h"
#include "serve/routes.h"

namespace pivot::serve {

namespace {

// Threads for requests beyond the stream clients, each of which holds one
// for as long as it is connected.
constexpr size_t kRequestThreads = 8;

bool is_write(const httplib::Request& req) {
  // Explain compiles and returns text; it changes nothing.
  return req.method != "GET" && req.method != "HEAD" && req.path != "/api/explain";
}

}  // namespace

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  stop();
  impl_->queries.shutdown();
  impl_->agents.stop();
}

Server::Impl::~Impl() {
  if (state_lock >= 0) ::close(state_lock);
}

Result<std::unique_ptr<Server>> Server::open(const ServeOptions& options) {
  if (!is_loopback(options.host) && options.token.empty()) {
    return Error("serving on " + options.host +
                 " (not a loopback address) needs a token: --token-file FILE or $PIVOT_TOKEN");
  }
  if (options.state_path.empty()) return Error("no state file given");
  auto state_lock = lock_state(options.state_path);
  if (!state_lock) return state_lock.error();
  std::string transport = options.transport, dir = options.runtime_dir;
  LinkFactory make_link = [transport, dir] { return frontend::make_link(transport, dir); };
  std::unique_ptr<otlp::HttpExporter> otlp;
  if (!options.otlp_url.empty()) {
    otlp::ExporterOptions o;
    o.url = otlp::endpoint_url(options.otlp_url, otlp::kMetricsPath);
    o.headers = otlp::env_headers(otlp::kMetricsPath);
    auto exporter = otlp::HttpExporter::create(std::move(o));
    if (!exporter) return exporter.error();
    otlp = std::move(*exporter);
  }
  auto impl = std::make_unique<Impl>(options, make_link, std::move(otlp));
  impl->state_lock = *state_lock;
  impl->http.set_payload_max_length(options.limits.max_body_bytes);
  size_t threads = options.limits.max_sse_clients + kRequestThreads;
  impl->http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  Impl* self = impl.get();
  impl->http.set_pre_routing_handler([self](const httplib::Request& req, httplib::Response& res) {
    return self->authorize(req, res) ? httplib::Server::HandlerResponse::Unhandled
                                     : httplib::Server::HandlerResponse::Handled;
  });
  impl->http.set_error_handler([self](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 413) self->counters.hit(Limit::kBodySize);
    if (!res.body.empty()) return;
    std::string why;
    switch (res.status) {
      case 404: why = "no such resource: " + req.method + " " + req.path + " (docs/serve.md)"; break;
      case 413:
        // cpp-httplib holds a form-encoded body (curl -d's default type)
        // to 8 KiB, whatever the limit of other bodies.
        why = req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0
                  ? "a body sent as application/x-www-form-urlencoded may be at most 8192 bytes; send JSON "
                    "as Content-Type: application/json"
                  : "the request body is larger than " + std::to_string(self->options.limits.max_body_bytes) +
                        " bytes";
        break;
      // cpp-httplib's own refusals: most often a POST without Content-Length.
      case 400:
        why = "the request could not be read (a POST needs a Content-Length header, 0 for no body)";
        break;
      default: why = "the request failed (HTTP " + std::to_string(res.status) + ")";
    }
    send_error(res, res.status, Error(why));
  });
  impl->http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what += std::string(": ") + e.what();
        } catch (...) {
        }
        send_error(res, 500, Error(what));
      });
  add_routes(*impl);

  int port = options.port;
  if (port == 0) {
    port = impl->http.bind_to_any_port(options.host);
    if (port < 0) return Error("cannot listen on " + options.host + " (any port)");
  } else if (!impl->http.bind_to_port(options.host, port)) {
    return Error("cannot listen on " + options.host + ":" + std::to_string(port) +
                 " (in use? another pivot serve?)");
  }
  impl->port = port;
  auto restored = impl->queries.restore();
  if (!restored) return restored.error();
  impl->restored = *restored;
  impl->agents.start();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

int Server::port() const { return impl_->port; }

size_t Server::restored() const { return impl_->restored; }

void Server::run() { impl_->http.listen_after_bind(); }

void Server::stop() {
  // Streams first: each holds a thread that waits for its next message.
  impl_->hub.close();
  impl_->http.stop();
}

Server::Impl::Impl(const ServeOptions& o, LinkFactory make_link, std::unique_ptr<otlp::HttpExporter> exporter)
    : options(o),
      hub(o.limits, &counters),
      otlp(std::move(exporter)),
      agents(make_link, o.agents_refresh_ms),
      queries(make_link, o.limits, &counters, &hub, o.state_path, otlp.get()),
      started_ms(::pivot::internal::wall_ms()) {}

bool Server::Impl::authorize(const httplib::Request& req, httplib::Response& res) {
  if (options.token.empty()) return true;  // only possible on loopback
  if (!is_write(req) && is_loopback(options.host)) return true;
  if (token_matches(req.get_header_value("Authorization"), options.token)) return true;
  unauthorized.fetch_add(1, std::memory_order_relaxed);
  res.set_header("WWW-Authenticate", "Bearer");
  send_error(res, 401,
             Error(is_write(req) ? "this request changes serve's queries: it needs the bearer token"
                                 : "serve is not on loopback: every request needs the bearer token"));
  return false;
}

}  // namespace pivot::serve
