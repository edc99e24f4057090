#include "frontend/frontend.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "session/installation.h"
#include "wire/protocol.h"

namespace pivot::frontend {

using wire::Json;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr int kHelloTimeoutMs = 2000;

}  // namespace

// One agent connection.
struct Frontend::Peer {
  int fd = -1;
  AgentInfo info;
  transport::FrameReader reader;
  bool installed = false;
  bool final_seen = false;
  bool lost = false;

  ~Peer() {
    if (fd >= 0) close(fd);
  }
  std::string name() const {
    return "agent " + std::to_string(info.pid) + " (" + info.proc_name + "@" + info.host + ")";
  }
};

Frontend::Frontend(std::string runtime_dir) : dir_(std::move(runtime_dir)) {}

Frontend::~Frontend() {
  if (!id_.empty()) {
    Json m = wire::message("uninstall");
    m["id"] = id_;
    for (auto& p : peers_) {
      if (!p->lost && p->installed) (void)transport::write_frame(p->fd, m.dump());
    }
  }
}

namespace {

Result<AgentInfo> parse_info(const Json& m) {
  if (m["type"] != "info") {
    return Error(m["type"] == "error" ? m.value("message", std::string("error"))
                                      : "unexpected reply to hello");
  }
  AgentInfo info;
  info.pid = static_cast<pid_t>(m.value("pid", int64_t{0}));
  info.proc_name = m.value("procName", std::string());
  info.host = m.value("host", std::string());
  if (m.contains("catalog")) {
    auto c = wire::catalog_from_json(m["catalog"]);
    if (!c) return c.error();
    info.catalog = std::move(*c);
  }
  if (m.contains("queries") && m["queries"].is_array()) info.queries = m["queries"].size();
  return info;
}

}  // namespace

std::vector<AgentInfo> Frontend::agents(std::vector<std::string>* notes) {
  std::vector<AgentInfo> out;
  for (const auto& s : transport::discover(dir_)) {
    auto fd = transport::connect_unix(s.path);
    if (!fd) {
      if (notes) notes->push_back("agent " + std::to_string(s.pid) + ": " + fd.error().message());
      continue;
    }
    Peer p;
    p.fd = *fd;
    Status sent = transport::write_frame(p.fd, wire::message("hello").dump());
    auto reply =
        sent ? transport::read_frame(p.fd, p.reader, kHelloTimeoutMs) : Result<std::string>(sent.error());
    auto m = reply ? wire::parse_message(*reply) : Result<Json>(reply.error());
    auto info = m ? parse_info(*m) : Result<AgentInfo>(m.error());
    if (!info) {
      if (notes) notes->push_back("agent " + std::to_string(s.pid) + ": " + info.error().message());
      continue;
    }
    out.push_back(std::move(*info));
  }
  return out;
}

planner::Catalog Frontend::catalog() {
  planner::Catalog c;
  for (const AgentInfo& a : agents()) wire::merge_catalog(c, a.catalog);
  return c;
}

Result<std::string> Frontend::explain(std::string_view text) {
  auto plan = planner::compile(text, catalog(), 0);
  if (!plan) return plan.error();
  return plan->explain();
}

Status Frontend::connect_and_install(const transport::AgentSocket& s) {
  auto fd = transport::connect_unix(s.path);
  if (!fd) return fd.error();
  auto peer = std::make_unique<Peer>();
  peer->fd = *fd;
  peer->info.pid = s.pid;
  if (auto sent = transport::write_frame(peer->fd, wire::message("hello").dump()); !sent) return sent;
  auto reply = transport::read_frame(peer->fd, peer->reader, kHelloTimeoutMs);
  if (!reply) return reply.error();
  auto m = wire::parse_message(*reply);
  if (!m) return m.error();
  auto info = parse_info(*m);
  if (!info) return info.error();
  peer->info = std::move(*info);

  Json install = wire::message("install");
  install["id"] = id_;
  install["text"] = text_;
  planner::Catalog merged = peer->info.catalog;
  for (const auto& p : peers_) wire::merge_catalog(merged, p->info.catalog);
  install["catalog"] = wire::to_json(merged);
  install["interval_ms"] = options_.interval_ms;
  install["lease_ms"] = options_.lease_ms;
  if (auto sent = transport::write_frame(peer->fd, install.dump()); !sent) return sent;
  // Reports may arrive before the answer only once it is installed.
  auto answer = transport::read_frame(peer->fd, peer->reader, kHelloTimeoutMs);
  if (!answer) return answer.error();
  auto am = wire::parse_message(*answer);
  if (!am) return am.error();
  if ((*am)["type"] != "installed") {
    return Error(peer->name() + " refused the query: " + am->value("message", std::string("?")));
  }
  peer->installed = true;
  peers_.push_back(std::move(peer));
  return Status();
}

Result<std::vector<std::string>> Frontend::start(std::string_view text, QueryOptions options) {
  std::vector<std::string> notes;
  std::vector<AgentInfo> found = agents(&notes);
  if (found.empty()) {
    return Error("no agents found in " + dir_ + " (is PIVOT_RUNTIME_DIR the same as the processes'?)");
  }
  planner::Catalog merged;
  for (const AgentInfo& a : found) wire::merge_catalog(merged, a.catalog);
  std::mt19937_64 rng{std::random_device{}()};
  uint64_t uid = rng();
  auto plan = planner::compile(text, merged, uid);
  if (!plan) return plan.error();

  char id[17];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(uid));
  id_ = id;
  text_ = std::string(text);
  options_ = options;
  if (options_.lease_ms <= 0) options_.lease_ms = std::max<int64_t>(3 * options_.interval_ms, 3000);
  plan_ = std::move(*plan);
  for (const planner::QueryPlan& q : plan_.queries) {
    interval_.push_back(std::make_unique<aggregate::Partial>(&q.shape));
    total_.push_back(std::make_unique<aggregate::Partial>(&q.shape));
  }
  for (const auto& s : transport::discover(dir_)) {
    if (auto st = connect_and_install(s); !st) notes.push_back(st.error().message());
  }
  if (peers_.empty()) {
    std::string why = notes.empty() ? "" : ": " + notes.front();
    return Error("no agent accepted the query" + why);
  }
  next_tick_ = now_ms() + options_.interval_ms;
  return notes;
}

void Frontend::lose(Peer& p, const std::string& why) {
  if (p.lost) return;
  p.lost = true;
  events_.push_back(p.name() + " lost: " + why);
}

void Frontend::handle(Peer& p, const std::string& payload) {
  auto m = wire::parse_message(payload);
  if (!m) {
    events_.push_back(p.name() + " sent a bad message: " + m.error().message());
    return;
  }
  const std::string type = (*m)["type"];
  if (type == "error") {
    events_.push_back(p.name() + ": " + m->value("message", std::string("error")));
    return;
  }
  if (type != "report" || m->value("id", std::string()) != id_) return;
  const Json& parts = (*m)["queries"];
  if (!parts.is_array() || parts.size() != plan_.queries.size()) {
    events_.push_back(p.name() + " sent a report that does not match the query");
    return;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    if (auto s = wire::merge_from_json(parts[i], *interval_[i]); !s) {
      events_.push_back(p.name() + ": " + s.error().message());
      continue;
    }
    (void)wire::merge_from_json(parts[i], *total_[i]);
  }
  if (m->value("final", false)) p.final_seen = true;
}

void Frontend::pump(int64_t deadline_ms, bool until_finals) {
  for (;;) {
    if (!until_finals && interrupt_ != nullptr && interrupt_->load()) return;
    if (until_finals &&
        std::all_of(peers_.begin(), peers_.end(), [](const auto& p) { return p->lost || p->final_seen; })) {
      return;
    }
    int64_t wait = deadline_ms - now_ms();
    if (wait <= 0) return;
    std::vector<pollfd> fds;
    std::vector<Peer*> who;
    for (auto& p : peers_) {
      if (p->lost) continue;
      fds.push_back({p->fd, POLLIN, 0});
      who.push_back(p.get());
    }
    if (fds.empty()) {
      usleep(static_cast<useconds_t>(std::min<int64_t>(wait, 100) * 1000));
      continue;
    }
    int n = poll(fds.data(), fds.size(), static_cast<int>(std::min<int64_t>(wait, 1000)));
    if (n <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Peer& p = *who[i];
      char buf[65536];
      ssize_t r = recv(p.fd, buf, sizeof buf, 0);
      if (r <= 0) {
        lose(p, r == 0 ? "connection closed" : "read error");
        continue;
      }
      p.reader.feed(buf, static_cast<size_t>(r));
      std::string payload;
      for (;;) {
        auto got = p.reader.next(&payload);
        if (!got) {
          lose(p, got.error().message());
          break;
        }
        if (!*got) break;
        handle(p, payload);
      }
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
    size_t last = plan_.queries.size() - 1;
    s.interval = session::to_table(plan_.queries[last], *interval_[last]);
    s.total = session::to_table(plan_.queries[last], *total_[last]);
  }
  if (reset_interval) {
    for (auto& p : interval_) p->clear();
  }
  s.events = std::move(events_);
  events_.clear();
  return s;
}

Snapshot Frontend::next_interval() {
  pump(next_tick_, false);
  next_tick_ += options_.interval_ms;
  if (next_tick_ < now_ms()) next_tick_ = now_ms() + options_.interval_ms;
  // Keep the leases alive, and bring in agents that started since.
  Json renew = wire::message("renew");
  renew["ids"] = Json::array({id_});
  for (auto& p : peers_) {
    if (!p->lost && !transport::write_frame(p->fd, renew.dump())) lose(*p, "write failed");
  }
  for (const auto& s : transport::discover(dir_)) {
    bool known =
        std::any_of(peers_.begin(), peers_.end(), [&](const auto& p) { return p->info.pid == s.pid; });
    if (!known) {
      if (auto st = connect_and_install(s); !st) events_.push_back(st.error().message());
    }
  }
  return snapshot(true);
}

Snapshot Frontend::finish(int timeout_ms) {
  Json flush = wire::message("flush");
  flush["id"] = id_;
  for (auto& p : peers_) {
    if (!p->lost && !transport::write_frame(p->fd, flush.dump())) lose(*p, "write failed");
  }
  pump(now_ms() + timeout_ms, true);
  for (auto& p : peers_) {
    if (!p->lost && !p->final_seen) events_.push_back(p->name() + " did not send its final report in time");
  }
  Snapshot s = snapshot(true);
  Json uninstall = wire::message("uninstall");
  uninstall["id"] = id_;
  for (auto& p : peers_) {
    if (!p->lost) (void)transport::write_frame(p->fd, uninstall.dump());
  }
  id_.clear();
  return s;
}

}  // namespace pivot::frontend
