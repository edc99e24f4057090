// The agent: one background thread serving frontends over the local
// transport. See include/pivot/agent.h for what it promises.
#include "pivot/agent.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "planner/catalog.h"
#include "session/installation.h"
#include "tracepoint/process_info.h"
#include "transport/local.h"
#include "wire/protocol.h"

namespace pivot {
namespace {

using wire::Json;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxPendingOutput = 64u << 20;  // a frontend this far behind is dropped

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Connection {
  int fd = -1;
  transport::FrameReader reader;
  std::string out;
  bool closing = false;  // close once `out` is written
};

struct Query {
  std::string id;
  std::unique_ptr<session::Installation> installation;
  int owner = -1;  // connection fd; -1 once it is gone
  int64_t lease_ms = 0;
  int64_t lease_deadline = 0;
  int64_t interval_ms = 0;
  int64_t next_report = 0;
  uint64_t seq = 0;
};

class AgentLoop {
 public:
  explicit AgentLoop(AgentOptions o) : options_(std::move(o)) {}
  ~AgentLoop() { shutdown(); }

  Status open() {
    if (auto s = transport::ensure_runtime_dir(options_.runtime_dir); !s) return s;
    path_ = transport::socket_path(options_.runtime_dir, getpid());
    auto fd = transport::listen_unix(path_);
    if (!fd) return fd.error();
    listen_fd_ = *fd;
    if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) return Error("pipe failed");
    thread_ = std::thread([this] { run(); });
    return Status();
  }

  void shutdown() {
    if (!thread_.joinable()) return;
    stop_.store(true);
    char c = 1;
    (void)!write(wake_[1], &c, 1);
    thread_.join();
    // A process that exits gracefully reports what it gathered since the
    // last interval, so its frontends miss nothing.
    for (auto& [id, q] : queries_) {
      auto c = conns_.find(q.owner);
      if (c != conns_.end()) c->second.out += transport::frame(report(q, false).dump());
    }
    for (auto& [fd, c] : conns_) {
      if (!c.out.empty()) (void)transport::write_all_for(fd, c.out, 500);
    }
    queries_.clear();  // removes every advice
    for (auto& [fd, c] : conns_) close(fd);
    conns_.clear();
    close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
    unlink(path_.c_str());
  }

 private:
  void run() {
    while (!stop_.load()) {
      std::vector<pollfd> fds;
      fds.push_back({listen_fd_, POLLIN, 0});
      fds.push_back({wake_[0], POLLIN, 0});
      for (auto& [fd, c] : conns_)
        fds.push_back({fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
      int timeout = static_cast<int>(std::clamp<int64_t>(next_deadline() - now_ms(), 0, 1000));
      int n = poll(fds.data(), fds.size(), timeout);
      if (n < 0 && errno != EINTR) break;
      if (n > 0) {
        if (fds[0].revents & POLLIN) accept_all();
        for (size_t i = 2; i < fds.size(); ++i) {
          if (fds[i].revents == 0) continue;
          auto it = conns_.find(fds[i].fd);
          if (it == conns_.end()) continue;
          if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) read_from(it->second);
          if (fds[i].revents & POLLOUT) flush_out(it->second);
        }
        reap_closed();
      }
      tick();
    }
  }

  int64_t next_deadline() const {
    int64_t d = now_ms() + 1000;
    for (const auto& [id, q] : queries_) d = std::min({d, q.next_report, q.lease_deadline});
    return d;
  }

  void accept_all() {
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int64_t uid = transport::peer_uid(fd);
      if (uid != static_cast<int64_t>(getuid()) && uid != 0) {
        close(fd);  // only the same user (or root) may query this process
        continue;
      }
      conns_[fd].fd = fd;
    }
  }

  void read_from(Connection& c) {
    char buf[65536];
    for (;;) {
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.reader.feed(buf, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof buf) break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      c.closing = true;  // closed by the frontend, or an error
      c.out.clear();
      return;
    }
    std::string payload;
    for (;;) {
      auto got = c.reader.next(&payload);
      if (!got) {
        send(c, error_message("", got.error().message()));
        c.closing = true;  // the stream cannot be resynchronized
        return;
      }
      if (!*got) return;
      handle(c, payload);
    }
  }

  static Json error_message(const std::string& id, const std::string& text) {
    Json m = wire::message("error");
    if (!id.empty()) m["id"] = id;
    m["message"] = text;
    return m;
  }

  void send(Connection& c, const Json& m) {
    if (c.closing && c.out.empty()) return;
    c.out += transport::frame(m.dump(-1, ' ', false, Json::error_handler_t::replace));
    if (c.out.size() > kMaxPendingOutput) {
      c.out.clear();
      c.closing = true;
      return;
    }
    flush_out(c);
  }

  void flush_out(Connection& c) {
    while (!c.out.empty()) {
      ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        c.out.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      c.out.clear();
      c.closing = true;
      return;
    }
  }

  void reap_closed() {
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (it->second.closing && it->second.out.empty()) {
        for (auto& [id, q] : queries_) {
          if (q.owner == it->first) q.owner = -1;  // the lease decides when the advice goes
        }
        close(it->first);
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void handle(Connection& c, const std::string& payload) {
    auto m = wire::parse_message(payload);
    if (!m) {
      send(c, error_message("", m.error().message()));
      return;
    }
    const std::string type = (*m)["type"].get<std::string>();
    if (type == "hello") return send(c, info());
    if (type == "install") return install(c, *m);
    if (type == "uninstall") return uninstall(c, *m);
    if (type == "renew") return renew(*m);
    if (type == "flush") return flush(c, *m);
    send(c, error_message("", "unknown message type '" + type + "'"));
  }

  Json info() const {
    Json m = wire::message("info");
    const internal::ProcessInfo& p = internal::process_info();
    m["pid"] = p.proc_id;
    m["procName"] = p.proc_name;
    m["host"] = p.host;
    m["catalog"] = wire::to_json(planner::local_catalog());
    Json ids = Json::array();
    for (const auto& [id, q] : queries_) ids.push_back(id);
    m["queries"] = ids;
    return m;
  }

  void install(Connection& c, const Json& m) {
    auto id = wire::get_string(m, "id");
    auto text = wire::get_string(m, "text");
    if (!id || !text)
      return send(c, error_message(id ? *id : "", (!id ? id.error() : text.error()).message()));
    if (queries_.count(*id)) return send(c, error_message(*id, "query " + *id + " is already installed"));
    uint64_t uid = std::strtoull(id->c_str(), nullptr, 16);
    planner::Catalog catalog = planner::local_catalog();
    if (m.contains("catalog")) {
      auto theirs = wire::catalog_from_json(m["catalog"]);
      if (!theirs) return send(c, error_message(*id, theirs.error().message()));
      wire::merge_catalog(catalog, *theirs);
    }
    int64_t interval = m.value("interval_ms", options_.interval_ms);
    int64_t lease = m.value("lease_ms", std::max<int64_t>(3 * interval, 3000));
    if (interval < 10 || interval > 3'600'000 || lease < interval || lease > 86'400'000) {
      return send(c,
                  error_message(*id, "interval_ms must be 10..3600000 and lease_ms at least the interval"));
    }
    auto in = session::Installation::create(*text, catalog, uid);
    if (!in) return send(c, error_message(*id, in.error().message()));
    Query q;
    q.id = *id;
    q.installation = std::move(*in);
    q.owner = c.fd;
    q.interval_ms = interval;
    q.lease_ms = lease;
    q.lease_deadline = now_ms() + lease;
    q.next_report = now_ms() + interval;
    queries_[*id] = std::move(q);
    Json ok = wire::message("installed");
    ok["id"] = *id;
    send(c, ok);
  }

  void uninstall(Connection& c, const Json& m) {
    auto id = wire::get_string(m, "id");
    if (!id) return send(c, error_message("", id.error().message()));
    if (queries_.erase(*id) == 0) return send(c, error_message(*id, "no installed query " + *id));
    Json ok = wire::message("uninstalled");
    ok["id"] = *id;
    send(c, ok);
  }

  void renew(const Json& m) {
    if (!m.contains("ids") || !m["ids"].is_array()) return;
    for (const Json& id : m["ids"]) {
      if (!id.is_string()) continue;
      auto it = queries_.find(id.get<std::string>());
      if (it != queries_.end()) it->second.lease_deadline = now_ms() + it->second.lease_ms;
    }
  }

  void flush(Connection& c, const Json& m) {
    auto id = wire::get_string(m, "id");
    if (!id) return send(c, error_message("", id.error().message()));
    auto it = queries_.find(*id);
    if (it == queries_.end()) return send(c, error_message(*id, "no installed query " + *id));
    send(c, report(it->second, true));
  }

  Json report(Query& q, bool final) {
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

  void tick() {
    int64_t now = now_ms();
    for (auto it = queries_.begin(); it != queries_.end();) {
      Query& q = it->second;
      if (now >= q.lease_deadline) {
        it = queries_.erase(it);  // the frontend stopped renewing: remove the advice
        continue;
      }
      if (now >= q.next_report) {
        q.next_report = now + q.interval_ms;
        Json r = report(q, false);
        auto c = conns_.find(q.owner);
        if (c != conns_.end()) send(c->second, r);
      }
      ++it;
    }
    reap_closed();
  }

  AgentOptions options_;
  std::string path_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::map<int, Connection> conns_;
  std::map<std::string, Query> queries_;
};

std::mutex g_mu;
AgentLoop* g_agent = nullptr;

Result<int64_t> parse_positive(const char* name, const char* text) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v <= 0) {
    return Error(std::string(name) + "='" + text + "' is not a positive integer");
  }
  return static_cast<int64_t>(v);
}

}  // namespace

Result<AgentOptions> AgentOptions::resolve(AgentOptions o) {
  auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
  };
  if (o.proc_name.empty() && env("PIVOT_PROCNAME")) o.proc_name = env("PIVOT_PROCNAME");
  if (o.host.empty() && env("PIVOT_HOST")) o.host = env("PIVOT_HOST");
  if (o.transport.empty()) o.transport = env("PIVOT_TRANSPORT") ? env("PIVOT_TRANSPORT") : "local";
  if (o.interval_ms == 0 && env("PIVOT_INTERVAL_MS")) {
    auto v = parse_positive("PIVOT_INTERVAL_MS", env("PIVOT_INTERVAL_MS"));
    if (!v) return v.error();
    o.interval_ms = *v;
  }
  if (o.interval_ms == 0) o.interval_ms = 1000;
  if (o.interval_ms < 10 || o.interval_ms > 3'600'000) {
    return Error("the reporting interval must be 10..3600000 ms, not " + std::to_string(o.interval_ms));
  }
  if (o.runtime_dir.empty()) o.runtime_dir = transport::default_runtime_dir();
  if (o.transport != "local") {
    return Error("PIVOT_TRANSPORT='" + o.transport + "' is not supported by this build; use local");
  }
  return o;
}

Status Agent::start(AgentOptions options) {
  auto o = AgentOptions::resolve(std::move(options));
  if (!o) return o.error();
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_agent != nullptr) return Error("the pivot agent is already running");
  internal::set_process_names(o->host, o->proc_name);
  auto* agent = new AgentLoop(*o);
  if (auto s = agent->open(); !s) {
    delete agent;
    return s;
  }
  g_agent = agent;
  static const bool at_exit = [] { return std::atexit([] { Agent::stop(); }) == 0; }();
  (void)at_exit;
  return Status();
}

void Agent::stop() {
  AgentLoop* agent;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    agent = g_agent;
    g_agent = nullptr;
  }
  delete agent;
}

bool Agent::running() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_agent != nullptr;
}

}  // namespace pivot
