// The `pivot` CLI against real agent processes over the local transport.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "support/subprocess.h"

namespace {

using pivot::testing::Subprocess;
using Json = nlohmann::json;

const std::string kBin = PIVOT_BINARY_DIR;
const std::string kPivot = kBin + "/tools/pivot";
const std::string kApp = kBin + "/tests/agent_app";

const char* kSeedLike =
    "From r In App.request Join c In First(App.client) On c -> r GroupBy c.app Select c.app, SUM(r.bytes), "
    "COUNT";

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/pivot-cli-test-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(system(cmd.c_str()), 0);
  }
  void TearDown() override {
    apps_.clear();
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!system(cmd.c_str());
  }

  Subprocess& app(const std::string& host, const std::string& name) {
    apps_.push_back(std::make_unique<Subprocess>(
        std::vector<std::string>{kApp},
        std::vector<std::string>{"PIVOT_RUNTIME_DIR=" + dir_, "PIVOT_HOST=" + host, "PIVOT_PROCNAME=" + name,
                                 "PIVOT_INTERVAL_MS=100"}));
    auto l = apps_.back()->line();
    EXPECT_EQ(l.value_or("<none>"), "ready");
    return *apps_.back();
  }
  static void fire(Subprocess& a, int n) {
    a.write("fire " + std::to_string(n) + "\n");
    EXPECT_EQ(a.line().value_or("<none>"), "ok");
  }
  std::unique_ptr<Subprocess> pivot(std::vector<std::string> args) {
    args.insert(args.begin(), {kPivot, "--runtime-dir", dir_});
    return std::make_unique<Subprocess>(args);
  }
  std::vector<std::string> run(std::vector<std::string> args, int* status = nullptr) {
    auto p = pivot(std::move(args));
    auto out = p->rest();
    int s = p->wait();
    if (status) *status = s;
    return out;
  }
  // Sum of 1..n split by parity, as agent_app fires it: app-1 gets odd i.
  static Json expected(int n, int copies) {
    int64_t odd = 0, even = 0, n_odd = 0, n_even = 0;
    for (int i = 1; i <= n; ++i) (i % 2 ? (odd += i, ++n_odd) : (even += i, ++n_even));
    return Json{
        {"columns", {"c.app", "SUM(r.bytes)", "COUNT"}},
        {"rows", {{"app-0", even * copies, n_even * copies}, {"app-1", odd * copies, n_odd * copies}}}};
  }

  std::string dir_;
  std::vector<std::unique_ptr<Subprocess>> apps_;
};

TEST_F(CliTest, PsListsEveryAgent) {
  app("h1", "alpha");
  app("h2", "beta");
  auto out = run({"ps"});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_NE(out[1].find("alpha"), std::string::npos);
  EXPECT_NE(out[1].find("h1"), std::string::npos);
  EXPECT_NE(out[2].find("beta"), std::string::npos);
}

TEST_F(CliTest, TracepointsAsJson) {
  app("h1", "alpha");
  auto out = run({"tracepoints", "--json"});
  ASSERT_EQ(out.size(), 1u);
  Json j = Json::parse(out[0]);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "App.client");
  EXPECT_EQ(j[0]["exports"][0], (Json{{"name", "app"}, {"type", "string"}, {"list", false}}));
  EXPECT_EQ(j[0]["processes"], Json::array({"alpha"}));
}

TEST_F(CliTest, ExplainUsesTheAgentsTracepoints) {
  app("h1", "alpha");
  auto out = run({"explain", kSeedLike});
  EXPECT_EQ(out,
            (std::vector<std::string>{
                "A1 @ App.client: OBSERVE app; PACK-FIRST q1.c(app)",
                "A2 @ App.request: OBSERVE bytes; UNPACK q1.c(app); EMIT q1 GROUP(app) SUM(bytes), COUNT"}));
}

TEST_F(CliTest, BadQueryShowsTheCaretAndFails) {
  app("h1", "alpha");
  auto p = pivot({"query", "From r In App.requets Select COUNT"});
  auto err = p->rest_err();
  EXPECT_NE(p->wait(), 0);
  ASSERT_GE(err.size(), 3u);
  EXPECT_EQ(err[0],
            "pivot: 1:11: unknown tracepoint 'App.requets'; known tracepoints: App.client, App.request");
  EXPECT_EQ(err[2], "          ^");
}

// 22 lines, each adding the previous query's output to itself: 2^23 nodes
// inlined. The frontend refuses it at once; no agent is asked to compile it.
TEST_F(CliTest, AnExponentiallyComposedQueryIsRefusedAtOnce) {
  Subprocess& a = app("h1", "alpha");
  std::string text = "q0 = From r In App.request Select r.bytes As a\n";
  for (int i = 1; i <= 22; ++i) {
    text += "q" + std::to_string(i) + " = From x In q" + std::to_string(i - 1) + " Select x.a + x.a As a\n";
  }
  auto t0 = std::chrono::steady_clock::now();
  auto p = pivot({"query", text});
  auto err = p->rest_err();
  int status = p->wait();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  ASSERT_EQ(err.size(), 3u);
  EXPECT_EQ(err[0],
            "pivot: 14:17: query 'q13' is too large with query 'q12' inlined: 16384 nodes (expressions and "
            "variables); at most 10000. Each use of a source query's output copies its expression");
  EXPECT_EQ(err[1], "q13 = From x In q12 Select x.a + x.a As a");
  EXPECT_EQ(err[2], "                ^");
  auto ps = run({"ps"});
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[1].substr(ps[1].size() - 1), "0");  // QUERIES: the agent never had it
  fire(a, 1);
}

// --max-groups goes to the agents and bounds the merged table; every JSON
// line says whether the total is incomplete and how many events it dropped.
TEST_F(CliTest, MaxGroupsDropsAndEveryJsonLineSaysSo) {
  Subprocess& a = app("h1", "alpha");
  auto q = pivot({"query", "--format", "json", "--interval", "100", "--max-groups", "10",
                  "From r In App.request GroupBy r.bytes Select r.bytes, COUNT"});
  ASSERT_TRUE(q->wait_err("query installed"));
  fire(a, 50);
  q->signal(SIGINT);
  auto lines = q->rest();
  EXPECT_EQ(q->wait(), 0);
  ASSERT_FALSE(lines.empty());
  for (const auto& l : lines) {
    Json j = Json::parse(l);
    EXPECT_TRUE(j["incomplete"].is_boolean() && j["dropped"].is_number_unsigned()) << l;
  }
  Json last = Json::parse(lines.back());
  EXPECT_EQ(last["incomplete"], true);
  EXPECT_EQ(last["dropped"], 40);
  Json rows = Json::array();
  for (int b = 1; b <= 10; ++b) rows.push_back({b, 1});
  EXPECT_EQ(last["total"], (Json{{"columns", {"r.bytes", "COUNT"}},
                                 {"rows", rows},
                                 {"incomplete", true},
                                 {"dropped", 40},
                                 {"max_groups", 10}}));
}

TEST_F(CliTest, NoAgentsIsAClearError) {
  int status = 0;
  auto p = pivot({"query", kSeedLike});
  auto err = p->rest_err();
  status = p->wait();
  EXPECT_EQ(WEXITSTATUS(status), 2);
  ASSERT_EQ(err.size(), 1u);
  EXPECT_EQ(err[0],
            "pivot: no agents found in " + dir_ + " (is PIVOT_RUNTIME_DIR the same as the processes'?)");
}

TEST_F(CliTest, QueryMergesAgentsExactly) {
  Subprocess& a = app("h1", "alpha");
  Subprocess& b = app("h2", "beta");
  auto q = pivot({"query", "--format", "json", "--interval", "100", kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed"));
  fire(a, 50);
  fire(b, 50);
  q->signal(SIGINT);
  auto lines = q->rest();
  EXPECT_EQ(q->wait(), 0);
  ASSERT_FALSE(lines.empty());
  Json last = Json::parse(lines.back());
  EXPECT_EQ(last["agents"], 2);
  EXPECT_EQ(last["total"], expected(50, 2));
  // Every interval line has the contract's shape.
  for (const auto& l : lines) {
    Json j = Json::parse(l);
    EXPECT_TRUE(j.contains("time") && j.contains("interval") && j.contains("total")) << l;
  }
}

TEST_F(CliTest, AgentKilledMidQueryIsReportedAndOthersGoOn) {
  Subprocess& a = app("h1", "alpha");
  Subprocess& b = app("h2", "beta");
  auto q = pivot({"query", "--format", "json", "--interval", "100", kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed"));
  fire(a, 10);
  usleep(300'000);  // a's events are reported before it dies
  a.signal(SIGKILL);
  a.wait();
  fire(b, 20);
  ASSERT_TRUE(q->wait_err("lost"));
  q->signal(SIGINT);
  auto lines = q->rest();
  ASSERT_FALSE(lines.empty());
  Json last = Json::parse(lines.back());
  EXPECT_EQ(last["agents"], 1);
  Json want = expected(20, 1);
  Json a_part = expected(10, 1);
  for (int r = 0; r < 2; ++r) {
    want["rows"][r][1] = want["rows"][r][1].get<int64_t>() + a_part["rows"][r][1].get<int64_t>();
    want["rows"][r][2] = want["rows"][r][2].get<int64_t>() + a_part["rows"][r][2].get<int64_t>();
  }
  EXPECT_EQ(last["total"], want);
}

TEST_F(CliTest, AgentsDropTheAdviceWhenTheFrontendDies) {
  app("h1", "alpha");
  auto q = pivot({"query", "--format", "json", "--interval", "100", "--lease", "500", kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed"));
  auto ps = run({"ps"});
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[1].substr(ps[1].size() - 1), "1");  // QUERIES
  q->signal(SIGKILL);
  q->wait();
  usleep(1'200'000);  // past the 500 ms lease
  ps = run({"ps"});
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[1].substr(ps[1].size() - 1), "0");
}

TEST_F(CliTest, TwoFrontendsWithDifferentQueries) {
  Subprocess& a = app("h1", "alpha");
  auto q1 = pivot({"query", "--format", "json", "--interval", "100", kSeedLike});
  auto q2 = pivot({"query", "--format", "json", "--interval", "100",
                   "From r In App.request GroupBy r.host Select r.host, MAX(r.bytes)"});
  ASSERT_TRUE(q1->wait_err("query installed"));
  ASSERT_TRUE(q2->wait_err("query installed"));
  fire(a, 30);
  q1->signal(SIGINT);
  q2->signal(SIGINT);
  auto l1 = q1->rest(), l2 = q2->rest();
  ASSERT_FALSE(l1.empty());
  ASSERT_FALSE(l2.empty());
  EXPECT_EQ(Json::parse(l1.back())["total"], expected(30, 1));
  EXPECT_EQ(Json::parse(l2.back())["total"], (Json{{"columns", {"r.host", "MAX(r.bytes)"}},
                                                   {"rows", Json::array({Json::array({"h1", 30})})}}));
}

TEST_F(CliTest, QueryFromFileAndStdin) {
  Subprocess& a = app("h1", "alpha");
  std::string file = dir_ + "/q.txt";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs(kSeedLike, f);
  fclose(f);
  auto q = pivot({"query", "--format", "csv", "--interval", "100", "@" + file});
  ASSERT_TRUE(q->wait_err("query installed"));
  fire(a, 4);
  q->signal(SIGINT);
  auto lines = q->rest();
  EXPECT_EQ(lines, (std::vector<std::string>{"c.app,SUM(r.bytes),COUNT\r", "app-0,6,2\r", "app-1,4,2\r"}));

  auto s = pivot({"explain", "-"});
  s->write("From r In App.request Select COUNT");
  s->close_stdin();
  EXPECT_EQ(s->rest(), (std::vector<std::string>{"A1 @ App.request: EMIT q1 COUNT"}));
}

// A text of several queries prints the last, or the one --show names.
TEST_F(CliTest, ShowPicksANamedQueryOfTheText) {
  Subprocess& a = app("h1", "alpha");
  const std::string text =
      "Bytes = From r In App.request Select SUM(r.bytes)\nFrom r In App.request Select COUNT";
  auto named = pivot({"query", "--format", "csv", "--interval", "100", "--show", "Bytes", text});
  auto last = pivot({"query", "--format", "csv", "--interval", "100", text});
  ASSERT_TRUE(named->wait_err("query installed"));
  ASSERT_TRUE(last->wait_err("query installed"));
  fire(a, 4);
  named->signal(SIGINT);
  last->signal(SIGINT);
  EXPECT_EQ(named->rest(), (std::vector<std::string>{"SUM(r.bytes)\r", "10\r"}));
  EXPECT_EQ(last->rest(), (std::vector<std::string>{"COUNT\r", "4\r"}));

  auto bad = pivot({"query", "--show", "Nope", text});
  auto err = bad->rest_err();
  EXPECT_NE(WEXITSTATUS(bad->wait()), 0);
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err.back(), "pivot: the text has no query named 'Nope' (its queries: Bytes, q2)");
}

TEST_F(CliTest, BadFlagsAreRejected) {
  int status = 0;
  auto p = pivot({"query", "--format", "xml", kSeedLike});
  auto err = p->rest_err();
  status = p->wait();
  EXPECT_NE(WEXITSTATUS(status), 0);
  ASSERT_FALSE(err.empty());
  EXPECT_NE(err[0].find("--format"), std::string::npos) << err[0];
  p = pivot({"query", "--max-groups", "0", kSeedLike});
  err = p->rest_err();
  EXPECT_NE(WEXITSTATUS(p->wait()), 0);
  ASSERT_FALSE(err.empty());
  EXPECT_NE(err[0].find("--max-groups"), std::string::npos) << err[0];
}

}  // namespace
