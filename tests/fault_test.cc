// Faults, each on both transports (issue #13): real agent processes
// (tests/agent_app), the real `pivot` CLI, and the local transport or NATS
// (a real nats-server). For every fault the test reads each agent's
// resident size (VmRSS) before, at its peak during, and after, and bounds
// how much it grew and how much it kept; and it checks the answer exactly:
// the exact total, or the mark that says it is incomplete, and by how many
// events.
//
// What differs between the transports is said where a test looks at it:
// how a dead agent is noticed (a closed socket, or heartbeats that stop).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/sanitizers.h"
#include "support/cli_harness.h"
#include "support/proc_stats.h"

namespace {

using pivot::testing::CliHarness;
using pivot::testing::kSeedLike;
using pivot::testing::RssWatch;
using pivot::testing::seed_like_total;
using pivot::testing::Subprocess;
using pivot::testing::Transport;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int64_t kMiB = 1024;  // in KiB, as /proc says sizes

#if PIVOT_TSAN || PIVOT_ASAN
// Under a sanitizer every process is several times slower, and its
// resident size includes the sanitizer's shadow memory and what its
// allocator keeps after a free (ASan's quarantine, TSan's caches). So time
// bounds and growth bounds are multiplied, the memory kept after a query
// is shown but not checked, and a million keys are a hundred thousand
// (still ten times the cap). Exact totals stay exact.
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
constexpr int kSlower = kSanitized ? 4 : 1;

// No fault may grow an agent by more than this at its peak (the bound of
// the issue's acceptance run: a million-key GroupBy under 64 MB)...
constexpr int64_t kPeakGrowthKib = 64 * kMiB * (kSanitized ? 2 : 1);
// ... nor leave it more than this above its size before, once the query
// is over: the query's memory is given back; what stays is code paged in
// by the first install and the stack of the agent's install thread.
constexpr int64_t kKeptKib = 4 * kMiB;

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// The events of every JSON line that contain `needle`.
std::vector<std::string> events_with(const std::vector<Json>& lines, const std::string& needle) {
  std::vector<std::string> out;
  for (const Json& l : lines) {
    for (const Json& e : l["events"]) {
      if (e.get<std::string>().find(needle) != std::string::npos) out.push_back(e.get<std::string>());
    }
  }
  return out;
}

// Every JSON line says whether the total so far is incomplete and how many
// events it dropped (as its "total" table does when it is), and neither
// goes back.
void expect_marks_on_every_line(const std::vector<Json>& lines) {
  int64_t dropped = 0;
  bool incomplete = false;
  for (const Json& l : lines) {
    ASSERT_TRUE(l["incomplete"].is_boolean() && l["dropped"].is_number_unsigned()) << l.dump().substr(0, 200);
    EXPECT_EQ(l["incomplete"], l["total"].value("incomplete", false));
    EXPECT_EQ(l["dropped"], l["total"].value("dropped", 0));
    EXPECT_GE(l["dropped"].get<int64_t>(), dropped);
    EXPECT_GE(l["incomplete"].get<bool>(), incomplete);
    dropped = l["dropped"];
    incomplete = l["incomplete"];
  }
}

// What a frontend said on stderr (lost agents, gaps, late reports), to
// explain a failed comparison.
std::string said(Subprocess& q) {
  std::string out;
  for (const std::string& l : q.rest_err(1000)) out += "\n  " + l;
  return "; the frontend said:" + out;
}

// A query's JSON lines, read as they come.
class JsonLines {
 public:
  explicit JsonLines(Subprocess& q) : q_(q) {}
  // Reads lines until one satisfies `done`; false if none did in time.
  bool until(const std::function<bool(const Json&)>& done, int timeout_ms = 10'000) {
    auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < end) {
      auto l = q_.line(static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count()));
      if (!l) return false;
      lines_.push_back(Json::parse(*l));
      if (done(lines_.back())) return true;
    }
    return false;
  }
  // Every line, once the query has exited.
  const std::vector<Json>& rest() {
    for (const std::string& l : q_.rest()) lines_.push_back(Json::parse(l));
    return lines_;
  }

 private:
  Subprocess& q_;
  std::vector<Json> lines_;
};

class FaultTest : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override { ASSERT_TRUE(h_.start()) << h_.error(); }

  bool nats() const { return GetParam() == Transport::kNats; }

  // Agents alpha@h1, beta@h2, ... reporting every 100 ms.
  std::vector<Subprocess*> agents(int n) {
    static const char* const kNames[] = {"alpha", "beta", "gamma", "delta"};
    std::vector<Subprocess*> out;
    for (int i = 0; i < n; ++i) out.push_back(&h_.app("h" + std::to_string(i + 1), kNames[i]));
    return out;
  }
  static std::vector<pid_t> pids(const std::vector<Subprocess*>& agents) {
    std::vector<pid_t> out;
    for (const Subprocess* a : agents) out.push_back(a->pid());
    return out;
  }
  // `pivot query --format json --interval INTERVAL_MS FLAGS... TEXT`.
  std::unique_ptr<Subprocess> query(const std::string& text, int interval_ms = 100,
                                    std::vector<std::string> flags = {}) {
    std::vector<std::string> args = {"query", "--format", "json", "--interval", std::to_string(interval_ms)};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(text);
    return h_.pivot(args);
  }
  // The agents' memory, once their queries are over: the peak during the
  // fault within kPeakGrowthKib of before, and the size after within
  // kKeptKib of it (given time: the agent frees a query's memory when it
  // removes the query). Agents that died are not asked after.
  void expect_memory_bounded(RssWatch& watch) {
    watch.stop();
    for (size_t i = 0; i < watch.size(); ++i) {
      int64_t kept = watch.now_kib(i) - watch.before_kib(i);
      for (int tries = 0; tries < 40 && !kSanitized && watch.now_kib(i) >= 0 && kept >= kKeptKib; ++tries) {
        usleep(50'000);
        kept = watch.now_kib(i) - watch.before_kib(i);
      }
      std::cout << "agent " << i << ": " << watch.before_kib(i) << " KiB resident before, "
                << watch.grew_kib(i) << " KiB more at the peak, ";
      if (watch.now_kib(i) < 0) {
        std::cout << "gone after\n";
      } else {
        std::cout << kept << " KiB more after\n";
        if (!kSanitized) EXPECT_LT(kept, kKeptKib) << "KiB kept by agent " << i;
      }
      EXPECT_GT(watch.before_kib(i), 0);
      EXPECT_LT(watch.grew_kib(i), kPeakGrowthKib) << "KiB grown by agent " << i;
    }
  }

  CliHarness h_{GetParam()};
};

// Several agents' reports are merged exactly: the total is the sum of what
// each fired, and the interval tables add up to it (nothing counted twice,
// nothing lost).
TEST_P(FaultTest, ThreeAgentsMergeExactlyAndTheIntervalsAddUpToTheTotal) {
  auto a = agents(3);
  RssWatch rss(pids(a));
  auto q = query(kSeedLike);
  ASSERT_TRUE(q->wait_err("query installed on 3 agents"));
  CliHarness::fire(*a[0], 50);
  CliHarness::fire(*a[1], 30);
  CliHarness::fire(*a[2], 7);
  q->signal(SIGINT);
  auto lines = JsonLines(*q).rest();
  EXPECT_EQ(q->wait(), 0);
  ASSERT_FALSE(lines.empty());
  const Json& last = lines.back();
  EXPECT_EQ(last["agents"], 3);
  EXPECT_EQ(last["final"], true);
  EXPECT_EQ(last["incomplete"], false);
  EXPECT_EQ(last["dropped"], 0);
  EXPECT_EQ(last["total"], seed_like_total({50, 30, 7})) << said(*q);
  std::map<std::string, std::pair<int64_t, int64_t>> sums;
  for (const Json& l : lines) {
    EXPECT_EQ(l["lost"], 0);
    for (const Json& row : l["interval"]["rows"]) {
      auto& [sum, count] = sums[row[0].get<std::string>()];
      sum += row[1].get<int64_t>();
      count += row[2].get<int64_t>();
    }
  }
  Json rows = Json::array();
  for (const auto& [app, s] : sums) rows.push_back({app, s.first, s.second});
  EXPECT_EQ(rows, last["total"]["rows"]);
  expect_memory_bounded(rss);
}

// An agent killed mid-query is reported lost; what it reported before it
// died stays in the total, and the others go on: the total is exact.
TEST_P(FaultTest, AKilledAgentIsReportedLostAndTheTotalKeepsWhatItReported) {
  auto a = agents(2);
  RssWatch rss(pids(a));
  auto q = query(kSeedLike);
  ASSERT_TRUE(q->wait_err("query installed on 2 agents"));
  JsonLines lines(*q);
  CliHarness::fire(*a[0], 10);
  ASSERT_TRUE(lines.until([](const Json& l) { return l["total"] == seed_like_total({10}); }));
  const std::string name = "agent " + std::to_string(a[0]->pid()) + " (alpha@h1)";
  a[0]->signal(SIGKILL);
  a[0]->wait();
  auto killed = Clock::now();
  CliHarness::fire(*a[1], 20);
  ASSERT_TRUE(q->wait_err(name + " lost: "));
  // The local frontend sees the socket close at once; on NATS there is no
  // connection to an agent, and it is lost when its heartbeats (every 1 s)
  // stop three times in a row.
  EXPECT_LT(ms_since(killed), (nats() ? 6000 : 2000) * kSlower);
  CliHarness::fire(*a[1], 6);  // nothing waits for the dead agent
  q->signal(SIGINT);
  const auto& all = lines.rest();
  EXPECT_EQ(q->wait(), 0);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back()["agents"], 1);
  EXPECT_EQ(all.back()["total"], seed_like_total({10, 20, 6})) << said(*q);
  auto lost = events_with(all, name + " lost: ");
  ASSERT_EQ(lost.size(), 1u);
  if (nats()) {
    EXPECT_EQ(lost[0].rfind(name + " lost: no heartbeat for ", 0), 0u) << lost[0];
  } else {
    EXPECT_EQ(lost[0], name + " lost: connection closed");
  }
  expect_memory_bounded(rss);
}

// A stopped agent (SIGSTOP) holds no one up: the others' events arrive on
// time; it is said to be silent within two intervals (at least 2 s), in
// the JSON lines too, and heard from again when it runs; then its events
// arrive and the total is exact.
TEST_P(FaultTest, AStoppedAgentIsSaidSilentWithinTwoIntervalsAndHoldsNoOneUp) {
  auto a = agents(2);
  RssWatch rss(pids(a));
  auto q = query(kSeedLike, 200);
  ASSERT_TRUE(q->wait_err("query installed on 2 agents"));
  JsonLines lines(*q);
  CliHarness::fire(*a[0], 4);
  ASSERT_TRUE(lines.until([](const Json& l) { return l["total"] == seed_like_total({4}); }));
  a[0]->signal(SIGSTOP);
  auto stopped = Clock::now();
  CliHarness::fire(*a[1], 10);
  ASSERT_TRUE(lines.until([](const Json& l) { return l["total"] == seed_like_total({4, 10}); }));
  EXPECT_LT(ms_since(stopped), 2000 * kSlower) << "the others' results waited for the stopped agent";
  const std::string name = "agent " + std::to_string(a[0]->pid()) + " (alpha@h1)";
  // Silence is counted from the agent's last report, which came before
  // the stop: within two intervals of the stop it is said.
  ASSERT_TRUE(q->wait_err(name + " is silent: no report for ", 5000));
  EXPECT_LT(ms_since(stopped), 4000 * kSlower);
  a[0]->signal(SIGCONT);
  ASSERT_TRUE(q->wait_err(name + " is heard from again", 5000));
  CliHarness::fire(*a[0], 6);
  q->signal(SIGINT);
  const auto& all = lines.rest();
  EXPECT_EQ(q->wait(), 0);
  ASSERT_GE(all.size(), 2u);
  auto silent = events_with(all, name + " is silent: no report for ");
  ASSERT_EQ(silent.size(), 1u);
  int64_t silent_ms = std::atoll(silent[0].c_str() + (name + " is silent: no report for ").size());
  EXPECT_GT(silent_ms, 2000) << silent[0];  // two intervals of 200 ms, and at least 2 s
  EXPECT_LT(silent_ms, 2000 + 2000 * kSlower) << silent[0];
  EXPECT_EQ(events_with(all, name + " is heard from again").size(), 1u);
  int finals = 0;
  for (const Json& l : all) {
    EXPECT_EQ(l["lost"], 0) << l;
    finals += l["final"].get<bool>();
  }
  EXPECT_EQ(finals, 1);
  EXPECT_EQ(all.back()["final"], true);
  EXPECT_EQ(all.back()["agents"], 2);
  EXPECT_EQ(all.back()["total"], seed_like_total({4, 10, 6})) << said(*q);
  expect_memory_bounded(rss);
}

// A frontend that dies (SIGKILL: no uninstall) stops renewing its lease;
// the agents remove the query when the lease ends and give its memory
// back, and a later query counts only its own events.
TEST_P(FaultTest, AgentsDropTheAdviceWhenTheFrontendDies) {
  auto a = agents(1);
  RssWatch rss(pids(a));
  auto q = query(kSeedLike, 100, {"--lease", "500"});
  ASSERT_TRUE(q->wait_err("query installed on 1 agents"));
  EXPECT_EQ(h_.queries_per_agent(), std::vector<int>{1});
  CliHarness::fire(*a[0], 1000);
  q->signal(SIGKILL);
  q->wait();
  auto killed = Clock::now();
  std::vector<int> queries;
  for (int i = 0; i < 50 && queries != std::vector<int>{0}; ++i) {
    usleep(100'000);
    queries = h_.queries_per_agent();
  }
  EXPECT_EQ(queries, std::vector<int>{0});
  EXPECT_LT(ms_since(killed), 3000 * kSlower) << "the lease is 500 ms";
  auto again = query(kSeedLike);
  ASSERT_TRUE(again->wait_err("query installed on 1 agents"));
  CliHarness::fire(*a[0], 5);
  again->signal(SIGINT);
  auto lines = JsonLines(*again).rest();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back()["total"], seed_like_total({5})) << said(*again);
  expect_memory_bounded(rss);
}

// 22 lines, each adding the previous query's output to itself: 2^23
// expression nodes once inlined, from under 1 KB of text. It is refused in
// under a second with the line and column that made it too large; no
// agent is asked to compile it, and none grows.
TEST_P(FaultTest, AnExponentiallyComposedQueryIsRefusedInUnderASecondAndNoAgentGrows) {
  auto a = agents(2);
  RssWatch rss(pids(a));
  std::string text = "q0 = From r In App.request Select r.bytes As a\n";
  for (int i = 1; i <= 22; ++i) {
    text += "q" + std::to_string(i) + " = From x In q" + std::to_string(i - 1) + " Select x.a + x.a As a\n";
  }
  ASSERT_LT(text.size(), 1024u);
  auto t0 = Clock::now();
  auto q = h_.pivot({"query", text});
  auto err = q->rest_err();
  int status = q->wait();
  std::cout << "refused in " << ms_since(t0) << " ms (pivot started, asked the agents, compiled)\n";
  EXPECT_LT(ms_since(t0), 1000 * kSlower);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_EQ(err,
            (std::vector<std::string>{
                "pivot: 14:17: query 'q13' is too large with query 'q12' inlined: 16384 nodes (expressions "
                "and variables); at most 10000. Each use of a source query's output copies its expression",
                "q13 = From x In q12 Select x.a + x.a As a", "                ^"}));
  EXPECT_EQ(h_.queries_per_agent(), (std::vector<int>{0, 0}));
  rss.stop();
  for (size_t i = 0; i < rss.size(); ++i)
    EXPECT_LT(rss.grew_kib(i), 1 * kMiB * kSlower) << "KiB grown by agent " << i;
  expect_memory_bounded(rss);
}

// A GroupBy of a million distinct keys in each of two agents: each holds
// at most 10000 groups per interval (--max-groups' default), the merged
// total too, and every event is in the answer or counted in "dropped",
// which every JSON line carries with "incomplete". Whatever the interval
// boundaries, the total holds keys 1..10000, each from both agents: each
// agent's reports carry its keys in the order it made them, so the first
// 10000 keys reach the total before any later one.
TEST_P(FaultTest, AMillionKeyGroupByStaysUnderTheCapAndEveryJsonLineSaysIncomplete) {
  constexpr int kKeys = kSanitized ? 100'000 : 1'000'000, kCap = 10'000;
  auto a = agents(2);
  RssWatch rss(pids(a));
  auto q = query("From r In App.request GroupBy r.bytes Select r.bytes, COUNT", 200);
  ASSERT_TRUE(q->wait_err("query installed on 2 agents"));
  for (Subprocess* app : a) app->write("fire " + std::to_string(kKeys) + "\n");
  for (Subprocess* app : a) EXPECT_EQ(app->line(120'000).value_or("<none>"), "ok");
  // Stopped once the intervals have carried every event: the final reports
  // then have little to add, and a sanitized agent on a loaded machine can
  // miss the frontend's 3 s wait for them (it did, under TSan over NATS).
  const int64_t want_dropped = 2 * (kKeys - kCap);
  JsonLines reader(*q);
  EXPECT_TRUE(reader.until([&](const Json& j) { return j["dropped"] == want_dropped; }, 60'000)) << said(*q);
  q->signal(SIGINT);
  auto lines = reader.rest();
  EXPECT_EQ(q->wait(), 0);
  ASSERT_FALSE(lines.empty());
  expect_marks_on_every_line(lines);
  const Json& last = lines.back();
  EXPECT_EQ(last["incomplete"], true);
  ASSERT_EQ(last["dropped"], want_dropped) << said(*q);
  Json rows = Json::array();
  for (int k = 1; k <= kCap; ++k) rows.push_back({k, 2});
  EXPECT_EQ(last["total"], (Json{{"columns", {"r.bytes", "COUNT"}},
                                 {"rows", rows},
                                 {"incomplete", true},
                                 {"dropped", want_dropped},
                                 {"max_groups", kCap}}));
  expect_memory_bounded(rss);
}

// --max-groups goes to every agent and bounds the merged total as well:
// with 10, each agent keeps keys 1..10 of its 50, the total has them from
// both, and the other 80 events are counted as dropped.
TEST_P(FaultTest, MaxGroupsGoesToEveryAgentAndBoundsTheMergedTotal) {
  auto a = agents(2);
  RssWatch rss(pids(a));
  auto q = query("From r In App.request GroupBy r.bytes Select r.bytes, COUNT", 100, {"--max-groups", "10"});
  ASSERT_TRUE(q->wait_err("query installed on 2 agents"));
  CliHarness::fire(*a[0], 50);
  CliHarness::fire(*a[1], 50);
  q->signal(SIGINT);
  auto lines = JsonLines(*q).rest();
  EXPECT_EQ(q->wait(), 0);
  ASSERT_FALSE(lines.empty());
  expect_marks_on_every_line(lines);
  Json rows = Json::array();
  for (int b = 1; b <= 10; ++b) rows.push_back({b, 2});
  EXPECT_EQ(lines.back()["total"], (Json{{"columns", {"r.bytes", "COUNT"}},
                                         {"rows", rows},
                                         {"incomplete", true},
                                         {"dropped", 80},
                                         {"max_groups", 10}}))
      << said(*q);
  expect_memory_bounded(rss);
}

// --duration ends the query at its deadline even inside an hour-long
// interval: `--interval 3600000 --duration 3` is over within 5 s, and its
// last line is the final, exact total.
TEST_P(FaultTest, DurationEndsTheQueryWithinFiveSecondsInsideAnHourLongInterval) {
  auto a = agents(1);
  RssWatch rss(pids(a));
  auto t0 = Clock::now();
  auto q = h_.pivot({"query", "--format", "json", "--interval", "3600000", "--duration", "3", kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed on 1 agents"));
  CliHarness::fire(*a[0], 7);
  auto st = q->wait_for(10'000);
  ASSERT_TRUE(st.has_value()) << "still running after 10 s";
  std::cout << "ended after " << ms_since(t0) << " ms\n";
  EXPECT_LT(ms_since(t0), 5000 * kSlower);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0);
  // The agents report once an hour: the interval cut at the deadline has
  // nothing; the final report (a flush) has everything.
  auto lines = JsonLines(*q).rest();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["final"], false);
  EXPECT_EQ(lines[0]["total"]["rows"], Json::array());
  EXPECT_EQ(lines[1]["final"], true);
  EXPECT_EQ(lines[1]["total"], seed_like_total({7})) << said(*q);
  expect_memory_bounded(rss);
}

// A string literal that is not UTF-8 is a clear error at its line:column,
// in explain and in query, never an abort (it was an uncaught JSON
// type_error.316 when the install was encoded); no agent gets the query.
TEST_P(FaultTest, InvalidUtf8InAStringLiteralIsAnErrorNotAnAbort) {
  auto a = agents(1);
  RssWatch rss(pids(a));
  const std::string text = "From r In App.request\nWhere r.host == \"a\xff\" Select COUNT";
  const std::string message =
      "pivot: 2:19: invalid UTF-8 byte '\\xff' in string literal; use \\uXXXX for a character";
  for (const auto& [cmd, code] : {std::pair<std::string, int>{"explain", 1}, {"query", 1}}) {
    auto p = h_.pivot({cmd, text});
    auto err = p->rest_err();
    int st = p->wait();
    ASSERT_TRUE(WIFEXITED(st)) << cmd << " died of signal " << WTERMSIG(st);
    EXPECT_EQ(WEXITSTATUS(st), code) << cmd;
    ASSERT_FALSE(err.empty()) << cmd;
    EXPECT_EQ(err[0], message) << cmd;
  }
  EXPECT_EQ(h_.queries_per_agent(), std::vector<int>{0});
  expect_memory_bounded(rss);
}

// `pivot query | head -1`: when the reader goes away, pivot does not die
// of SIGPIPE leaving its query installed until the lease ends (10 s and
// more by default); it uninstalls it, says why, and exits 1.
TEST_P(FaultTest, AClosedStdoutUninstallsTheQueryAndExitsOne) {
  auto a = agents(1);
  RssWatch rss(pids(a));
  auto q = query("From r In App.request Select COUNT");
  ASSERT_TRUE(q->line().has_value());
  q->close_stdout();
  auto st = q->wait_for(5000);
  ASSERT_TRUE(st.has_value()) << "pivot did not stop within 5 s of its stdout closing";
  ASSERT_TRUE(WIFEXITED(*st)) << "killed by signal " << WTERMSIG(*st);
  EXPECT_EQ(WEXITSTATUS(*st), 1);
  // Its uninstall is on the way as pivot exits (the lease would take 10 s).
  auto exited = Clock::now();
  std::vector<int> queries = h_.queries_per_agent();
  while (queries != std::vector<int>{0} && ms_since(exited) < 2000 * kSlower)
    queries = h_.queries_per_agent();
  EXPECT_EQ(queries, std::vector<int>{0});
  auto err = q->rest_err();
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err.back(),
            "pivot: cannot write the results (is stdout closed?); stopped, and the query is uninstalled");
  expect_memory_bounded(rss);
}

// As docs/query-language.md says: division and remainder by zero give null
// (which aggregates skip); a SUM of integers that passes 64 bits becomes a
// double and the result is marked "overflow", also when it is each agent's
// SUM that overflowed and the frontend that added them.
TEST_P(FaultTest, DivisionByZeroIsNullAndAnOverflowingSumIsMarked) {
  auto a = agents(2);
  RssWatch rss(pids(a));
  auto q = query(
      "From r In App.request Select SUM(r.bytes * 500000000000000000), SUM(r.bytes / 0), COUNT(r.bytes % 0), "
      "COUNT");
  ASSERT_TRUE(q->wait_err("query installed on 2 agents"));
  // bytes 1..6: the products fit in 64 bits; their sum, 21 * 5e17, does not.
  CliHarness::fire(*a[0], 6);
  CliHarness::fire(*a[1], 6);
  q->signal(SIGINT);
  auto lines = JsonLines(*q).rest();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back()["total"],
            Json::parse(R"x({"columns":["SUM(r.bytes * 500000000000000000)","SUM(r.bytes / 0)",)x"
                        R"x("COUNT(r.bytes % 0)","COUNT"],"rows":[[2.1e19,null,0,12]],"overflow":true})x"))
      << said(*q);
  EXPECT_EQ(lines.back()["incomplete"], false);
  expect_memory_bounded(rss);
}

INSTANTIATE_TEST_SUITE_P(Transports, FaultTest, ::testing::Values(Transport::kLocal, Transport::kNats),
                         [](const auto& info) { return pivot::testing::transport_name(info.param); });

}  // namespace
