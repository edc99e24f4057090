// The frontend's side of the local transport: one unix socket connection per
// agent that has the query; discovery by listing the runtime directory.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <optional>

#include "core/clock.h"
#include "frontend/link.h"
#include "transport/local.h"
#include "transport/nats_config.h"

namespace pivot::frontend {
namespace {

using internal::steady_ms;
using wire::Json;

// How long hellos may take, all agents together: they are asked at once.
constexpr int64_t kHelloTimeoutMs = 2000;
// How long a write to one agent may wait for it to read (a stopped agent's
// socket buffer fills up).
constexpr int kWriteTimeoutMs = 2000;
// How often a connect refused for a full backlog is tried again.
constexpr int64_t kConnectRetryMs = 20;

struct Conn {
  int fd = -1;
  transport::FrameReader reader;
  bool lost = false;
  ~Conn() {
    if (fd >= 0) close(fd);
  }
};

Status write_message(int fd, const Json& m) {
  return transport::write_all_for(fd, transport::frame(wire::encode(m)), kWriteTimeoutMs);
}

// Why a recv() that returned r <= 0 ended the connection. An agent that
// dies with our messages unread (a renewal) resets the connection instead
// of closing it; to the user both are the same: it is gone.
std::string why_ended(ssize_t r) {
  if (r == 0 || errno == ECONNRESET) return "connection closed";
  return std::string("read error: ") + std::strerror(errno);
}

// Reads what is there; the answer once a whole message has come.
std::optional<Result<Json>> read_answer(Conn& c) {
  std::string payload;
  auto got = c.reader.next(&payload);  // one read may have brought two messages
  if (got && !*got) {
    char buf[65536];
    ssize_t r = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return std::nullopt;
    if (r <= 0) return Result<Json>(Error(why_ended(r)));
    c.reader.feed(buf, static_cast<size_t>(r));
    got = c.reader.next(&payload);
  }
  if (!got) return Result<Json>(got.error());
  if (!*got) return std::nullopt;
  return wire::parse_message(payload);
}

// A hello to one agent, on a connection kept for what follows.
struct Hello {
  pid_t pid = 0;
  std::unique_ptr<Conn> conn;
  std::optional<Result<AgentInfo>> info;  // none yet
  bool connected = false;
};

// Connects to every agent and says hello to all of them at once, waiting
// at most kHelloTimeoutMs in all: an agent that cannot accept (its backlog
// is full) or never answers costs the others nothing.
std::vector<Hello> hello_all(const std::string& dir, const std::vector<pid_t>& pids) {
  std::vector<Hello> out(pids.size());
  const std::string hello = transport::frame(wire::encode(wire::message("hello")));
  const int64_t deadline = steady_ms() + kHelloTimeoutMs;
  auto try_connect = [&](Hello& h) {
    bool would_block = false;
    auto fd = transport::try_connect_unix(transport::socket_path(dir, h.pid), &would_block);
    if (!fd) {
      if (!would_block) h.info = Result<AgentInfo>(fd.error());
      return;
    }
    h.conn->fd = *fd;
    h.connected = true;
    // A few bytes into an empty socket buffer: never blocks.
    if (auto s = transport::write_all_for(*fd, hello, 0); !s) h.info = Result<AgentInfo>(s.error());
  };
  for (size_t i = 0; i < pids.size(); ++i) {
    out[i].pid = pids[i];
    out[i].conn = std::make_unique<Conn>();
    try_connect(out[i]);
  }
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<Hello*> who;
    bool retrying = false;
    for (Hello& h : out) {
      if (h.info) continue;
      if (!h.connected) {
        retrying = true;
        continue;
      }
      fds.push_back({h.conn->fd, POLLIN, 0});
      who.push_back(&h);
    }
    int64_t wait = deadline - steady_ms();
    if ((fds.empty() && !retrying) || wait <= 0) break;
    if (retrying) wait = std::min(wait, kConnectRetryMs);
    if (poll(fds.data(), fds.size(), static_cast<int>(wait)) > 0) {
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        auto answer = read_answer(*who[i]->conn);
        if (!answer) continue;
        if (!*answer) {
          who[i]->info = Result<AgentInfo>(answer->error());
          continue;
        }
        auto info = parse_info(**answer);
        if (info) info->key = std::to_string(who[i]->pid);
        who[i]->info = std::move(info);
      }
    }
    for (Hello& h : out) {
      if (!h.info && !h.connected) try_connect(h);
    }
  }
  for (Hello& h : out) {
    if (h.info) continue;
    h.info = Result<AgentInfo>(Error(
        h.connected ? "no answer to hello within " + std::to_string(kHelloTimeoutMs) + " ms (is it stopped?)"
                    : "cannot connect within " + std::to_string(kHelloTimeoutMs) +
                          " ms: the agent is not accepting connections"));
  }
  return out;
}

class LocalLink final : public Link {
 public:
  explicit LocalLink(std::string dir) : dir_(std::move(dir)) {}

  std::string where() const override {
    return "in " + dir_ + " (is PIVOT_RUNTIME_DIR the same as the processes'?)";
  }

  std::vector<AgentInfo> discover(std::vector<std::string>* notes) override {
    std::vector<AgentInfo> out;
    if (auto s = transport::check_runtime_dir(dir_); !s) {
      if (notes) notes->push_back(s.error().message());
      return out;
    }
    std::vector<pid_t> pids;
    for (const auto& s : transport::discover(dir_)) pids.push_back(s.pid);
    for (Hello& h : hello_all(dir_, pids)) {
      if (!*h.info) {
        if (notes) notes->push_back("agent " + std::to_string(h.pid) + ": " + h.info->error().message());
        continue;
      }
      out.push_back(std::move(**h.info));
    }
    return out;
  }

  Status begin(const std::string&) override { return Status(); }

  std::vector<Installed> install(const std::vector<AgentInfo>& agents, const Json& message, bool,
                                 int64_t timeout_ms) override {
    // Every agent is asked first, then the answers are awaited together:
    // one slow install (symbol tables, patching) must not hold up the
    // others, nor let their leases lapse before the first renewal.
    Json asking = message;
    asking["progress"] = true;
    std::vector<Installed> out;
    for (Asked& q : ask_all(agents, asking, timeout_ms)) {
      bool timed_out = !q.answer;
      if (timed_out) {
        // It may finish later: it then reads this and drops the query.
        Json uninstall = wire::message("uninstall");
        uninstall["id"] = message["id"];
        (void)write_message(q.conn->fd, uninstall);
        q.answer = Result<Json>(Error(install_timeout_error(timeout_ms, q.patience_out)));
      }
      // Reports may arrive before the answer only once it is installed.
      if (*q.answer && (**q.answer)["type"] == "installed") {
        drain(q.info.key, *q.conn);  // a report read along with the answer
        conns_[q.info.key] = std::move(q.conn);
      }
      out.push_back({std::move(q.info), std::move(*q.answer), timed_out});
    }
    return out;
  }

  std::vector<Answer> ask(const std::vector<AgentInfo>& agents, const Json& message,
                          int64_t timeout_ms) override {
    std::vector<Answer> out;
    for (Asked& q : ask_all(agents, message, timeout_ms)) {
      if (!q.answer) {
        q.answer = Result<Json>(Error("no answer within " + std::to_string(timeout_ms / 1000) + " s"));
      }
      out.push_back({std::move(q.info), std::move(*q.answer)});
    }
    return out;
  }

  void send(const std::string& key, const Json& message) override {
    auto it = conns_.find(key);
    if (it == conns_.end() || it->second->lost) return;
    if (auto s = write_message(it->second->fd, message); !s) lose(key, *it->second, s.error().message());
  }

  void send_all(const std::vector<std::string>& keys, const Json& message) override {
    for (const auto& k : keys) send(k, message);
  }

  bool next(int64_t deadline_ms, LinkEvent* out) override {
    for (;;) {
      if (!pending_.empty()) {
        *out = std::move(pending_.front());
        pending_.pop_front();
        return true;
      }
      int64_t wait = deadline_ms - steady_ms();
      if (wait <= 0) return false;
      std::vector<pollfd> fds;
      std::vector<std::string> who;
      for (auto& [key, c] : conns_) {
        if (c->lost) continue;
        fds.push_back({c->fd, POLLIN, 0});
        who.push_back(key);
      }
      if (fds.empty()) {
        usleep(static_cast<useconds_t>(std::min<int64_t>(wait, 100) * 1000));
        continue;
      }
      if (poll(fds.data(), fds.size(), static_cast<int>(std::min<int64_t>(wait, 1000))) <= 0) continue;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents != 0) read_from(who[i], *conns_[who[i]]);
      }
    }
  }

  std::vector<AgentInfo> new_agents(const std::set<std::string>& known) override {
    std::vector<AgentInfo> out;
    if (!transport::check_runtime_dir(dir_)) return {};
    for (const auto& s : transport::discover(dir_)) {
      std::string key = std::to_string(s.pid);
      if (known.count(key)) continue;
      AgentInfo a;
      a.key = key;
      a.pid = s.pid;
      out.push_back(std::move(a));
    }
    return out;
  }

 private:
  struct Asked {
    AgentInfo info;  // as its hello answered (as given, when the hello failed)
    std::unique_ptr<Conn> conn;
    std::optional<Result<Json>> answer;  // none: no answer within the time
    int64_t deadline = 0;
    bool patience_out = false;  // its deadline is the last one (kInstallPatience)
  };

  // Sends `message` to every agent on a connection of its own, then waits
  // for the answers together, until timeout_ms has passed for each; an
  // install's "installing" moves that agent's deadline on, and renews the
  // leases of the agents that installed (Link::install).
  std::vector<Asked> ask_all(const std::vector<AgentInfo>& agents, const Json& message, int64_t timeout_ms) {
    std::vector<Asked> asked;
    std::vector<pid_t> pids;
    for (const AgentInfo& a : agents) pids.push_back(a.pid);
    std::vector<Hello> hellos = hello_all(dir_, pids);
    for (size_t i = 0; i < agents.size(); ++i) {
      Hello& h = hellos[i];
      if (!*h.info) {
        asked.push_back({agents[i], nullptr, Result<Json>(h.info->error())});
        continue;
      }
      Asked q{std::move(**h.info), std::move(h.conn), std::nullopt};
      if (auto sent = write_message(q.conn->fd, message); !sent) q.answer = Result<Json>(sent.error());
      asked.push_back(std::move(q));
    }
    const int64_t start = steady_ms(), give_up = start + kInstallPatience * timeout_ms;
    for (Asked& q : asked) q.deadline = start + timeout_ms;
    for (;;) {
      std::vector<pollfd> fds;
      std::vector<Asked*> who;
      int64_t now = steady_ms(), wait = 1000;
      for (Asked& q : asked) {
        if (q.answer || q.deadline <= now) continue;
        fds.push_back({q.conn->fd, POLLIN, 0});
        who.push_back(&q);
        wait = std::min(wait, q.deadline - now);
      }
      if (fds.empty()) break;
      if (poll(fds.data(), fds.size(), static_cast<int>(wait)) <= 0) continue;
      bool progressed = false;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        Asked& q = *who[i];
        while (auto got = read_answer(*q.conn)) {
          if (!*got || (**got)["type"] != "installing") {
            q.answer = std::move(got);
            break;
          }
          q.deadline = std::min(steady_ms() + timeout_ms, give_up);
          q.patience_out = q.deadline == give_up;
          progressed = true;
        }
      }
      if (progressed) renew_installed(asked, message);
    }
    return asked;
  }

  // While one agent's install is waited for past the lease of another's.
  static void renew_installed(const std::vector<Asked>& asked, const Json& install) {
    Json renew = wire::message("renew");
    renew["ids"] = Json::array({install["id"]});
    for (const Asked& q : asked) {
      if (q.answer && *q.answer && (**q.answer)["type"] == "installed")
        (void)write_message(q.conn->fd, renew);
    }
  }

  void lose(const std::string& key, Conn& c, const std::string& why) {
    if (c.lost) return;
    c.lost = true;
    pending_.push_back({LinkEvent::kLost, key, why});
  }

  void read_from(const std::string& key, Conn& c) {
    char buf[65536];
    ssize_t r = recv(c.fd, buf, sizeof buf, 0);
    if (r <= 0) return lose(key, c, why_ended(r));
    c.reader.feed(buf, static_cast<size_t>(r));
    drain(key, c);
  }

  // The whole messages read so far, as events.
  void drain(const std::string& key, Conn& c) {
    std::string payload;
    for (;;) {
      auto got = c.reader.next(&payload);
      if (!got) return lose(key, c, got.error().message());
      if (!*got) return;
      pending_.push_back({LinkEvent::kMessage, key, std::move(payload)});
    }
  }

  std::string dir_;
  std::map<std::string, std::unique_ptr<Conn>> conns_;
  std::deque<LinkEvent> pending_;
};

}  // namespace

std::unique_ptr<Link> make_local_link(const std::string& runtime_dir) {
  return std::make_unique<LocalLink>(runtime_dir);
}

namespace {
std::atomic<NatsLinkFactory> g_nats_link_factory{nullptr};
}  // namespace

void set_nats_link_factory(NatsLinkFactory factory) noexcept {
  g_nats_link_factory.store(factory, std::memory_order_release);
}

Result<std::unique_ptr<Link>> make_link(const std::string& transport, const std::string& runtime_dir) {
  if (transport.empty() || transport == "local") return make_local_link(runtime_dir);
  if (transport::is_nats_url(transport)) {
    NatsLinkFactory make_nats = g_nats_link_factory.load(std::memory_order_acquire);
    if (make_nats == nullptr) return Error(transport::kNatsNotLinked);
    return make_nats(transport);
  }
  bool secret = transport.find('@') != std::string::npos;
  return Error("the transport must be local or nats://host:port (or tls://host:port), not '" +
               (secret ? std::string("<redacted>") : transport) + "'");
}

std::string str_field(const Json& m, const char* key) {
  auto it = m.find(key);
  return it != m.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t int_field(const Json& m, const char* key) {
  auto it = m.find(key);
  return it != m.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string install_timeout_error(int64_t timeout_ms, bool gave_up_progressing) {
  if (gave_up_progressing) {
    return "no answer to the install within " + std::to_string(kInstallPatience * timeout_ms / 1000) +
           " s, though it made progress";
  }
  return "no answer to the install, nor progress, for " + std::to_string(timeout_ms / 1000) + " s";
}

Result<AgentInfo> parse_info(const Json& m) {
  if (m["type"] != "info") {
    std::string why = str_field(m, "message");
    return Error(m["type"] == "error" ? (why.empty() ? "error" : why) : "unexpected reply to hello");
  }
  AgentInfo info;
  info.pid = static_cast<pid_t>(int_field(m, "pid"));
  info.key = str_field(m, "agent");
  if (info.key.empty()) info.key = std::to_string(info.pid);
  info.proc_name = str_field(m, "procName");
  info.host = str_field(m, "host");
  if (m.contains("catalog")) {
    auto c = wire::catalog_from_json(m["catalog"]);
    if (!c) return c.error();
    info.catalog = std::move(*c);
  }
  if (m.contains("queries") && m["queries"].is_array()) info.queries = m["queries"].size();
  if (auto t = m.find("transport"); t != m.end() && t->is_object()) info.transport = *t;
  return info;
}

}  // namespace pivot::frontend
