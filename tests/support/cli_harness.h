// Real agent processes (tests/agent_app) and the real `pivot` CLI over one
// transport, for integration tests: the local one, in a runtime directory
// of the test's own, or NATS, through a nats-server started for the test
// (loopback, a free port, a password). What a test does is the same on
// both; only the flags and environment differ, and they are made here.
//
//   CliHarness h(Transport::kNats);
//   ASSERT_TRUE(h.start()) << h.error();
//   Subprocess& a = h.app("h1", "alpha");
//   auto q = h.pivot({"query", "--format", "json", "--interval", "100", kSeedLike});
//   ASSERT_TRUE(q->wait_err("query installed"));
//   CliHarness::fire(a, 50);
//   q->signal(SIGINT);
//   EXPECT_EQ(Json::parse(q->rest().back())["total"], seed_like_total({50}));
//
// agent_app fires "App.request" with bytes 1..N, each after "App.client"
// packed "app-0" (even i) or "app-1" (odd i); kSeedLike groups by that.
//
// Needs PIVOT_BINARY_DIR (the build tree: tools/pivot, tests/agent_app).
// Not thread-safe; one per test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "support/nats_server.h"
#include "support/subprocess.h"

namespace pivot::testing {

inline const std::string kPivotCli = std::string(PIVOT_BINARY_DIR) + "/tools/pivot";
inline const std::string kAgentApp = std::string(PIVOT_BINARY_DIR) + "/tests/agent_app";

inline constexpr const char* kSeedLike =
    "From r In App.request Join c In First(App.client) On c -> r GroupBy c.app Select c.app, SUM(r.bytes), "
    "COUNT";

// kSeedLike's exact total after agents fired these counts (`fire N` each).
inline nlohmann::json seed_like_total(const std::vector<int>& fires) {
  int64_t odd = 0, even = 0, n_odd = 0, n_even = 0;
  for (int n : fires) {
    for (int i = 1; i <= n; ++i) (i % 2 ? (odd += i, ++n_odd) : (even += i, ++n_even));
  }
  return nlohmann::json{{"columns", {"c.app", "SUM(r.bytes)", "COUNT"}},
                        {"rows", {{"app-0", even, n_even}, {"app-1", odd, n_odd}}}};
}

inline bool any_contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& l : lines) {
    if (l.find(needle) != std::string::npos) return true;
  }
  return false;
}

enum class Transport { kLocal, kNats };

// "Local" or "Nats": for parametrised tests' names.
inline std::string transport_name(Transport t) { return t == Transport::kLocal ? "Local" : "Nats"; }
inline void PrintTo(Transport t, std::ostream* os) { *os << transport_name(t); }

class CliHarness {
 public:
  static constexpr const char* kNatsUser = "pivot";
  static constexpr const char* kNatsPassword = "s3cret";

  explicit CliHarness(Transport transport) : transport_(transport) {
    // Short enough for a socket path (108 bytes) with "/<pid>.sock".
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : test) {
      if (c == '/') c = '-';
    }
    dir_ = "/tmp/pivot-test-" + std::to_string(getpid()) + "-" + test.substr(0, 48);
    if (transport_ == Transport::kNats) {
      nats_ = std::make_unique<NatsServer>(
          std::vector<std::string>{"--user", kNatsUser, "--pass", kNatsPassword});
    }
  }
  ~CliHarness() {
    apps_.clear();
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!system(cmd.c_str());
  }
  CliHarness(const CliHarness&) = delete;
  CliHarness& operator=(const CliHarness&) = delete;

  // A fresh runtime directory (none yet: agents make it), or a running
  // nats-server; false with error() if not.
  bool start() {
    std::string cmd = "rm -rf '" + dir_ + "'";
    if (system(cmd.c_str()) != 0) {
      error_ = "cannot remove " + dir_;
      return false;
    }
    if (nats_ && !nats_->start()) {
      error_ = nats_->error();
      return false;
    }
    return true;
  }
  const std::string& error() const { return error_; }

  Transport transport() const { return transport_; }
  // The runtime directory (local), where the tests may put files of their own too.
  const std::string& dir() const { return dir_; }
  // The NATS server (nats only).
  NatsServer& nats() { return *nats_; }
  std::string nats_url() const { return nats_->url(std::string(kNatsUser) + ":" + kNatsPassword); }
  // NATS agents and frontends of another fleet do not see each other.
  void set_fleet(const std::string& fleet) { fleet_ = fleet; }

  // What an agent needs to find its frontends.
  std::vector<std::string> app_env(const std::string& host, const std::string& name,
                                   int interval_ms = 100) const {
    std::vector<std::string> env = {"PIVOT_HOST=" + host, "PIVOT_PROCNAME=" + name,
                                    "PIVOT_INTERVAL_MS=" + std::to_string(interval_ms)};
    if (transport_ == Transport::kNats) {
      env.push_back("PIVOT_TRANSPORT=" + nats_url());
      env.push_back("PIVOT_FLEET=" + fleet_);
    } else {
      env.push_back("PIVOT_RUNTIME_DIR=" + dir_);
    }
    return env;
  }
  // An agent_app, once it says it is ready; it lives until the harness ends.
  Subprocess& app(const std::string& host, const std::string& name, int interval_ms = 100) {
    apps_.push_back(
        std::make_unique<Subprocess>(std::vector<std::string>{kAgentApp}, app_env(host, name, interval_ms)));
    EXPECT_EQ(apps_.back()->line().value_or("<none>"), "ready");
    return *apps_.back();
  }
  // agent_app's `fire n`, answered once every event has run.
  static void fire(Subprocess& a, int n) {
    a.write("fire " + std::to_string(n) + "\n");
    EXPECT_EQ(a.line(60'000).value_or("<none>"), "ok");
  }

  // The `pivot` CLI with these arguments, on this transport.
  std::unique_ptr<Subprocess> pivot(std::vector<std::string> args) const {
    if (transport_ == Transport::kNats) {
      args.insert(args.begin(), {kPivotCli, "--transport", nats_url()});
      return std::make_unique<Subprocess>(args, std::vector<std::string>{"PIVOT_FLEET=" + fleet_});
    }
    args.insert(args.begin(), {kPivotCli, "--runtime-dir", dir_});
    return std::make_unique<Subprocess>(args);
  }
  // Its stdout, once it has exited; its exit status in *status.
  std::vector<std::string> run(std::vector<std::string> args, int* status = nullptr) const {
    auto p = pivot(std::move(args));
    auto out = p->rest();
    int s = p->wait();
    if (status) *status = s;
    return out;
  }
  // The QUERIES column of `pivot ps`, one entry per agent, in its order.
  std::vector<int> queries_per_agent() const {
    std::vector<int> out;
    auto ps = run({"ps"});
    for (size_t i = 1; i < ps.size(); ++i) {
      size_t at = ps[i].find_last_of(' ');
      out.push_back(std::atoi(ps[i].c_str() + (at == std::string::npos ? 0 : at + 1)));
    }
    return out;
  }

 private:
  Transport transport_;
  std::string dir_;
  std::string fleet_ = "test";
  std::string error_;
  std::unique_ptr<NatsServer> nats_;
  std::vector<std::unique_ptr<Subprocess>> apps_;
};

}  // namespace pivot::testing
