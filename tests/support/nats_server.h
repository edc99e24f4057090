// A real nats-server on 127.0.0.1 and a free port, for integration tests.
// The binary is looked up on PATH, then in /usr/sbin and /usr/bin (Debian's
// `nats-server` package; scripts/setup.sh installs it). When it is missing
// the test fails: the NATS transport is part of what CI must prove.
//
//   NatsServer nats({"--user", "pivot", "--pass", "secret"});
//   ASSERT_TRUE(nats.start()) << nats.error();
//   std::string url = nats.url("pivot:secret");   // nats://pivot:secret@127.0.0.1:PORT
//   nats.stop(); nats.start();                     // a restart keeps the port
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/subprocess.h"

namespace pivot::testing {

inline std::string find_nats_server() {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::string p = path;
    size_t start = 0;
    while (start <= p.size()) {
      size_t colon = p.find(':', start);
      dirs.push_back(p.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  dirs.push_back("/usr/sbin");
  dirs.push_back("/usr/bin");
  for (const auto& d : dirs) {
    std::string candidate = (d.empty() ? "." : d) + "/nats-server";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// A port nobody listens on right now (bound and released).
inline int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(a.sin_port);
}

inline bool port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

class NatsServer {
 public:
  explicit NatsServer(std::vector<std::string> extra_args = {}) : args_(std::move(extra_args)) {}
  ~NatsServer() { stop(); }

  // Starts (or restarts, on the same port) and waits until it accepts
  // connections.
  bool start() {
    binary_ = find_nats_server();
    if (binary_.empty()) {
      error_ = "nats-server not found on PATH, in /usr/sbin or /usr/bin; run scripts/setup.sh";
      return false;
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (port_ == 0) port_ = free_port();
      std::vector<std::string> argv = {binary_, "-a", "127.0.0.1", "-p", std::to_string(port_)};
      argv.insert(argv.end(), args_.begin(), args_.end());
      proc_ = std::make_unique<Subprocess>(argv);
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (std::chrono::steady_clock::now() < until) {
        if (port_open(port_)) return true;
        int status = 0;
        if (waitpid(proc_->pid(), &status, WNOHANG) == proc_->pid()) break;  // e.g. the port was taken
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      proc_.reset();
      if (!restarted_) port_ = 0;  // try another port; a restart must keep its port
    }
    error_ = "nats-server did not start on 127.0.0.1:" + std::to_string(port_);
    return false;
  }

  void stop() {
    if (!proc_) return;
    proc_->signal(SIGKILL);
    proc_->wait();
    proc_.reset();
    restarted_ = true;
  }

  // Chooses the port now, before start(), which will then keep it: for a
  // test that starts clients before the server.
  int pick_port() {
    if (port_ == 0) port_ = free_port();
    restarted_ = true;
    return port_;
  }
  int port() const { return port_; }
  std::string url(const std::string& credentials = "") const {
    return "nats://" + (credentials.empty() ? "" : credentials + "@") + "127.0.0.1:" + std::to_string(port_);
  }
  const std::string& error() const { return error_; }

 private:
  std::vector<std::string> args_;
  std::string binary_;
  std::string error_;
  int port_ = 0;
  bool restarted_ = false;
  std::unique_ptr<Subprocess> proc_;
};

}  // namespace pivot::testing
