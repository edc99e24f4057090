// GET /api/stream[?query=NAME]: new intervals and changes of state as
// Server-Sent Events, for every managed query or one:
//
//   event: interval
//   data: {"query":"seed","time":...,"agents":7,"interval":TABLE,"total":TABLE,...}
//
//   event: state
//   data: {"query":"seed","state":"paused"}
//
// A comment line every 15 s keeps proxies from closing a quiet stream and
// finds clients that went away.
#include "serve/routes.h"

namespace pivot::serve {

namespace {

constexpr int kKeepAliveMs = 15'000;

}  // namespace

void add_stream_route(Server::Impl& s) {
  s.http.Get("/api/stream", [&s](const httplib::Request& req, httplib::Response& res) {
    std::string query = req.get_param_value("query");
    if (!query.empty() && !s.queries.find(query)) {
      send_error(res, 404, Error("no managed query named '" + query + "'"));
      return;
    }
    auto sub = s.hub.subscribe(query);
    if (!sub) {
      send_error(res, 503,
                 Error("serve already streams to " + std::to_string(s.options.limits.max_sse_clients) +
                       " clients (--max-streams); try again later"));
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");  // nginx: pass each event on at once
    auto first = std::make_shared<bool>(true);
    res.set_chunked_content_provider(
        "text/event-stream",
        [&s, sub, first](size_t, httplib::DataSink& sink) {
          if (*first) {
            *first = false;
            const std::string hello = "retry: 3000\n: connected\n\n";
            return sink.write(hello.data(), hello.size());
          }
          auto text = s.hub.next(*sub, kKeepAliveMs);
          if (!text) {
            sink.done();  // serve is stopping, or this client fell too far behind
            return true;
          }
          if (text->empty()) *text = ": keep-alive\n\n";
          return sink.write(text->data(), text->size());
        },
        [&s, sub](bool) { s.hub.unsubscribe(sub); });
  });
}

}  // namespace pivot::serve
