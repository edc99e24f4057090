// serve's JSON API and /metrics (docs/serve.md). Every handler answers from
// what is already in memory, except the writes to a query (server.h).
#include "serve/routes.h"

#include <cstdlib>

#include "pivot/internal/json.h"
#include "planner/planner.h"
#include "serve/api_json.h"
#include "serve/metrics.h"

namespace pivot::serve {

using wire::Json;

namespace {

constexpr const char* kQueryPath = R"(/api/queries/([A-Za-z0-9_.\-]+))";

Result<Json> parse_body(const httplib::Request& req) {
  Json j = Json::parse(req.body, nullptr, false);
  if (j.is_discarded()) return Error("the request body is not JSON");
  if (!j.is_object()) return Error("the request body must be a JSON object");
  return j;
}

std::string query_name(const httplib::Request& req) {
  return req.matches.size() > 1 ? req.matches[1].str() : "";
}

Json limits_json(const Server::Impl& s) {
  const ServeLimits& l = s.options.limits;
  auto entry = [&](Limit limit, uint64_t value) {
    return Json{{"value", value}, {"hits", s.counters.hits(limit)}};
  };
  return Json{{"body_size", entry(Limit::kBodySize, l.max_body_bytes)},
              {"queries", entry(Limit::kQueries, l.max_queries)},
              {"sse_clients", entry(Limit::kSseClients, l.max_sse_clients)},
              {"sse_slow_client",
               {{"value", l.sse_backlog},
                {"bytes", l.sse_backlog_bytes},
                {"hits", s.counters.hits(Limit::kSseSlowClient)}}},
              {"window_intervals", entry(Limit::kWindowIntervals, l.window_intervals)},
              {"window_bytes", entry(Limit::kWindowBytes, l.window_bytes)},
              {"events", entry(Limit::kEvents, l.max_events)},
              {"window_ms", {{"value", l.window_ms}}}};
}

void get_status(Server::Impl& s, httplib::Response& res) {
  auto view = s.agents.get();
  send_json(res, 200,
            Json{{"transport", s.options.transport},
                 {"listen", s.options.host + ":" + std::to_string(s.port)},
                 {"token", !s.options.token.empty()},
                 {"state_file", s.queries.state_path()},
                 {"state_error", s.queries.save_error()},
                 {"started", s.started_ms},
                 {"agents", view->agents.size()},
                 {"queries", s.queries.all().size()},
                 {"stream_clients", s.hub.clients()},
                 {"unauthorized", s.unauthorized.load()},
                 {"limits", limits_json(s)}});
}

void post_explain(Server::Impl& s, const httplib::Request& req, httplib::Response& res) {
  auto body = parse_body(req);
  if (!body) return send_error(res, 400, body.error());
  const Json& text = (*body)["text"];
  if (!text.is_string()) return send_error(res, 400, Error("\"text\" must be the query text, a string"));
  // The catalog of the last discovery: explaining never waits on agents.
  auto view = s.agents.get();
  auto plan = planner::compile(text.get<std::string>(), view->catalog, 0);
  if (!plan) return send_error(res, 400, plan.error());
  Json queries = Json::array();
  for (const planner::QueryPlan& q : plan->queries) {
    queries.push_back({{"label", q.label}, {"columns", columns_json(frontend::describe_columns(q))}});
  }
  send_json(res, 200,
            Json{{"advice", plan->explain()}, {"queries", queries}, {"agents", view->agents.size()}});
}

void get_queries(Server::Impl& s, httplib::Response& res) {
  Json list = Json::array();
  for (const auto& q : s.queries.all()) list.push_back(query_json(q->status(), false));
  send_json(res, 200, Json{{"queries", list}});
}

void post_query(Server::Impl& s, const httplib::Request& req, httplib::Response& res) {
  auto body = parse_body(req);
  if (!body) return send_error(res, 400, body.error());
  auto spec = spec_from_json(*body);
  if (!spec) return send_error(res, 400, spec.error());
  if (spec->paused) return send_error(res, 400, Error("a query is installed running; pause it after"));
  int status = 500;
  auto q = s.queries.add(*spec, &status);
  if (!q) return send_error(res, status, q.error());
  send_json(res, status, query_json((*q)->status(), true));
}

void get_query(Server::Impl& s, const httplib::Request& req, httplib::Response& res) {
  auto q = s.queries.find(query_name(req));
  if (!q) return send_error(res, 404, Error("no managed query named '" + query_name(req) + "'"));
  send_json(res, 200, query_json(q->status(), true));
}

void get_intervals(Server::Impl& s, const httplib::Request& req, httplib::Response& res) {
  auto q = s.queries.find(query_name(req));
  if (!q) return send_error(res, 404, Error("no managed query named '" + query_name(req) + "'"));
  int64_t since = 0;
  if (req.has_param("since")) {
    const std::string v = req.get_param_value("since");
    char* end = nullptr;
    since = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0')
      return send_error(res, 400, Error("since must be a time in ms since the epoch"));
  }
  // The window's records are JSON already; splice them rather than parse
  // and print up to window_bytes again.
  QueryStatus st = q->status();
  std::string body = "{\"name\":";
  internal::append_json_string(body, st.spec.name);
  body += ",\"columns\":" + wire::encode(columns_json(st.columns)) + ",\"intervals\":[";
  bool first = true;
  for (const std::string& r : q->window(since)) {
    body += (first ? "" : ",") + r;
    first = false;
  }
  res.status = 200;
  res.set_content(body + "]}", "application/json");
}

void delete_query(Server::Impl& s, const httplib::Request& req, httplib::Response& res) {
  auto final_status = s.queries.remove(query_name(req));
  if (!final_status) return send_error(res, 404, Error("no managed query named '" + query_name(req) + "'"));
  send_json(res, 200, query_json(*final_status, true));
}

void pause_or_resume(Server::Impl& s, const httplib::Request& req, httplib::Response& res, bool pause) {
  std::string name = query_name(req);
  if (!s.queries.set_paused(name, pause))
    return send_error(res, 404, Error("no managed query named '" + name + "'"));
  auto q = s.queries.find(name);
  if (!q) return send_error(res, 404, Error("the query '" + name + "' was stopped meanwhile"));
  send_json(res, 200, query_json(q->status(), false));
}

void get_metrics(Server::Impl& s, const httplib::Request& req, httplib::Response& res) {
  std::vector<QueryMetrics> queries;
  for (const auto& q : s.queries.all()) {
    QueryStatus st = q->status();
    queries.push_back({st.spec.name, st.state == QueryState::kRunning, st.columns, std::move(st.total),
                       st.agents, st.install_ms, st.intervals, st.lost_reports});
  }
  ServeHealth health;
  health.agents = static_cast<int>(s.agents.get()->agents.size());
  for (size_t i = 0; i < static_cast<size_t>(Limit::kCount); ++i) {
    health.limit_hits.emplace_back(limit_name(static_cast<Limit>(i)), s.counters.hits(static_cast<Limit>(i)));
  }
  health.sse_clients = s.hub.clients();
  health.unauthorized = s.unauthorized.load();
  if (s.otlp) health.otlp = s.otlp->stats();
  MetricsFormat format = negotiate(req.get_header_value("Accept"));
  res.status = 200;
  res.set_content(render_metrics(queries, health, format), content_type(format).c_str());
}

}  // namespace

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(wire::encode(body), "application/json");
}

void send_error(httplib::Response& res, int status, const Error& e) { send_json(res, status, error_json(e)); }

void add_routes(Server::Impl& s) {
  auto& h = s.http;
  add_dashboard_routes(s);
  h.Get("/api/status", [&s](const httplib::Request&, httplib::Response& res) { get_status(s, res); });
  h.Get("/api/agents", [&s](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, agents_json(*s.agents.get()));
  });
  h.Get("/api/tracepoints", [&s](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, tracepoints_json(*s.agents.get()));
  });
  h.Post("/api/explain",
         [&s](const httplib::Request& req, httplib::Response& res) { post_explain(s, req, res); });
  h.Get("/api/queries", [&s](const httplib::Request&, httplib::Response& res) { get_queries(s, res); });
  h.Post("/api/queries",
         [&s](const httplib::Request& req, httplib::Response& res) { post_query(s, req, res); });
  h.Get(kQueryPath, [&s](const httplib::Request& req, httplib::Response& res) { get_query(s, req, res); });
  h.Delete(kQueryPath,
           [&s](const httplib::Request& req, httplib::Response& res) { delete_query(s, req, res); });
  h.Get(std::string(kQueryPath) + "/intervals",
        [&s](const httplib::Request& req, httplib::Response& res) { get_intervals(s, req, res); });
  h.Post(std::string(kQueryPath) + "/pause",
         [&s](const httplib::Request& req, httplib::Response& res) { pause_or_resume(s, req, res, true); });
  h.Post(std::string(kQueryPath) + "/resume",
         [&s](const httplib::Request& req, httplib::Response& res) { pause_or_resume(s, req, res, false); });
  add_stream_route(s);
  h.Get("/metrics", [&s](const httplib::Request& req, httplib::Response& res) { get_metrics(s, req, res); });
}

}  // namespace pivot::serve
