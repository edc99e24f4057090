// The limits on an agent's socket (issue #13): whatever clients do, the
// host's memory and CPU stay bounded, memory comes back, and every limit
// that acts is counted in the agent's hello answer ("transport").
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "core/sanitizers.h"
#include "support/proc_stats.h"
#include "support/subprocess.h"
#include "transport/local.h"

namespace {

using Json = nlohmann::json;
using pivot::testing::cpu_ticks;
using pivot::testing::rss_kib;
using pivot::testing::Subprocess;
namespace transport = pivot::transport;

const std::string kApp = std::string(PIVOT_BINARY_DIR) + "/tests/agent_app";

class AgentLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/pivot-limits-test-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  void TearDown() override {
    for (int fd : fds_) close(fd);
    app_.reset();
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!system(cmd.c_str());
  }
  void start(std::vector<std::string> env = {}, std::vector<std::string> argv = {kApp}) {
    env.push_back("PIVOT_RUNTIME_DIR=" + dir_);
    app_ = std::make_unique<Subprocess>(argv, env);
    ASSERT_EQ(app_->line().value_or(""), "ready");
  }
  int connect_agent() {
    auto fd = transport::connect_unix(transport::socket_path(dir_, app_->pid()));
    EXPECT_TRUE(fd) << fd.error().message();
    if (!fd) return -1;
    fds_.push_back(*fd);
    return *fd;
  }
  void drop(int fd) {
    close(fd);
    std::erase(fds_, fd);
  }
  // The "transport" counters of the agent's hello answer, on a new connection.
  Json counters() {
    int fd = connect_agent();
    transport::FrameReader reader;
    EXPECT_TRUE(transport::write_frame(fd, R"({"v":1,"type":"hello"})").ok());
    auto reply = transport::read_frame(fd, reader, 5000);
    drop(fd);
    if (!reply) return Json{{"read_error", reply.error().message()}};
    return Json::parse(*reply)["transport"];
  }
  // Sends `bytes` bytes of a frame that announces `announced`, ignoring a
  // connection the agent has closed meanwhile.
  static void send_partial(int fd, uint32_t announced, size_t bytes) {
    std::string data = {static_cast<char>(announced >> 24), static_cast<char>(announced >> 16),
                        static_cast<char>(announced >> 8), static_cast<char>(announced)};
    data.append(bytes, 'x');
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }
  // Waits up to timeout_ms for the agent to close fd; true if it did.
  static bool closed_by_agent(int fd, int timeout_ms = 5000) {
    transport::FrameReader reader;
    for (;;) {
      auto r = transport::read_frame(fd, reader, timeout_ms);
      if (!r) return r.error().message() != "timed out";
    }
  }

  std::string dir_;
  std::unique_ptr<Subprocess> app_;
  std::vector<int> fds_;
};

// 30 connections each sending half of a 15 MiB frame held 508 MB in the
// host; now a frame over 1 MiB closes its connection at its header, and
// half frames under the limit cost at most their size, given back after.
TEST_F(AgentLimitsTest, HalfFramesCannotHoldTheHostsMemory) {
#if PIVOT_ASAN
  // AddressSanitizer keeps freed blocks in its quarantine (256 MB) and gives
  // pages back on its own schedule: without those, what stays is pivot's.
  start({"ASAN_OPTIONS=quarantine_size_mb=0:allocator_release_to_os_interval_ms=50"});
#else
  start();
#endif
  usleep(200'000);
  const int64_t base = rss_kib(app_->pid());
  std::vector<int> conns;
  for (int i = 0; i < 30; ++i) conns.push_back(connect_agent());
  for (int fd : conns) send_partial(fd, 15u << 20, 256u << 10);  // the header alone is refused
  for (int fd : conns) EXPECT_TRUE(closed_by_agent(fd, 500));
  for (int fd : conns) drop(fd);
  Json c = counters();
  EXPECT_EQ(c["oversized_frames"], 30) << c.dump();
  EXPECT_EQ(c["max_frame"], 1 << 20);

  conns.clear();
  for (int i = 0; i < 30; ++i) conns.push_back(connect_agent());
  for (int fd : conns) send_partial(fd, (1u << 20) - 16, 512u << 10);
  usleep(300'000);
  const int64_t held = rss_kib(app_->pid()) - base;
#if PIVOT_TSAN
  constexpr int64_t kResidentPerByte = 5;  // ThreadSanitizer's shadow: four bytes for each byte used
#else
  constexpr int64_t kResidentPerByte = 1;
#endif
  EXPECT_LT(held, kResidentPerByte * (64 << 10)) << "KiB held by 30 half frames of 1 MiB";
  for (int fd : conns) drop(fd);
  int64_t back = 1 << 30;
  for (int i = 0; i < 50 && back >= 16 << 10; ++i) {
    usleep(100'000);
    back = rss_kib(app_->pid()) - base;
  }
  EXPECT_LT(back, 16 << 10) << "KiB still held after the connections closed (" << held << " KiB at most)";
  EXPECT_EQ(counters()["connections"], 1);  // this one
}

// At most 32 connections; one more is told why and closed, and counted.
TEST_F(AgentLimitsTest, ConnectionLimitRefusesPolitelyAndCounts) {
  start();
  std::vector<int> conns;
  for (int i = 0; i < 40; ++i) conns.push_back(connect_agent());
  int refused = 0;
  for (int fd : conns) {
    transport::FrameReader reader;
    auto r = transport::read_frame(fd, reader, 100);
    if (!r) continue;  // accepted: nothing to say
    EXPECT_EQ(Json::parse(*r)["message"], "too many connections to this agent (at most 32); try again later");
    ++refused;
  }
  EXPECT_EQ(refused, 8);
  for (int i = 0; i < 10; ++i) drop(conns[i]);
  usleep(200'000);
  Json c = counters();
  EXPECT_EQ(c["refused_connections"], 8) << c.dump();
  EXPECT_EQ(c["max_connections"], 32);
  // `pivot ps` says so.
  Subprocess ps({std::string(PIVOT_BINARY_DIR) + "/tools/pivot", "--runtime-dir", dir_, "ps"});
  auto err = ps.rest_err();
  EXPECT_EQ(err, std::vector<std::string>{"pivot: agent " + std::to_string(app_->pid()) +
                                          " (socket limits acted): refused_connections 8"});
}

// A connection that sends nothing, or stops in the middle of a frame, is
// closed after the idle timeout; one that owns a query is kept.
TEST_F(AgentLimitsTest, IdleConnectionsAreClosed) {
  start({"PIVOT_AGENT_IDLE_MS=500"});
  int quiet = connect_agent();
  int stalled = connect_agent();
  send_partial(stalled, 100, 10);
  int owner = connect_agent();
  transport::FrameReader reader;
  ASSERT_TRUE(transport::write_frame(owner,
                                     R"({"v":1,"type":"install","id":"00000000000000c1",)"
                                     R"("text":"From r In App.request Select COUNT","lease_ms":60000})")
                  .ok());
  auto installed = transport::read_frame(owner, reader, 5000);
  ASSERT_TRUE(installed);
  EXPECT_EQ(Json::parse(*installed)["type"], "installed");
  EXPECT_TRUE(closed_by_agent(quiet));
  EXPECT_TRUE(closed_by_agent(stalled));
  usleep(1'000'000);
  EXPECT_TRUE(transport::write_frame(owner, R"({"v":1,"type":"hello"})").ok());
  bool answered = false;
  for (int i = 0; i < 20 && !answered; ++i) {  // reports may come first
    auto r = transport::read_frame(owner, reader, 5000);
    ASSERT_TRUE(r) << "the query's owner was closed: " << r.error().message();
    answered = Json::parse(*r)["type"] == "info";
  }
  EXPECT_TRUE(answered);
  EXPECT_EQ(counters()["idle_closed"], 2);
}

// With its descriptors used up, the agent backs off from accept() instead
// of spinning on a listening socket that stays readable (80-90 % CPU).
TEST_F(AgentLimitsTest, NoDescriptorsLeftMeansBackOffNotSpin) {
  start({}, {"/usr/bin/prlimit", "--nofile=24", kApp});
  // One hello while descriptors are left. UBSan's vptr check (the asan
  // preset) reads each dynamic type it has not seen before through a pipe;
  // at the limit that pipe cannot be made and it reports a false "invalid
  // vptr", which kills the agent.
  EXPECT_EQ(counters()["accept_failures"], 0);
  std::vector<int> conns;
  for (int i = 0; i < 40; ++i) {
    bool would_block = false;
    auto fd = transport::try_connect_unix(transport::socket_path(dir_, app_->pid()), &would_block);
    if (fd) {
      conns.push_back(*fd);
      fds_.push_back(*fd);
    }
  }
  usleep(300'000);
  int64_t before = cpu_ticks(app_->pid());
  usleep(2'000'000);
  int64_t used = cpu_ticks(app_->pid()) - before;
  EXPECT_LT(used, sysconf(_SC_CLK_TCK) / 2) << "ticks of CPU in 2 s with accept() failing";
  // The first connections were accepted: ask one of them.
  transport::FrameReader reader;
  ASSERT_TRUE(transport::write_frame(conns[0], R"({"v":1,"type":"hello"})").ok());
  auto r = transport::read_frame(conns[0], reader, 5000);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_GT(Json::parse(*r)["transport"]["accept_failures"].get<int64_t>(), 0) << *r;
}

}  // namespace
