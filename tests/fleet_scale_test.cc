// Fleet scale: 100 small agent processes (support/fleet_agent.cc) on one
// NATS server, one query, one frontend (in this process). The frontend's
// totals must equal, per agent, what each process says it fired. It also
// measures the install latency and the frontend's CPU per interval, the
// figures in docs/performance.md ("Fleet scale (NATS)"):
//
//   build/release/tests/fleet_scale_test --gtest_filter='*Hundred*'
//
// Under ASan/TSan each process is several times bigger and slower, so the
// fleet there is 20 agents: the same code paths, a size the machine holds.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/clock.h"
#include "core/sanitizers.h"
#include "frontend/frontend.h"
#include "support/nats_server.h"
#include "support/subprocess.h"

namespace {

using pivot::testing::NatsServer;
using pivot::testing::Subprocess;

#if PIVOT_ASAN || PIVOT_TSAN
constexpr int kAgents = 20;  // sanitized processes are large: a smaller fleet, same paths
#else
constexpr int kAgents = 100;
#endif
constexpr int64_t kIntervalMs = 200;
constexpr int kMeasuredIntervals = 10;

using pivot::internal::steady_ms;

double cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

TEST(FleetScale, HundredAgentsTotalsEqualWhatEachObserved) {
  NatsServer nats({"--user", "fleet", "--pass", "fleet-pw"});
  ASSERT_TRUE(nats.start()) << nats.error();
  const std::string url = nats.url("fleet:fleet-pw");
  const std::string fleet = "scale" + std::to_string(getpid());

  int64_t t0 = steady_ms();
  std::vector<std::unique_ptr<Subprocess>> agents;
  for (int i = 0; i < kAgents; ++i) {
    agents.push_back(std::make_unique<Subprocess>(
        std::vector<std::string>{std::string(PIVOT_BINARY_DIR) + "/tests/fleet_agent"},
        std::vector<std::string>{"PIVOT_TRANSPORT=" + url, "PIVOT_FLEET=" + fleet,
                                 "PIVOT_HOST=host" + std::to_string(i), "PIVOT_PROCNAME=fleet"}));
  }
  for (auto& a : agents) {
    auto l = a->line(30'000);
    ASSERT_EQ(l.value_or("<none>"), "ready") << ::testing::PrintToString(a->rest_err(1000));
  }
  int64_t started_ms = steady_ms() - t0;

  setenv("PIVOT_FLEET", fleet.c_str(), 1);
  auto link = pivot::frontend::make_link(url, "");
  ASSERT_TRUE(link) << link.error().message();
  pivot::frontend::Frontend fe(std::move(*link));
  // An agent whose first connect was slow (a loaded machine) keeps trying
  // in the background: wait until every one answers.
  size_t visible = 0;
  for (int i = 0; i < 40 && visible < static_cast<size_t>(kAgents); ++i) visible = fe.agents().size();
  ASSERT_EQ(visible, static_cast<size_t>(kAgents));
  int64_t t1 = steady_ms();
  auto started = fe.start("From w In Fleet.work GroupBy w.host Select w.host, COUNT, SUM(w.value)",
                          {.interval_ms = kIntervalMs, .lease_ms = 0});
  int64_t start_ms = steady_ms() - t1;
  ASSERT_TRUE(started) << started.error().message();
  for (const auto& n : *started) ADD_FAILURE() << n;
  ASSERT_EQ(fe.installed_agents(), kAgents);

  // Each agent fires a different number of events and says what it fired.
  std::map<std::string, std::pair<int64_t, int64_t>> observed;  // host -> (count, sum)
  for (int i = 0; i < kAgents; ++i) agents[i]->write("fire " + std::to_string(1000 + 7 * i) + "\n");
  for (int i = 0; i < kAgents; ++i) {
    auto l = agents[i]->line(30'000);
    ASSERT_TRUE(l);
    std::istringstream in(*l);
    std::string word;
    int64_t count = 0, sum = 0;
    in >> word >> count >> sum;
    ASSERT_EQ(word, "observed");
    observed["host" + std::to_string(i)] = {count, sum};
  }

  double cpu0 = cpu_ms();
  int64_t w0 = steady_ms();
  for (int i = 0; i < kMeasuredIntervals; ++i) {
    auto s = fe.next_interval();
    for (const auto& e : s.events) ADD_FAILURE() << e;
    EXPECT_EQ(s.agents, kAgents);
  }
  double cpu_per_interval = (cpu_ms() - cpu0) / kMeasuredIntervals;
  int64_t wall = steady_ms() - w0;
  auto last = fe.finish();
  for (const auto& e : last.events) ADD_FAILURE() << e;

  ASSERT_EQ(last.total.rows.size(), static_cast<size_t>(kAgents));
  int64_t total_count = 0, want_count = 0;
  for (const auto& row : last.total.rows) {
    const std::string host = row[0].to_string();
    ASSERT_TRUE(observed.count(host)) << host;
    EXPECT_EQ(row[1].to_string(), std::to_string(observed[host].first)) << host;
    EXPECT_EQ(row[2].to_string(), std::to_string(observed[host].second)) << host;
    total_count += std::stoll(row[1].to_string());
  }
  for (const auto& [h, o] : observed) want_count += o.first;
  EXPECT_EQ(total_count, want_count);

  std::printf(
      "fleet: %d agents started in %lld ms; start() %lld ms, of which install %lld ms; "
      "frontend CPU %.2f ms per %lld ms interval (%d intervals in %lld ms); %lld events\n",
      kAgents, static_cast<long long>(started_ms), static_cast<long long>(start_ms),
      static_cast<long long>(fe.install_ms()), cpu_per_interval, static_cast<long long>(kIntervalMs),
      kMeasuredIntervals, static_cast<long long>(wall), static_cast<long long>(want_count));
  RecordProperty("agents", kAgents);
  RecordProperty("install_ms", static_cast<int>(fe.install_ms()));
  for (auto& a : agents) a->write("exit\n");
  for (auto& a : agents) EXPECT_EQ(a->wait(), 0);
}

}  // namespace
