// The local link's install against agents on real unix sockets, played by
// this test: an install queued behind others says "installing" while it
// waits, and is waited for as long as it does.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "frontend/link.h"
#include "transport/local.h"

extern char** environ;

namespace pivot::frontend {
namespace {

using internal::steady_ms;
using wire::Json;

// An agent at <dir>/<pid>.sock that answers a hello, and an install after
// `steps` "installing" messages `step_ms` apart (or never, if !answers).
// It keeps every message it is sent.
class FakeAgent {
 public:
  FakeAgent(const std::string& dir, pid_t pid, int steps, bool answers, int64_t step_ms = 400)
      : pid_(pid), steps_(steps), answers_(answers), step_ms_(step_ms) {
    auto fd = transport::listen_unix(transport::socket_path(dir, pid));
    EXPECT_TRUE(fd) << fd.error().message();
    listen_fd_ = fd ? *fd : -1;
    thread_ = std::thread([this] { run(); });
  }
  ~FakeAgent() {
    stop_ = true;
    thread_.join();
    for (auto& [fd, c] : conns_) close(fd);
    if (listen_fd_ >= 0) close(listen_fd_);
  }

  // How many messages of `type` it was sent, waiting up to 5 s for `n`.
  int count(const std::string& type, int n) {
    int64_t deadline = steady_ms() + 5000;
    for (;;) {
      int got = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const Json& m : received_) got += m["type"] == type;
      }
      if (got >= n || steady_ms() > deadline) return got;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  Json first(const std::string& type) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Json& m : received_) {
      if (m["type"] == type) return m;
    }
    return Json();
  }

 private:
  struct Conn {
    transport::FrameReader reader{transport::kMaxRequestFrame};
    std::string id;  // the install being answered
    int steps_left = 0;
    int64_t next_step = 0;  // 0: nothing to send
  };

  // False once the frontend has closed the connection (it gave up).
  bool send(int fd, const Json& m) {
    std::string f = transport::frame(wire::encode(m));
    return ::send(fd, f.data(), f.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(f.size());
  }

  void take(int fd, Conn& c, const Json& m) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back(m);
    }
    if (m["type"] == "hello") {
      Json info = wire::message("info");
      info["pid"] = pid_;
      info["procName"] = "fake";
      info["host"] = "h";
      send(fd, info);
    } else if (m["type"] == "install") {
      c.id = m["id"];
      c.steps_left = steps_;
      c.next_step = steady_ms() + (steps_ > 0 ? step_ms_ : 0);
    }
  }

  // Sends what is due on the connection: the next "installing", or the answer.
  void step(int fd, Conn& c) {
    if (c.next_step == 0 || steady_ms() < c.next_step) return;
    if (c.steps_left > 0) {
      Json m = wire::message("installing");
      m["id"] = c.id;
      c.next_step = send(fd, m) && (--c.steps_left > 0 || answers_) ? steady_ms() + step_ms_ : 0;
      return;
    }
    c.next_step = 0;
    if (!answers_) return;
    Json ok = wire::message("installed");
    ok["id"] = c.id;
    send(fd, ok);
  }

  void run() {
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (auto& [fd, c] : conns_) fds.push_back({fd, POLLIN, 0});
      poll(fds.data(), fds.size(), 10);
      if (fds[0].revents & POLLIN) {
        int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd >= 0) conns_[fd];
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        Conn& c = conns_[fds[i].fd];
        if (fds[i].revents & POLLIN) {
          char buf[4096];
          ssize_t r = recv(fds[i].fd, buf, sizeof buf, MSG_DONTWAIT);
          if (r > 0) c.reader.feed(buf, static_cast<size_t>(r));
          std::string payload;
          while (true) {
            auto got = c.reader.next(&payload);
            if (!got || !*got) break;
            auto m = wire::parse_message(payload);
            ASSERT_TRUE(m) << m.error().message();
            take(fds[i].fd, c, *m);
          }
        }
        step(fds[i].fd, c);
      }
    }
  }

  pid_t pid_;
  int steps_;
  bool answers_;
  int64_t step_ms_;
  int listen_fd_ = -1;
  std::map<int, Conn> conns_;  // the agent's thread's
  std::mutex mu_;
  std::vector<Json> received_;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts after the members it uses
};

// A runtime directory, and a second live process whose pid names the second
// agent's socket (discovery keeps only sockets of processes that exist).
class LocalLinkInstall : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pivot-link-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    char sleep_arg[] = "sleep", secs[] = "60";
    char* argv[] = {sleep_arg, secs, nullptr};
    ASSERT_EQ(posix_spawnp(&other_pid_, "sleep", nullptr, nullptr, argv, environ), 0);
  }
  void TearDown() override {
    if (other_pid_ > 0) {
      kill(other_pid_, SIGKILL);
      waitpid(other_pid_, nullptr, 0);
    }
    ASSERT_EQ(std::system(("rm -rf '" + dir_ + "'").c_str()), 0);
  }

  // Installs query ab12 on the two agents; *took: how long it waited.
  std::vector<Link::Installed> install_on_both(int64_t* took, int64_t timeout_ms = 1000) {
    auto link = make_local_link(dir_);
    auto agents = link->discover(nullptr);
    EXPECT_EQ(agents.size(), 2u);
    Json m = wire::message("install");
    m["id"] = "ab12";
    m["text"] = "From w In Work.done Select COUNT";
    int64_t t0 = steady_ms();
    auto results = link->install(agents, m, true, timeout_ms);
    *took = steady_ms() - t0;
    return results;
  }

  std::string dir_;
  pid_t other_pid_ = -1;
};

TEST_F(LocalLinkInstall, AnAgentThatMakesProgressIsWaitedForPastTheTimeout) {
  FakeAgent quick(dir_, getpid(), 0, true);
  FakeAgent queued(dir_, other_pid_, 4, true);  // 4 x 400 ms, then the answer: 2 s
  int64_t took = 0;
  auto results = install_on_both(&took);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    ASSERT_TRUE(r.answer) << r.info.key << ": " << r.answer.error().message();
    EXPECT_EQ((*r.answer)["type"], "installed") << r.info.key;
    EXPECT_FALSE(r.timed_out);
  }
  EXPECT_GE(took, 2000);
  EXPECT_EQ(quick.first("install")["progress"], true);
  EXPECT_EQ(queued.first("install")["progress"], true);
  // Each "installing" renewed the lease of the agent that had installed.
  EXPECT_EQ(quick.count("renew", 4), 4);
  EXPECT_EQ(quick.first("renew")["ids"], Json::array({"ab12"}));
  EXPECT_EQ(queued.count("renew", 0), 0);
}

TEST_F(LocalLinkInstall, AnAgentThatStopsMakingProgressTimesOut) {
  FakeAgent quick(dir_, getpid(), 0, true);
  FakeAgent stuck(dir_, other_pid_, 1, false);  // one "installing" at 400 ms, then nothing
  int64_t took = 0;
  auto results = install_on_both(&took);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    if (r.info.pid == getpid()) {
      ASSERT_TRUE(r.answer) << r.answer.error().message();
      EXPECT_EQ((*r.answer)["type"], "installed");
      EXPECT_FALSE(r.timed_out);
      continue;
    }
    EXPECT_TRUE(r.timed_out);
    ASSERT_FALSE(r.answer);
    EXPECT_EQ(r.answer.error().message(), "no answer to the install, nor progress, for 1 s");
  }
  EXPECT_GE(took, 1400);  // 400 ms to the progress, then the whole timeout
  EXPECT_EQ(stuck.count("uninstall", 1), 1);
  EXPECT_EQ(stuck.first("uninstall")["id"], "ab12");
  EXPECT_EQ(quick.count("renew", 1), 1);
}

// An agent that makes progress forever (an installer that loops) is given
// up after kInstallPatience timeouts.
TEST_F(LocalLinkInstall, AnAgentThatNeverFinishesIsGivenUpAtLast) {
  FakeAgent quick(dir_, getpid(), 0, true);
  FakeAgent looping(dir_, other_pid_, 1'000'000, false, 100);  // "installing" every 100 ms
  int64_t took = 0;
  auto results = install_on_both(&took, 500);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    if (r.info.pid == getpid()) continue;
    EXPECT_TRUE(r.timed_out);
    ASSERT_FALSE(r.answer);
    EXPECT_EQ(r.answer.error().message(), "no answer to the install within 6 s, though it made progress");
  }
  EXPECT_GE(took, kInstallPatience * 500);
  EXPECT_EQ(looping.count("uninstall", 1), 1);
}

}  // namespace
}  // namespace pivot::frontend
