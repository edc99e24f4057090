#include "frontend/frontend.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <utility>

#include "core/clock.h"
#include "session/installation.h"
#include "wire/protocol.h"

namespace pivot::frontend {

using wire::Json;

using ::pivot::internal::steady_ms;
using ::pivot::internal::wall_ms;

// One agent that has (or had) the query.
struct Frontend::Peer {
  AgentInfo info;
  bool installed = false;
  bool final_seen = false;
  bool lost = false;
  uint64_t last_seq = 0;   // of its reports since it installed the query
  int64_t last_heard = 0;  // steady ms of its last report (or install)
  bool silent = false;     // reported silent, not heard from since

  std::string name() const {
    return "agent " + std::to_string(info.pid) + " (" + info.proc_name + "@" + info.host + ")";
  }
};

Frontend::Frontend(std::string runtime_dir) : link_(make_local_link(runtime_dir)) {}

Frontend::Frontend(std::unique_ptr<Link> link) : link_(std::move(link)) {}

Frontend::~Frontend() {
  if (!id_.empty()) {
    Json m = wire::message("uninstall");
    m["id"] = id_;
    for (auto& p : peers_) {
      if (!p->lost && p->installed) link_->send(p->info.key, m);
    }
  }
}

std::vector<AgentInfo> Frontend::agents(std::vector<std::string>* notes) { return link_->discover(notes); }

planner::Catalog Frontend::catalog() {
  planner::Catalog c;
  for (const AgentInfo& a : agents()) wire::merge_catalog(c, a.catalog);
  return c;
}

namespace {

// A question's "req": answers on a shared subject (NATS) carry it back.
std::string new_req() {
  std::mt19937_64 rng{std::random_device{}()};
  char req[17];
  std::snprintf(req, sizeof req, "%016llx", static_cast<unsigned long long>(rng()));
  return req;
}

std::string agent_name(const AgentInfo& a) {
  return std::to_string(a.pid) + " (" + a.proc_name + (a.host.empty() ? "" : "@" + a.host) + ")";
}

}  // namespace

Result<std::string> Frontend::explain(std::string_view text) {
  std::vector<AgentInfo> found = agents();
  planner::Catalog merged;
  for (const AgentInfo& a : found) wire::merge_catalog(merged, a.catalog);
  auto plan = planner::compile(text, merged, 0);
  if (!plan) return plan.error();
  std::string out = plan->explain();
  if (plan->probes.empty() || found.empty()) return out;
  // Agents running one program resolve a definition alike: their lines are
  // printed once, under all of them.
  Json ask = wire::message("explain");
  ask["text"] = std::string(text);
  ask["req"] = new_req();
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> groups;  // lines, agents
  std::vector<Link::Answer> answers = link_->ask(found, ask, kAskTimeoutMs);
  std::sort(answers.begin(), answers.end(),
            [](const Link::Answer& x, const Link::Answer& y) { return x.info.pid < y.info.pid; });
  for (Link::Answer& a : answers) {
    std::vector<std::string> lines;
    if (!a.answer) {
      lines.push_back("no answer: " + a.answer.error().message());
    } else if ((*a.answer)["type"] != "explained") {
      lines.push_back("error: " + str_field(*a.answer, "message"));
    } else if (auto f = a.answer->find("functions"); f != a.answer->end() && f->is_array()) {
      for (const Json& l : *f) {
        if (l.is_string()) lines.push_back(l.get<std::string>());
      }
    }
    auto same = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == lines; });
    if (same == groups.end()) {
      groups.push_back({std::move(lines), {agent_name(a.info)}});
    } else {
      same->second.push_back(agent_name(a.info));
    }
  }
  for (const auto& [lines, names] : groups) {
    std::string who;
    for (const std::string& n : names) who += (who.empty() ? "" : ", ") + n;
    out += (names.size() == 1 ? "agent " : "agents ") + who + ":\n";
    for (const std::string& l : lines) out += "  " + l + "\n";
  }
  return out;
}

std::vector<Link::Answer> Frontend::functions(const std::string& pattern, int64_t limit,
                                              std::vector<std::string>* notes) {
  std::vector<AgentInfo> found = agents(notes);
  if (found.empty()) return {};
  Json ask = wire::message("functions");
  ask["pattern"] = pattern;
  ask["limit"] = limit;
  ask["req"] = new_req();
  return link_->ask(found, ask, kAskTimeoutMs);
}

Frontend::Peer* Frontend::find(const std::string& key) {
  for (auto& p : peers_) {
    if (p->info.key == key) return p.get();
  }
  return nullptr;
}

Json Frontend::install_message(const planner::Catalog& extra) const {
  Json install = wire::message("install");
  install["id"] = id_;
  install["text"] = text_;
  planner::Catalog merged = catalog_;
  wire::merge_catalog(merged, extra);
  install["catalog"] = wire::to_json(merged);
  install["interval_ms"] = options_.interval_ms;
  install["lease_ms"] = options_.lease_ms;
  install["max_groups"] = options_.max_groups;
  install["report_format"] = wire::kBinaryReports;
  return install;
}

std::vector<std::string> Frontend::install(const std::vector<AgentInfo>& agents, bool everyone, bool again) {
  planner::Catalog extra;
  for (const AgentInfo& a : agents) wire::merge_catalog(extra, a.catalog);
  Json message = install_message(extra);
  if (again) message["again"] = true;
  std::vector<std::string> errors;
  for (Link::Installed& r : link_->install(agents, message, everyone, options_.install_timeout_ms)) {
    Peer probe;
    probe.info = r.info;
    if (!r.answer) {
      errors.push_back(probe.name() + ": " + r.answer.error().message());
      if (r.timed_out) {
        if (timed_out_.empty()) timed_out_why_ = r.answer.error().message();
        timed_out_.push_back(r.info);
      }
      continue;
    }
    if ((*r.answer)["type"] != "installed") {
      errors.push_back(probe.name() + " refused the query: " + str_field(*r.answer, "message"));
      continue;
    }
    if (auto skipped = r.answer->find("skipped"); skipped != r.answer->end() && skipped->is_array()) {
      for (const Json& line : *skipped) {
        if (line.is_string()) errors.push_back(probe.name() + " skipped " + line.get<std::string>());
      }
    }
    Peer* p = find(r.info.key);
    if (p == nullptr) {
      peers_.push_back(std::make_unique<Peer>());
      p = peers_.back().get();
      p->info = std::move(r.info);
    }
    // A fresh installation counts its reports from 1 again; installing
    // again what an agent still has changes nothing.
    bool fresh = !wire::get_flag(*r.answer, "already");
    if (fresh && p->installed) {
      events_.push_back(p->name() +
                        " had lost the query (its lease lapsed while it could not hear this frontend); "
                        "installed it again: its results in between are missing");
    }
    if (fresh || !p->installed) p->last_seq = 0;
    p->last_heard = steady_ms();
    p->installed = true;
    p->lost = false;
  }
  return errors;
}

Result<std::vector<std::string>> Frontend::start(std::string_view text, QueryOptions options) {
  std::vector<std::string> notes;
  std::vector<AgentInfo> found = agents(&notes);
  if (found.empty()) return Error("no agents found " + link_->where());
  planner::Catalog merged;
  for (const AgentInfo& a : found) wire::merge_catalog(merged, a.catalog);
  if (options.max_groups < 1 || options.max_groups > aggregate::kMaxMaxGroups) {
    return Error("max_groups must be 1 to " + std::to_string(aggregate::kMaxMaxGroups));
  }
  std::mt19937_64 rng{std::random_device{}()};
  uint64_t uid = rng();
  auto plan = planner::compile(text, merged, uid);
  if (!plan) return plan.error();
  size_t shown = plan->queries.empty() ? 0 : plan->queries.size() - 1;
  if (!options.show.empty()) {
    auto named = [&](const planner::QueryPlan& q) { return q.label == options.show; };
    auto it = std::find_if(plan->queries.begin(), plan->queries.end(), named);
    if (it == plan->queries.end()) {
      std::string labels;
      for (const planner::QueryPlan& q : plan->queries) labels += (labels.empty() ? "" : ", ") + q.label;
      return Error("the text has no query named '" + options.show + "' (its queries: " + labels + ")");
    }
    shown = static_cast<size_t>(it - plan->queries.begin());
  }

  char id[17];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(uid));
  id_ = id;
  text_ = std::string(text);
  options_ = options;
  // An agent's lease starts when it has installed; the next renewal comes
  // when another agent makes progress (up to the install timeout later) or
  // after the slowest agent has answered, and joining agents are waited for
  // the same way later on.
  if (options_.lease_ms <= 0) {
    options_.lease_ms =
        std::max<int64_t>(3 * options_.interval_ms, options_.install_timeout_ms + options_.interval_ms);
  }
  plan_ = std::move(*plan);
  shown_ = shown;
  catalog_ = std::move(merged);
  for (planner::QueryPlan& q : plan_.queries)
    q.shape.group_cap = aggregate::group_cap_for(q.shape, options_.max_groups);
  for (const planner::QueryPlan& q : plan_.queries) {
    interval_.push_back(std::make_unique<aggregate::Partial>(&q.shape));
    total_.push_back(std::make_unique<aggregate::Partial>(&q.shape));
    report_.push_back(std::make_unique<aggregate::Partial>(&q.shape));
  }
  if (auto s = link_->begin(id_); !s) return s.error();
  int64_t t0 = steady_ms();
  for (const AgentInfo& a : found) tried_.insert(a.key);
  for (auto& e : install(found, true)) notes.push_back(std::move(e));
  install_ms_ = steady_ms() - t0;
  if (!timed_out_.empty()) {
    // An install that cannot finish in time (a hooked function that never
    // returns, a wedged process) is not a success with that agent missing:
    // the query is taken back everywhere.
    Peer slow;
    slow.info = timed_out_.front();
    abandon(timed_out_);
    return Error(slow.name() + " did not finish installing the query (" + timed_out_why_ +
                 "); it was removed from every agent");
  }
  if (installed_agents() == 0) {
    std::string why = notes.empty() ? "" : ": " + notes.front();
    return Error("no agent accepted the query" + why);
  }
  // A defined tracepoint that no agent could hook would never fire.
  for (const planner::DefinedProbe& d : plan_.probes) {
    const std::string mark = " skipped " + d.name + ": ";
    int skipped = 0;
    std::string first;
    for (const std::string& n : notes) {
      if (size_t at = n.find(mark); at != std::string::npos) {
        if (skipped++ == 0) first = n.substr(at + mark.size());
      }
    }
    if (skipped > 0 && skipped >= installed_agents()) {
      return Error("no agent has a function for Tracepoint " + d.name + ": " + first);
    }
  }
  next_tick_ = steady_ms() + options_.interval_ms;
  return notes;
}

void Frontend::abandon(const std::vector<AgentInfo>& also) {
  Json uninstall = wire::message("uninstall");
  uninstall["id"] = id_;
  for (auto& p : peers_) {
    if (p->installed && !p->lost) link_->send(p->info.key, uninstall);
    p->installed = false;
  }
  for (const AgentInfo& a : also) link_->send(a.key, uninstall);
  id_.clear();
}

void Frontend::lose(Peer& p, const std::string& why) {
  if (p.lost) return;
  p.lost = true;
  events_.push_back(p.name() + " lost: " + why);
}

void Frontend::handle(const std::string& key, const std::string& payload) {
  // Agents' messages are outside input: a malformed one is an event, never
  // an exception out of the frontend.
  try {
    handle_message(key, payload);
  } catch (const std::exception& e) {
    events_.push_back("agent " + key + " sent a message that could not be handled: " + e.what());
  }
}

void Frontend::handle_message(const std::string& key, const std::string& payload) {
  Peer* p = find(key);
  auto m = wire::parse_message(payload);
  if (!m) {
    events_.push_back((p ? p->name() : "agent " + key) + " sent a bad message: " + m.error().message());
    return;
  }
  const std::string type = (*m)["type"];
  if (p == nullptr && type == "installed" && str_field(*m, "id") == id_ && !id_.empty()) {
    // An agent that took a broadcast install after we stopped waiting.
    peers_.push_back(std::make_unique<Peer>());
    p = peers_.back().get();
    p->info.key = key;
    p->info.pid = static_cast<pid_t>(int_field(*m, "pid"));
    p->info.proc_name = str_field(*m, "procName");
    p->info.host = str_field(*m, "host");
    p->installed = true;
    events_.push_back(p->name() + " joined");
    return;
  }
  if (p == nullptr) return;  // not one of ours
  if (type == "error") {
    std::string text = str_field(*m, "message");
    events_.push_back(p->name() + ": " + (text.empty() ? "error" : text));
    return;
  }
  if (type != "report" || str_field(*m, "id") != id_) return;
  const Json& parts = (*m)["queries"];
  if (!parts.is_array() || parts.size() != plan_.queries.size()) {
    events_.push_back(p->name() + " sent a report that does not match the query");
    return;
  }
  uint64_t seq = static_cast<uint64_t>(int_field(*m, "seq"));
  if (seq > p->last_seq + 1) {
    events_.push_back(p->name() + ": " + std::to_string(seq - p->last_seq - 1) +
                      " report(s) missing (sequence " + std::to_string(p->last_seq + 1) + ".." +
                      std::to_string(seq - 1) + "); the results have a gap");
    lost_reports_ += static_cast<int64_t>(seq - p->last_seq - 1);
  }
  p->last_heard = steady_ms();
  if (p->silent) {
    p->silent = false;
    events_.push_back(p->name() + " is heard from again");
  }
  if (seq > p->last_seq) p->last_seq = seq;
  for (size_t i = 0; i < parts.size(); ++i) {
    // Decoded once (into the same partial every time: its tables stay
    // mapped and sized), merged twice.
    aggregate::Partial& report = *report_[i];
    if (auto s = wire::partial_from_json(parts[i], report); !s) {
      events_.push_back(p->name() + ": " + s.error().message());
      continue;
    }
    interval_[i]->merge(report);
    total_[i]->merge(report);
  }
  if (wire::get_flag(*m, "final")) p->final_seen = true;
}

void Frontend::on_event(const LinkEvent& e) {
  Peer* p = find(e.key);
  switch (e.kind) {
    case LinkEvent::kMessage: handle(e.key, e.text); break;
    case LinkEvent::kLost:
      if (p) lose(*p, e.text);
      break;
    case LinkEvent::kBack:
      if (p && p->lost) {
        p->lost = false;
        events_.push_back(p->name() + " is back");
      }
      break;
    case LinkEvent::kNeedsInstall:
      if (p && p->installed && !id_.empty()) {
        for (auto& err : install({p->info}, false, true)) events_.push_back(err);
      }
      break;
    case LinkEvent::kNotice: events_.push_back(e.text); break;
  }
}

// On both transports an agent reports every interval: one that has not
// for silent_after_ms() is said to be silent, once, rather than its rows
// just going missing.
void Frontend::check_silent() {
  int64_t now = steady_ms();
  for (auto& p : peers_) {
    if (!p->installed || p->lost || p->silent || p->last_heard == 0) continue;
    if (now - p->last_heard > silent_after_ms(options_.interval_ms)) {
      p->silent = true;
      events_.push_back(p->name() + " is silent: no report for " + std::to_string(now - p->last_heard) +
                        " ms (stopped or overloaded?); its results are missing until it is heard from");
    }
  }
}

void Frontend::pump(int64_t deadline_ms, bool until_finals) {
  // Time this frontend spent not listening (its caller was busy between
  // intervals) is nobody's silence.
  int64_t away = pumped_until_ > 0 ? steady_ms() - pumped_until_ : 0;
  for (auto& p : peers_) {
    if (p->last_heard > 0 && away > 0) p->last_heard += away;
  }
  struct Mark {
    int64_t& at;
    ~Mark() { at = steady_ms(); }
  } mark{pumped_until_};
  for (;;) {
    if (!until_finals && interrupt_ != nullptr && interrupt_->load()) return;
    if (!until_finals && stop_at_ > 0 && steady_ms() >= stop_at_) return;
    if (!until_finals) check_silent();
    if (until_finals &&
        std::all_of(peers_.begin(), peers_.end(), [](const auto& p) { return p->lost || p->final_seen; })) {
      return;
    }
    // Wake at least every 100 ms to look at the interrupt flag.
    LinkEvent e;
    int64_t until = std::min(deadline_ms, steady_ms() + 100);
    if (link_->next(until, &e)) {
      on_event(e);
    } else if (steady_ms() >= deadline_ms) {
      return;
    }
  }
}

int Frontend::installed_agents() const {
  return static_cast<int>(
      std::count_if(peers_.begin(), peers_.end(), [](const auto& p) { return p->installed && !p->lost; }));
}

Snapshot Frontend::snapshot(bool reset_interval) {
  Snapshot s;
  s.time_ms = wall_ms();
  s.agents = installed_agents();
  if (!plan_.queries.empty()) {
    session::derive(plan_.queries, interval_);
    session::derive(plan_.queries, total_);
    s.interval = session::to_table(plan_.queries[shown_], *interval_[shown_]);
    s.total = session::to_table(plan_.queries[shown_], *total_[shown_]);
    if (plan_.queries[shown_].limit > 0) {
      s.interval_all = session::to_table(plan_.queries[shown_], *interval_[shown_], /*limit=*/false);
    }
  }
  if (reset_interval) {
    for (auto& p : interval_) p->reset();  // the next interval's fills it about as much
  }
  s.events = std::move(events_);
  events_.clear();
  s.lost_reports = std::exchange(lost_reports_, 0);
  return s;
}

Snapshot Frontend::next_interval() {
  pump(next_tick_, false);
  next_tick_ += options_.interval_ms;
  if (next_tick_ < steady_ms()) next_tick_ = steady_ms() + options_.interval_ms;
  // Keep the leases alive, and bring in agents that started since.
  Json renew = wire::message("renew");
  renew["ids"] = Json::array({id_});
  std::vector<std::string> keys;
  for (auto& p : peers_) {
    if (!p->lost) keys.push_back(p->info.key);
  }
  link_->send_all(keys, renew);
  std::set<std::string> known = tried_;
  for (auto& p : peers_) known.insert(p->info.key);
  std::vector<AgentInfo> fresh = link_->new_agents(known);
  if (!fresh.empty()) {
    for (const AgentInfo& a : fresh) tried_.insert(a.key);  // an agent that refuses is not asked again
    for (auto& err : install(fresh, false, true)) events_.push_back(err);
  }
  return snapshot(true);
}

Snapshot Frontend::finish(int timeout_ms) {
  Json flush = wire::message("flush");
  flush["id"] = id_;
  for (auto& p : peers_) {
    if (!p->lost && p->installed) link_->send(p->info.key, flush);
  }
  pump(steady_ms() + timeout_ms, true);
  for (auto& p : peers_) {
    if (!p->lost && !p->final_seen) events_.push_back(p->name() + " did not send its final report in time");
  }
  Snapshot s = snapshot(true);
  s.final = true;
  Json uninstall = wire::message("uninstall");
  uninstall["id"] = id_;
  for (auto& p : peers_) {
    if (!p->lost) link_->send(p->info.key, uninstall);
  }
  id_.clear();
  return s;
}

}  // namespace pivot::frontend
