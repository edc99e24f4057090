// Bounded cost, seen from the `pivot` CLI (issue #13): nothing waits
// forever, nothing crashes on bad input, the runtime directory is treated
// like ~/.ssh, and gaps are said, not hidden. Real agent processes, real
// sockets. Timings are bounds ("ends within 5 s"), never measurements.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/subprocess.h"

namespace {

using pivot::testing::Subprocess;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kBin = PIVOT_BINARY_DIR;
const std::string kPivot = kBin + "/tools/pivot";
const std::string kApp = kBin + "/tests/agent_app";
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
  void SetUp() override {
    dir_ = "/tmp/pivot-robust-test-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(system(cmd.c_str()), 0);
  }
  void TearDown() override {
    apps_.clear();
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!system(cmd.c_str());
  }

  Subprocess& app(const std::string& name, int interval_ms = 100) {
    apps_.push_back(std::make_unique<Subprocess>(
        std::vector<std::string>{kApp},
        std::vector<std::string>{"PIVOT_RUNTIME_DIR=" + dir_, "PIVOT_HOST=h", "PIVOT_PROCNAME=" + name,
                                 "PIVOT_INTERVAL_MS=" + std::to_string(interval_ms)}));
    EXPECT_EQ(apps_.back()->line().value_or("<none>"), "ready");
    return *apps_.back();
  }
  std::unique_ptr<Subprocess> pivot(std::vector<std::string> args) {
    args.insert(args.begin(), {kPivot, "--runtime-dir", dir_});
    return std::make_unique<Subprocess>(args);
  }
  // The QUERIES column of `pivot ps` for its one agent.
  std::string queries_of_the_agent() {
    auto ps = pivot({"ps"});
    auto out = ps->rest();
    EXPECT_EQ(out.size(), 2u);
    return out.size() == 2 ? out[1].substr(out[1].size() - 1) : "?";
  }
  // Processes that exist and have no agent: pids for fake sockets.
  pid_t idle_pid() {
    idle_.push_back(std::make_unique<Subprocess>(std::vector<std::string>{"/bin/sleep", "60"}));
    return idle_.back()->pid();
  }

  std::string dir_;
  std::vector<std::unique_ptr<Subprocess>> apps_;
  std::vector<std::unique_ptr<Subprocess>> idle_;
};

// --duration ends the query at its deadline, even inside an hour-long
// interval (it used to be checked only between intervals).
TEST_F(RobustnessTest, DurationEndsInsideALongInterval) {
  app("alpha");
  auto t0 = Clock::now();
  auto q = pivot({"query", "--format", "json", "--interval", "3600000", "--duration", "2", kCount});
  auto st = q->wait_for(8000);
  ASSERT_TRUE(st.has_value()) << "still running after 8 s";
  EXPECT_LT(ms_since(t0), 6000);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0);
  auto lines = q->rest();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(Json::parse(lines.back())["final"], true);
}

// A string literal that is not UTF-8 is a clear error with line:column in
// both explain and query, never an abort (uncaught JSON type_error.316).
TEST_F(RobustnessTest, InvalidUtf8InAStringLiteralIsAnError) {
  app("alpha");
  const std::string text = "From r In App.request\nWhere r.host == \"a\xff\" Select COUNT";
  const std::string message =
      "pivot: 2:19: invalid UTF-8 byte '\\xff' in string literal; use \\uXXXX for a character";
  for (const std::string cmd : {"explain", "query"}) {
    auto p = pivot({cmd, text});
    auto err = p->rest_err();
    int st = p->wait();
    ASSERT_TRUE(WIFEXITED(st)) << cmd << " died of signal " << WTERMSIG(st);
    EXPECT_NE(WEXITSTATUS(st), 0) << cmd;
    ASSERT_FALSE(err.empty()) << cmd;
    EXPECT_EQ(err[0], message) << cmd;
  }
}

// `pivot query | head -1`: the reader goes away; pivot must not die of
// SIGPIPE with its query left installed until the lease ends (10 s and
// more by default), but uninstall it and exit non-zero.
TEST_F(RobustnessTest, ClosedStdoutUninstallsTheQuery) {
  app("alpha");
  auto q = pivot({"query", "--format", "json", "--interval", "100", kCount});
  ASSERT_TRUE(q->line().has_value());
  q->close_stdout();
  auto st = q->wait_for(5000);
  ASSERT_TRUE(st.has_value()) << "pivot did not stop within 5 s of its stdout closing";
  ASSERT_TRUE(WIFEXITED(*st)) << "killed by signal " << WTERMSIG(*st);
  EXPECT_EQ(WEXITSTATUS(*st), 1);
  EXPECT_EQ(queries_of_the_agent(), "0");
  auto err = q->rest_err();
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err.back(),
            "pivot: cannot write the results (is stdout closed?); stopped, and the query is uninstalled");
}

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

// An agent stopped mid-query (SIGSTOP) is reported silent within two
// intervals (at least 2 s), and heard from again when it runs;
// the JSON lines carry the events and the last one says it is final.
TEST_F(RobustnessTest, StoppedAgentIsReportedSilentAndJsonSaysSo) {
  Subprocess& a = app("alpha");
  app("beta");
  auto q = pivot({"query", "--format", "json", "--interval", "200", kCount});
  ASSERT_TRUE(q->wait_err("query installed"));
  usleep(500'000);
  a.signal(SIGSTOP);
  auto stopped = Clock::now();
  ASSERT_TRUE(q->wait_err("is silent", 5000));
  EXPECT_LT(ms_since(stopped), 4000);
  a.signal(SIGCONT);
  ASSERT_TRUE(q->wait_err("is heard from again", 5000));
  q->signal(SIGINT);
  auto lines = q->rest();
  ASSERT_GE(lines.size(), 2u);
  int silent_events = 0, finals = 0;
  for (const auto& l : lines) {
    Json j = Json::parse(l);
    ASSERT_TRUE(j.contains("lost") && j.contains("events") && j.contains("final")) << l;
    EXPECT_EQ(j["lost"], 0) << l;
    finals += j["final"].get<bool>();
    for (const auto& e : j["events"])
      silent_events += e.get<std::string>().find(" is silent: ") != std::string::npos;
  }
  EXPECT_EQ(silent_events, 1);
  EXPECT_EQ(finals, 1);
  EXPECT_EQ(Json::parse(lines.back())["final"], true);
  EXPECT_EQ(Json::parse(lines.back())["agents"], 2);
}

// As docs/query-language.md says: division and remainder by zero give
// null (which aggregates skip); a SUM of integers that passes 64 bits
// becomes a double, and the result is marked "overflow".
TEST_F(RobustnessTest, DivisionByZeroIsNullAndOverflowIsMarked) {
  Subprocess& a = app("alpha");
  auto q = pivot({"query", "--format", "json", "--interval", "100",
                  "From r In App.request Select SUM(r.bytes * 500000000000000000), SUM(r.bytes / 0), "
                  "COUNT(r.bytes % 0), COUNT"});
  ASSERT_TRUE(q->wait_err("query installed"));
  a.write("fire 6\n");  // bytes 1..6: the products fit, their sum (21 * 5e17) does not
  ASSERT_EQ(a.line().value_or("<none>"), "ok");
  q->signal(SIGINT);
  auto lines = q->rest();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(
      Json::parse(lines.back())["total"],
      Json::parse(
          R"x({"columns":["SUM(r.bytes * 500000000000000000)","SUM(r.bytes / 0)","COUNT(r.bytes % 0)",)x"
          R"x("COUNT"],"rows":[[1.05e19,null,0,6]],"overflow":true})x"));
}

// An existing runtime directory open to others is refused, never chmod'ed
// (PIVOT_RUNTIME_DIR=/tmp must not lock other users out of /tmp).
TEST_F(RobustnessTest, OpenRuntimeDirIsRefusedNotChanged) {
  ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  Subprocess a({kApp}, {"PIVOT_RUNTIME_DIR=" + dir_});
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
  EXPECT_EQ(queries_of_the_agent(), "0");
}

}  // namespace
