// The agent on the local transport: a unix socket in the runtime directory,
// one poll loop serving every connected frontend.
//
// The agent lives inside the application, so nothing a client does may cost
// the host unbounded memory or CPU. Every limit is counted and shows in the
// agent's hello answer ("transport" in `info`; `pivot ps` prints it):
//   - at most kMaxConnections connections; one more is told so and closed;
//   - a frame over transport::kMaxRequestFrame closes its connection, and
//     a reader gives back a large frame's memory once it is consumed;
//   - a connection that completes no message for the idle timeout
//     (PIVOT_AGENT_IDLE_MS, default 30 s) is closed, unless it owns a query
//     and has no partial frame (a frontend renews once per interval, and
//     intervals may be an hour);
//   - at most kMaxPendingOutput bytes wait for a frontend that does not read;
//   - when accept() fails for lack of descriptors (EMFILE, ENFILE) the agent
//     stops accepting for kAcceptBackoffMs instead of spinning on poll();
//   - a socket file that disappears (its directory removed, say) is made
//     again within a second, and that is said on stderr.
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

#include "agent/agent_core.h"
#include "agent/server.h"
#include "tracepoint/thread_state.h"
#include "transport/local.h"

namespace pivot::agent {
namespace {

constexpr size_t kMaxConnections = 32;
constexpr size_t kMaxPendingOutput = 16u << 20;  // a frontend this far behind is dropped
constexpr int64_t kDefaultIdleMs = 30'000;
constexpr int64_t kAcceptBackoffMs = 100;
constexpr int64_t kSocketCheckMs = 1000;
// After a buffer this large is freed, memory is handed back to the system
// (glibc keeps freed heap memory otherwise, and the host's RSS ratchets).
constexpr size_t kTrimAfterBytes = 256u << 10;

int64_t idle_ms_from_env() {
  const char* v = std::getenv("PIVOT_AGENT_IDLE_MS");
  if (v == nullptr || *v == '\0') return kDefaultIdleMs;
  char* end = nullptr;
  long long ms = std::strtoll(v, &end, 10);
  return end != v && *end == '\0' && ms >= 100 ? ms : kDefaultIdleMs;
}

// What the limits have done, for the hello answer.
struct Counters {
  uint64_t accepted = 0;
  uint64_t refused_connections = 0;  // over kMaxConnections
  uint64_t oversized_frames = 0;
  uint64_t idle_closed = 0;
  uint64_t output_overflows = 0;  // frontends dropped for not reading
  uint64_t accept_failures = 0;   // EMFILE, ENFILE, ...
  uint64_t relistened = 0;        // the socket file was made again
};

struct Connection {
  int fd = -1;
  transport::FrameReader reader{transport::kMaxRequestFrame};
  std::string out;
  bool closing = false;       // close once `out` is written
  bool write_failed = false;  // the frontend is gone; what it sent before may be unread
  int64_t last_message = 0;   // steady ms: accepted, or the last whole message
};

class LocalServer final : public Server, ReportSink {
 public:
  explicit LocalServer(AgentOptions o)
      : options_(std::move(o)), core_(options_.interval_ms, this), idle_ms_(idle_ms_from_env()) {}
  ~LocalServer() override { shutdown(); }

  Status open() override {
    if (auto s = transport::ensure_runtime_dir(options_.runtime_dir); !s) return s;
    path_ = transport::socket_path(options_.runtime_dir, getpid());
    if (auto s = listen(); !s) return s;
    if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) return Error("pipe failed");
    thread_ = std::thread([this] { run(); });
    return Status();
  }

  void shutdown() override {
    if (!thread_.joinable()) return;
    stop_.store(true);
    wake();
    thread_.join();
    core_.finish();
    for (auto& [fd, c] : conns_) {
      if (!c.out.empty()) (void)transport::write_all_for(fd, c.out, 500);
    }
    for (auto& [fd, c] : conns_) close(fd);
    conns_.clear();
    if (listen_fd_ >= 0) close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
    if (socket_is_ours()) unlink(path_.c_str());
  }

  void report(int64_t owner, const std::string&, Json message) override {
    auto c = conns_.find(static_cast<int>(owner));
    if (c != conns_.end()) send(c->second, message);
  }

  void answer(const From& to, Json message) override { report(to.owner, "", std::move(message)); }

  void wake() override {
    char c = 1;
    (void)!write(wake_[1], &c, 1);
  }

 private:
  void run() {
    internal::mark_tracer_thread();
    while (!stop_.load()) {
      int64_t now = steady_ms();
      bool accepting = listen_fd_ >= 0 && now >= accept_paused_until_;
      std::vector<pollfd> fds;
      fds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});  // -1: poll skips it
      fds.push_back({wake_[0], POLLIN, 0});
      for (auto& [fd, c] : conns_)
        fds.push_back({fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
      int64_t until = std::min(core_.next_deadline(), next_socket_check_);
      if (!accepting && listen_fd_ >= 0) until = std::min(until, accept_paused_until_);
      int timeout = static_cast<int>(std::clamp<int64_t>(until - now, 0, 1000));
      int n = poll(fds.data(), fds.size(), timeout);
      if (n < 0 && errno != EINTR) break;
      if (n > 0) {
        if (fds[0].revents & POLLIN) accept_all();
        if (fds[1].revents & POLLIN) {  // woken: tick() below has work
          char buf[64];
          while (read(wake_[0], buf, sizeof buf) > 0) {
          }
        }
        for (size_t i = 2; i < fds.size(); ++i) {
          if (fds[i].revents == 0) continue;
          auto it = conns_.find(fds[i].fd);
          if (it == conns_.end()) continue;
          if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) read_from(it->second);
          if (fds[i].revents & POLLOUT) flush_out(it->second);
        }
        reap_closed();
      }
      core_.tick();
      close_idle();
      reap_closed();
      if (steady_ms() >= next_socket_check_) check_socket();
      if (trim_) {
        trim_ = false;
        malloc_trim(0);
      }
    }
  }

  Status listen() {
    auto fd = transport::listen_unix(path_);
    if (!fd) return fd.error();
    struct stat st;
    if (stat(path_.c_str(), &st) == 0) {
      socket_dev_ = st.st_dev;
      socket_ino_ = st.st_ino;
    }
    listen_fd_ = *fd;
    next_socket_check_ = steady_ms() + kSocketCheckMs;
    return Status();
  }

  bool socket_is_ours() const {
    struct stat st;
    return lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == socket_dev_ &&
           st.st_ino == socket_ino_;
  }

  // Frontends find the agent by its socket file: if that is gone (the
  // runtime directory was removed, say), the agent listens again.
  void check_socket() {
    next_socket_check_ = steady_ms() + kSocketCheckMs;
    if (listen_fd_ >= 0 && socket_is_ours()) return;
    if (listen_fd_ >= 0) {
      close(listen_fd_);
      listen_fd_ = -1;
    }
    Status s = transport::ensure_runtime_dir(options_.runtime_dir);
    if (s) s = listen();
    if (s) {
      ++counters_.relistened;
      relisten_error_.clear();
      std::fprintf(stderr, "pivot agent: the socket %s had disappeared; listening on it again\n",
                   path_.c_str());
    } else if (s.error().message() != relisten_error_) {  // said once, retried every second
      relisten_error_ = s.error().message();
      std::fprintf(stderr,
                   "pivot agent: the socket %s has disappeared and cannot be made again: %s; "
                   "retrying every second\n",
                   path_.c_str(), relisten_error_.c_str());
    }
  }

  void accept_all() {
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN) return;
        // Out of descriptors or memory: the connection stays in the backlog
        // and poll() would report it again at once. Wait instead.
        ++counters_.accept_failures;
        accept_paused_until_ = steady_ms() + kAcceptBackoffMs;
        return;
      }
      int64_t uid = transport::peer_uid(fd);
      if (uid != static_cast<int64_t>(getuid()) && uid != 0) {
        close(fd);  // only the same user (or root) may query this process
        continue;
      }
      if (conns_.size() >= kMaxConnections) {
        ++counters_.refused_connections;
        std::string refusal = transport::frame(wire::encode(
            AgentCore::error_message("", "too many connections to this agent (at most " +
                                             std::to_string(kMaxConnections) + "); try again later")));
        (void)!::send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        close(fd);
        continue;
      }
      ++counters_.accepted;
      Connection& c = conns_[fd];
      c.fd = fd;
      c.last_message = steady_ms();
    }
  }

  void read_from(Connection& c) {
    char buf[65536];
    // Frames are taken out after every read, so a connection never holds
    // more than one frame's worth, however fast it sends.
    for (int reads = 0; reads < 16 && !c.closing; ++reads) {
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.reader.feed(buf, static_cast<size_t>(n));
        take_frames(c);
        if (static_cast<size_t>(n) < sizeof buf) break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      c.closing = true;  // closed by the frontend, or an error
      c.out.clear();
      return;
    }
  }

  void take_frames(Connection& c) {
    std::string payload;
    for (;;) {
      size_t held = c.reader.capacity();
      auto got = c.reader.next(&payload);
      if (!got) {
        ++counters_.oversized_frames;
        send(c, AgentCore::error_message("", got.error().message()));
        c.closing = true;  // the stream cannot be resynchronized
        return;
      }
      if (held >= kTrimAfterBytes && c.reader.capacity() < held) trim_ = true;
      if (!*got) return;
      c.last_message = steady_ms();
      auto answer = core_.handle({c.fd, ""}, payload);
      if (payload.capacity() >= kTrimAfterBytes) {
        std::string().swap(payload);
        trim_ = true;
      }
      if (!answer) continue;
      if ((*answer)["type"] == "info") (*answer)["transport"] = transport_info();
      send(c, *answer);
    }
  }

  Json transport_info() const {
    return Json{{"connections", conns_.size()},
                {"max_connections", kMaxConnections},
                {"max_frame", transport::kMaxRequestFrame},
                {"idle_ms", idle_ms_},
                {"accepted", counters_.accepted},
                {"refused_connections", counters_.refused_connections},
                {"oversized_frames", counters_.oversized_frames},
                {"idle_closed", counters_.idle_closed},
                {"output_overflows", counters_.output_overflows},
                {"accept_failures", counters_.accept_failures},
                {"relistened", counters_.relistened}};
  }

  void close_idle() {
    int64_t now = steady_ms();
    for (auto& [fd, c] : conns_) {
      if (c.closing || now - c.last_message < idle_ms_) continue;
      if (c.reader.buffered() == 0 && core_.owns_queries(fd)) continue;
      ++counters_.idle_closed;
      c.closing = true;
      c.out.clear();
    }
  }

  void send(Connection& c, const Json& m) {
    if (c.closing && c.out.empty()) return;
    c.out += transport::frame(wire::encode(m));
    if (c.out.size() > kMaxPendingOutput) {
      ++counters_.output_overflows;
      std::string().swap(c.out);
      trim_ = true;
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
      c.write_failed = true;
      return;
    }
  }

  // What a frontend sent before it went is still queued on the socket when
  // a write to it fails first (a report crossing its last messages): a
  // frontend that ends writes `uninstall` and closes at once, and unread,
  // that uninstall would be lost and the advice left to its lease. Handle
  // those messages; answers to them go nowhere (send() drops them).
  void take_unread(Connection& c) {
    char buf[65536];
    for (int reads = 0; reads < 16; ++reads) {
      ssize_t n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) return;
      c.reader.feed(buf, static_cast<size_t>(n));
      take_frames(c);
    }
  }

  void reap_closed() {
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (it->second.closing && it->second.out.empty()) {
        if (it->second.write_failed) take_unread(it->second);
        if (it->second.reader.capacity() >= kTrimAfterBytes) trim_ = true;
        core_.forget_owner(it->first);  // the lease decides when the advice goes
        close(it->first);
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }

  AgentOptions options_;
  AgentCore core_;
  const int64_t idle_ms_;
  std::string path_;
  dev_t socket_dev_ = 0;
  ino_t socket_ino_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int64_t accept_paused_until_ = 0;
  int64_t next_socket_check_ = 0;
  std::string relisten_error_;
  Counters counters_;
  bool trim_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::map<int, Connection> conns_;
};

}  // namespace

std::unique_ptr<Server> make_local_server(const AgentOptions& options) {
  return std::make_unique<LocalServer>(options);
}

}  // namespace pivot::agent
