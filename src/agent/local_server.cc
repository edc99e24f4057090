// The agent on the local transport: a unix socket in the runtime directory,
// one poll loop serving every connected frontend.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "agent/agent_core.h"
#include "agent/server.h"
#include "tracepoint/thread_state.h"
#include "transport/local.h"

namespace pivot::agent {
namespace {

constexpr size_t kMaxPendingOutput = 64u << 20;  // a frontend this far behind is dropped

struct Connection {
  int fd = -1;
  transport::FrameReader reader;
  std::string out;
  bool closing = false;  // close once `out` is written
};

class LocalServer final : public Server, ReportSink {
 public:
  explicit LocalServer(AgentOptions o) : options_(std::move(o)), core_(options_.interval_ms, this) {}
  ~LocalServer() override { shutdown(); }

  Status open() override {
    if (auto s = transport::ensure_runtime_dir(options_.runtime_dir); !s) return s;
    path_ = transport::socket_path(options_.runtime_dir, getpid());
    auto fd = transport::listen_unix(path_);
    if (!fd) return fd.error();
    listen_fd_ = *fd;
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
    close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
    unlink(path_.c_str());
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
      std::vector<pollfd> fds;
      fds.push_back({listen_fd_, POLLIN, 0});
      fds.push_back({wake_[0], POLLIN, 0});
      for (auto& [fd, c] : conns_)
        fds.push_back({fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
      int timeout = static_cast<int>(std::clamp<int64_t>(core_.next_deadline() - steady_ms(), 0, 1000));
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
      reap_closed();
    }
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
        send(c, AgentCore::error_message("", got.error().message()));
        c.closing = true;  // the stream cannot be resynchronized
        return;
      }
      if (!*got) return;
      if (auto answer = core_.handle({c.fd, ""}, payload)) send(c, *answer);
    }
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
  std::string path_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::map<int, Connection> conns_;
};

}  // namespace

std::unique_ptr<Server> make_local_server(const AgentOptions& options) {
  return std::make_unique<LocalServer>(options);
}

}  // namespace pivot::agent
