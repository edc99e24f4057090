#include "serve/api_json.h"

namespace pivot::serve {

using wire::Json;

Json error_json(const Error& e) {
  return Json{{"error", {{"message", e.message()}, {"line", e.line()}, {"column", e.column()}}}};
}

Json columns_json(const std::vector<frontend::Column>& columns) {
  Json out = Json::array();
  for (const frontend::Column& c : columns) {
    Json j{{"name", c.name}, {"role", frontend::role_name(c.role)}};
    if (c.role == frontend::Column::kAggregate) j["aggregate"] = frontend::agg_name(c.fn);
    out.push_back(std::move(j));
  }
  return out;
}

Json query_json(const QueryStatus& s, bool with_total) {
  Json j{{"name", s.spec.name},
         {"text", s.spec.text},
         {"interval_ms", s.spec.interval_ms},
         {"max_groups", s.spec.max_groups},
         {"show", s.spec.show},
         {"state", state_name(s.state)},
         {"error", nullptr},
         {"notes", s.notes},
         {"columns", columns_json(s.columns)},
         {"agents", s.agents},
         {"started", s.started_ms},
         {"install_ms", s.install_ms},
         {"intervals", s.intervals},
         {"lost_reports", s.lost_reports},
         {"window", {{"intervals", s.window_intervals}, {"bytes", s.window_bytes}}},
         {"events", Json::array()}};
  if (!s.error.message().empty()) j["error"] = error_json(s.error)["error"];
  for (const QueryEvent& e : s.events) j["events"].push_back({{"time", e.time_ms}, {"text", e.text}});
  // ResultTable::to_json is the one JSON form of a table everywhere (CLI,
  // Session); it is valid JSON whatever bytes the values hold.
  if (with_total) j["total"] = Json::parse(s.total.to_json());
  return j;
}

Json agents_json(const AgentCache::View& v) {
  Json agents = Json::array();
  for (const frontend::AgentInfo& a : v.agents) {
    agents.push_back({{"key", a.key},
                      {"pid", a.pid},
                      {"procName", a.proc_name},
                      {"host", a.host},
                      {"tracepoints", a.catalog.tracepoints.size()},
                      {"queries", a.queries},
                      {"transport", a.transport.is_null() ? Json::object() : a.transport}});
  }
  return Json{{"updated", v.updated_ms}, {"agents", agents}, {"notes", v.notes}};
}

Json tracepoints_json(const AgentCache::View& v) {
  // wire::to_json(Catalog) is what `pivot tracepoints --json` prints.
  Json tps = wire::to_json(v.catalog);
  for (auto& t : tps) {
    auto it = v.processes.find(t["name"].get<std::string>());
    t["processes"] = it == v.processes.end() ? Json::array() : Json(it->second);
  }
  return Json{{"updated", v.updated_ms}, {"tracepoints", tps}};
}

}  // namespace pivot::serve
