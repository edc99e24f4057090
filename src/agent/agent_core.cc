#include "agent/agent_core.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "planner/catalog.h"
#include "tracepoint/process_info.h"

namespace pivot::agent {

namespace {

// Query ids name NATS subjects and bag ids: 1 to 16 hex digits.
bool valid_query_id(const std::string& id) {
  return !id.empty() && id.size() <= 16 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

}  // namespace

Json AgentCore::error_message(const std::string& id, const std::string& text) {
  Json m = wire::message("error");
  if (!id.empty()) m["id"] = id;
  m["message"] = text;
  return m;
}

std::optional<Json> AgentCore::handle(int64_t owner, std::string_view payload) {
  // Messages are outside input, and this runs on the agent's thread inside
  // the application: nothing may escape (a JSON type error, an allocation
  // failure) and take the process down.
  try {
    return handle_message(owner, payload);
  } catch (const std::exception& e) {
    return error_message("", std::string("cannot handle the message: ") + e.what());
  }
}

std::optional<Json> AgentCore::handle_message(int64_t owner, std::string_view payload) {
  auto m = wire::parse_message(payload);
  if (!m) return error_message("", m.error().message());
  const std::string type = (*m)["type"].get<std::string>();
  if (type == "hello") return info();
  if (type == "install") return install(owner, *m);
  if (type == "uninstall") return uninstall(*m);
  if (type == "renew") {
    renew(*m);
    return std::nullopt;
  }
  if (type == "flush") return flush(*m);
  return error_message("", "unknown message type '" + type + "'");
}

Json AgentCore::query_ids() const {
  Json ids = Json::array();
  for (const auto& [id, q] : queries_) ids.push_back(id);
  return ids;
}

Json AgentCore::info() const {
  Json m = wire::message("info");
  const internal::ProcessInfo& p = internal::process_info();
  m["pid"] = p.proc_id;
  m["procName"] = p.proc_name;
  m["host"] = p.host;
  m["catalog"] = wire::to_json(planner::local_catalog());
  m["queries"] = query_ids();
  return m;
}

Json AgentCore::install(int64_t owner, const Json& m) {
  auto id = wire::get_string(m, "id");
  auto text = wire::get_string(m, "text");
  if (!id || !text) return error_message(id ? *id : "", (!id ? id.error() : text.error()).message());
  if (!valid_query_id(*id)) return error_message("", "query id '" + *id + "' is not 1 to 16 hex digits");
  if (auto it = queries_.find(*id); it != queries_.end()) {
    // A frontend that lost track after a network fault re-sends the query
    // with "again": the same text then just confirms it.
    bool again = m.contains("again") && m["again"].is_boolean() && m["again"].get<bool>();
    if (!again || it->second.text != *text)
      return error_message(*id, "query " + *id + " is already installed");
    it->second.owner = owner;
    Json ok = wire::message("installed");
    ok["id"] = *id;
    ok["already"] = true;
    return ok;
  }
  uint64_t uid = std::strtoull(id->c_str(), nullptr, 16);
  planner::Catalog catalog = planner::local_catalog();
  if (m.contains("catalog")) {
    auto theirs = wire::catalog_from_json(m["catalog"]);
    if (!theirs) return error_message(*id, theirs.error().message());
    wire::merge_catalog(catalog, *theirs);
  }
  int64_t interval = default_interval_ms_;
  if (m.contains("interval_ms")) {
    auto v = wire::get_int(m, "interval_ms");
    if (!v) return error_message(*id, v.error().message());
    interval = *v;
  }
  int64_t lease = std::max<int64_t>(3 * interval, 3000);
  if (m.contains("lease_ms")) {
    auto v = wire::get_int(m, "lease_ms");
    if (!v) return error_message(*id, v.error().message());
    lease = *v;
  }
  if (interval < 10 || interval > 3'600'000 || lease < interval || lease > 86'400'000) {
    return error_message(*id, "interval_ms must be 10..3600000 and lease_ms at least the interval");
  }
  // A fleet mixes programs: a defined tracepoint whose function this one
  // lacks is skipped here (and said so), the rest of the text still runs.
  auto in = session::Installation::create(*text, catalog, uid, session::MissingFunctions::kSkip);
  if (!in) return error_message(*id, in.error().message());
  std::vector<std::string> skipped = (*in)->skipped();
  Query q;
  q.id = *id;
  q.text = *text;
  q.installation = std::move(*in);
  q.owner = owner;
  q.interval_ms = interval;
  q.lease_ms = lease;
  q.lease_deadline = steady_ms() + lease;
  q.next_report = steady_ms() + interval;
  queries_[*id] = std::move(q);
  Json ok = wire::message("installed");
  ok["id"] = *id;
  if (!skipped.empty()) ok["skipped"] = skipped;
  return ok;
}

Json AgentCore::uninstall(const Json& m) {
  auto id = wire::get_string(m, "id");
  if (!id) return error_message("", id.error().message());
  if (queries_.erase(*id) == 0) return error_message(*id, "no installed query " + *id);
  Json ok = wire::message("uninstalled");
  ok["id"] = *id;
  return ok;
}

void AgentCore::renew(const Json& m) {
  if (!m.contains("ids") || !m["ids"].is_array()) return;
  for (const Json& id : m["ids"]) {
    if (!id.is_string()) continue;
    auto it = queries_.find(id.get<std::string>());
    if (it != queries_.end()) it->second.lease_deadline = steady_ms() + it->second.lease_ms;
  }
}

std::optional<Json> AgentCore::flush(const Json& m) {
  auto id = wire::get_string(m, "id");
  if (!id) return error_message("", id.error().message());
  auto it = queries_.find(*id);
  if (it == queries_.end()) return error_message(*id, "no installed query " + *id);
  sink_->report(it->second.owner, *id, report(it->second, true));
  return std::nullopt;
}

Json AgentCore::report(Query& q, bool final) {
  Json m = wire::message("report");
  m["id"] = q.id;
  m["seq"] = ++q.seq;
  m["time"] = wall_ms();
  m["final"] = final;
  Json parts = Json::array();
  for (const aggregate::Partial& p : q.installation->collect()) parts.push_back(wire::to_json(p));
  m["queries"] = std::move(parts);
  return m;
}

int64_t AgentCore::next_deadline() const {
  int64_t d = steady_ms() + 1000;
  for (const auto& [id, q] : queries_) d = std::min({d, q.next_report, q.lease_deadline});
  return d;
}

void AgentCore::tick() {
  int64_t now = steady_ms();
  for (auto it = queries_.begin(); it != queries_.end();) {
    Query& q = it->second;
    if (now >= q.lease_deadline) {
      it = queries_.erase(it);  // the frontend stopped renewing: remove the advice
      continue;
    }
    if (now >= q.next_report) {
      q.next_report = now + q.interval_ms;
      sink_->report(q.owner, q.id, report(q, false));
    }
    ++it;
  }
}

void AgentCore::forget_owner(int64_t owner) {
  for (auto& [id, q] : queries_) {
    if (q.owner == owner) q.owner = kNoOwner;
  }
}

void AgentCore::finish() {
  // A process that exits gracefully reports what it gathered since the last
  // interval, so its frontends miss nothing.
  for (auto& [id, q] : queries_) sink_->report(q.owner, id, report(q, false));
  queries_.clear();  // removes every advice
}

}  // namespace pivot::agent
