// The frontend's side of the local transport: one unix socket connection per
// agent that has the query; discovery by listing the runtime directory.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <map>
#include <optional>

#include "core/clock.h"
#include "frontend/link.h"
#include "transport/local.h"
#include "transport/nats.h"

namespace pivot::frontend {
namespace {

using internal::steady_ms;
using wire::Json;

constexpr int kHelloTimeoutMs = 2000;

struct Conn {
  int fd = -1;
  transport::FrameReader reader;
  bool lost = false;
  ~Conn() {
    if (fd >= 0) close(fd);
  }
};

Result<Json> ask(Conn& c, const Json& m) {
  if (auto sent = transport::write_frame(c.fd, m.dump()); !sent) return sent.error();
  auto reply = transport::read_frame(c.fd, c.reader, kHelloTimeoutMs);
  if (!reply) return reply.error();
  return wire::parse_message(*reply);
}

class LocalLink final : public Link {
 public:
  explicit LocalLink(std::string dir) : dir_(std::move(dir)) {}

  std::string where() const override {
    return "in " + dir_ + " (is PIVOT_RUNTIME_DIR the same as the processes'?)";
  }

  std::vector<AgentInfo> discover(std::vector<std::string>* notes) override {
    std::vector<AgentInfo> out;
    for (const auto& s : transport::discover(dir_)) {
      auto info = hello(s.pid, nullptr);
      if (!info) {
        if (notes) notes->push_back("agent " + std::to_string(s.pid) + ": " + info.error().message());
        continue;
      }
      out.push_back(std::move(*info));
    }
    return out;
  }

  Status begin(const std::string&) override { return Status(); }

  std::vector<Installed> install(const std::vector<AgentInfo>& agents, const Json& message, bool) override {
    // Every agent is asked first, then the answers are awaited together:
    // one slow install (symbol tables, patching) must not hold up the
    // others, nor let their leases lapse before the first renewal.
    struct Asked {
      AgentInfo info;
      std::unique_ptr<Conn> conn;
      std::optional<Result<Json>> answer;
    };
    std::vector<Asked> asked;
    const std::string payload = message.dump();
    for (const AgentInfo& a : agents) {
      auto conn = std::make_unique<Conn>();
      auto info = hello(a.pid, conn.get());
      if (!info) {
        asked.push_back({a, nullptr, Result<Json>(info.error())});
        continue;
      }
      Asked q{std::move(*info), std::move(conn), std::nullopt};
      if (auto sent = transport::write_frame(q.conn->fd, payload); !sent)
        q.answer = Result<Json>(sent.error());
      asked.push_back(std::move(q));
    }
    int64_t deadline = steady_ms() + kInstallTimeoutMs;
    for (;;) {
      std::vector<pollfd> fds;
      std::vector<Asked*> who;
      for (Asked& q : asked) {
        if (q.answer) continue;
        fds.push_back({q.conn->fd, POLLIN, 0});
        who.push_back(&q);
      }
      int64_t wait = deadline - steady_ms();
      if (fds.empty() || wait <= 0) break;
      if (poll(fds.data(), fds.size(), static_cast<int>(wait)) <= 0) continue;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents != 0) who[i]->answer = read_answer(*who[i]->conn);
      }
    }
    std::vector<Installed> out;
    for (Asked& q : asked) {
      bool timed_out = !q.answer;
      if (timed_out) {
        // It may finish later: it then reads this and drops the query.
        Json uninstall = wire::message("uninstall");
        uninstall["id"] = message["id"];
        (void)transport::write_frame(q.conn->fd, uninstall.dump());
        q.answer = Result<Json>(
            Error("no answer to the install within " + std::to_string(kInstallTimeoutMs / 1000) + " s"));
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

  void send(const std::string& key, const Json& message) override {
    auto it = conns_.find(key);
    if (it == conns_.end() || it->second->lost) return;
    if (!transport::write_frame(it->second->fd, message.dump())) lose(key, *it->second, "write failed");
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
  // Connects (keeping the connection in *keep, when given) and says hello.
  Result<AgentInfo> hello(pid_t pid, Conn* keep) {
    Conn temp;
    Conn& c = keep ? *keep : temp;
    auto fd = transport::connect_unix(transport::socket_path(dir_, pid));
    if (!fd) return fd.error();
    c.fd = *fd;
    auto m = ask(c, wire::message("hello"));
    if (!m) return m.error();
    auto info = parse_info(*m);
    if (!info) return info.error();
    info->key = std::to_string(pid);
    return info;
  }

  // Reads what is there; the answer once a whole message has come.
  static std::optional<Result<Json>> read_answer(Conn& c) {
    char buf[65536];
    ssize_t r = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return std::nullopt;
    if (r <= 0) return Result<Json>(Error(r == 0 ? "connection closed" : "read error"));
    c.reader.feed(buf, static_cast<size_t>(r));
    std::string payload;
    auto got = c.reader.next(&payload);
    if (!got) return Result<Json>(got.error());
    if (!*got) return std::nullopt;
    return wire::parse_message(payload);
  }

  void lose(const std::string& key, Conn& c, const std::string& why) {
    if (c.lost) return;
    c.lost = true;
    pending_.push_back({LinkEvent::kLost, key, why});
  }

  void read_from(const std::string& key, Conn& c) {
    char buf[65536];
    ssize_t r = recv(c.fd, buf, sizeof buf, 0);
    if (r <= 0) return lose(key, c, r == 0 ? "connection closed" : "read error");
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

Result<std::unique_ptr<Link>> make_link(const std::string& transport, const std::string& runtime_dir) {
  if (transport.empty() || transport == "local") return make_local_link(runtime_dir);
  if (transport::is_nats_url(transport)) return make_nats_link(transport);
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

bool bool_field(const Json& m, const char* key) {
  auto it = m.find(key);
  return it != m.end() && it->is_boolean() && it->get<bool>();
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
  return info;
}

}  // namespace pivot::frontend
