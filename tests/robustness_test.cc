// Bounded cost on the local transport, seen from the `pivot` CLI (issue
// #13): agents that cannot accept or never answer cost one timeout in all,
// and the runtime directory is treated like ~/.ssh. These are the local
// transport's own (unix sockets, a directory of them); the faults both
// transports have are in fault_test.cc. Real agent processes, real
// sockets. Timings are bounds ("ends within 5 s"), never measurements.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <chrono>
#include <fstream>

#include "support/cli_harness.h"

namespace {

using pivot::testing::CliHarness;
using pivot::testing::kAgentApp;
using pivot::testing::Subprocess;
using pivot::testing::Transport;
using Clock = std::chrono::steady_clock;

const char* kCount = "From r In App.request Select COUNT";

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// A unix socket at `path` that listens and never accepts: an agent that
// hangs. With a backlog of 0 and `fill` connections queued, a further
// connect cannot complete at all.
struct SilentSocket {
  int fd = -1;
  std::vector<int> queued;
  SilentSocket(const std::string& path, int backlog, bool fill) {
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << path;
    EXPECT_EQ(listen(fd, backlog), 0);
    while (fill) {
      int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(c);
        break;
      }
      queued.push_back(c);
    }
  }
  ~SilentSocket() {
    for (int c : queued) close(c);
    close(fd);
  }
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

class RobustnessTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(h_.start()) << h_.error(); }

  Subprocess& app(const std::string& name) { return h_.app("h", name); }
  std::unique_ptr<Subprocess> pivot(std::vector<std::string> args) { return h_.pivot(std::move(args)); }
  // Processes that exist and have no agent: pids for fake sockets.
  pid_t idle_pid() {
    idle_.push_back(std::make_unique<Subprocess>(std::vector<std::string>{"/bin/sleep", "60"}));
    return idle_.back()->pid();
  }

  CliHarness h_{Transport::kLocal};
  const std::string& dir_ = h_.dir();
  std::vector<std::unique_ptr<Subprocess>> idle_;
};

// Agents that cannot accept (a full backlog) or never answer cost `pivot
// ps` and `pivot query` one hello timeout in all, not one each, and never
// hang them.
TEST_F(RobustnessTest, SilentSocketsCostOneTimeoutInAll) {
  app("alpha");
  std::vector<std::unique_ptr<SilentSocket>> silent;
  for (int i = 0; i < 8; ++i) {
    silent.push_back(
        std::make_unique<SilentSocket>(dir_ + "/" + std::to_string(idle_pid()) + ".sock", 16, false));
  }
  silent.push_back(
      std::make_unique<SilentSocket>(dir_ + "/" + std::to_string(idle_pid()) + ".sock", 0, true));

  auto t0 = Clock::now();
  auto ps = pivot({"ps"});
  auto st = ps->wait_for(10000);
  ASSERT_TRUE(st.has_value()) << "pivot ps still running after 10 s";
  EXPECT_LT(ms_since(t0), 6000);
  auto out = ps->rest();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NE(out[1].find("alpha"), std::string::npos);
  auto err = ps->rest_err();
  ASSERT_EQ(err.size(), 9u);
  EXPECT_NE(err[0].find("no answer to hello within 2000 ms"), std::string::npos) << err[0];
  EXPECT_NE(err[8].find("cannot connect within 2000 ms: the agent is not accepting connections"),
            std::string::npos)
      << err[8];

  t0 = Clock::now();
  auto q = pivot({"query", "--format", "json", "--interval", "100", "--duration", "2", kCount});
  st = q->wait_for(20000);
  ASSERT_TRUE(st.has_value()) << "pivot query still running after 20 s";
  EXPECT_LT(ms_since(t0), 12000);
  EXPECT_EQ(WEXITSTATUS(*st), 0);
}

// An existing runtime directory open to others is refused, never chmod'ed
// (PIVOT_RUNTIME_DIR=/tmp must not lock other users out of /tmp).
TEST_F(RobustnessTest, OpenRuntimeDirIsRefusedNotChanged) {
  ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  Subprocess a({kAgentApp}, {"PIVOT_RUNTIME_DIR=" + dir_});
  auto st = a.wait_for(5000);
  ASSERT_TRUE(st.has_value()) << "the agent runs in a directory open to others";
  EXPECT_EQ(WEXITSTATUS(*st), 1);
  auto err = a.rest_err();
  ASSERT_EQ(err.size(), 1u);
  EXPECT_EQ(err[0], "agent_app: refusing the runtime directory " + dir_ +
                        ": group or others may use it (mode 0755); set PIVOT_RUNTIME_DIR to a directory only "
                        "you can use (pivot creates it, mode 0700, if it does not exist)");
  EXPECT_EQ(mode_of(dir_), 0755u);
  // The frontend refuses it too, rather than talk to whatever is there.
  auto ps = pivot({"ps"});
  auto ps_err = ps->rest_err();
  ASSERT_FALSE(ps_err.empty());
  EXPECT_NE(ps_err[0].find("refusing the runtime directory"), std::string::npos) << ps_err[0];
  // A missing one is made, mode 0700.
  ASSERT_EQ(rmdir(dir_.c_str()), 0);
  app("alpha");
  EXPECT_EQ(mode_of(dir_), 0700u);
}

// `pivot ps` removes stale sockets (their process is gone), but only
// sockets, and only the user's.
TEST_F(RobustnessTest, PsRemovesOnlyOwnStaleSockets) {
  app("alpha");
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  pid_t dead2 = fork();
  if (dead2 == 0) _exit(0);
  waitpid(dead2, nullptr, 0);
  const std::string file = dir_ + "/" + std::to_string(dead) + ".sock";
  std::ofstream(file) << "not a socket";
  const std::string stale = dir_ + "/" + std::to_string(dead2) + ".sock";
  { SilentSocket s(stale, 1, false); }  // closed: a stale socket file stays
  ASSERT_EQ(access(stale.c_str(), F_OK), 0);
  auto ps = pivot({"ps"});
  EXPECT_EQ(ps->rest().size(), 2u);
  EXPECT_EQ(access(file.c_str(), F_OK), 0) << "a regular file was removed";
  EXPECT_NE(access(stale.c_str(), F_OK), 0) << "the stale socket was kept";
  if (geteuid() == 0) {  // root can make a socket of someone else's
    { SilentSocket s(stale, 1, false); }
    ASSERT_EQ(lchown(stale.c_str(), 4242, 4242), 0);
    auto again = pivot({"ps"});
    again->rest();
    EXPECT_EQ(access(stale.c_str(), F_OK), 0) << "another user's socket was removed";
  }
}

// An agent whose socket disappears (its directory removed) listens again
// within a second or so, and says so on stderr.
TEST_F(RobustnessTest, AgentListensAgainWhenItsSocketIsRemoved) {
  Subprocess& a = app("alpha");
  std::string cmd = "rm -rf '" + dir_ + "'";
  ASSERT_EQ(system(cmd.c_str()), 0);
  auto line = a.err_line(5000);
  ASSERT_TRUE(line.has_value()) << "nothing said within 5 s";
  EXPECT_EQ(*line, "pivot agent: the socket " + dir_ + "/" + std::to_string(a.pid()) +
                       ".sock had disappeared; listening on it again");
  EXPECT_EQ(mode_of(dir_), 0700u);
  EXPECT_EQ(h_.queries_per_agent(), std::vector<int>{0});
}

}  // namespace
