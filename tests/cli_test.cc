// The `pivot` CLI against real agent processes over the local transport:
// its commands, flags and output formats. Faults (agents killed or
// stopped, a dead frontend, limits, bad input) are in fault_test.cc, on
// both transports.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli_harness.h"

namespace {

using pivot::testing::CliHarness;
using pivot::testing::kSeedLike;
using pivot::testing::seed_like_total;
using pivot::testing::Subprocess;
using pivot::testing::Transport;
using Json = nlohmann::json;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(h_.start()) << h_.error(); }

  Subprocess& app(const std::string& host, const std::string& name) { return h_.app(host, name); }
  static void fire(Subprocess& a, int n) { CliHarness::fire(a, n); }
  std::unique_ptr<Subprocess> pivot(std::vector<std::string> args) { return h_.pivot(std::move(args)); }
  std::vector<std::string> run(std::vector<std::string> args, int* status = nullptr) {
    return h_.run(std::move(args), status);
  }

  CliHarness h_{Transport::kLocal};
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

TEST_F(CliTest, NoAgentsIsAClearError) {
  int status = 0;
  auto p = pivot({"query", kSeedLike});
  auto err = p->rest_err();
  status = p->wait();
  EXPECT_EQ(WEXITSTATUS(status), 2);
  ASSERT_EQ(err.size(), 1u);
  EXPECT_EQ(err[0],
            "pivot: no agents found in " + h_.dir() + " (is PIVOT_RUNTIME_DIR the same as the processes'?)");
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
  EXPECT_EQ(Json::parse(l1.back())["total"], seed_like_total({30}));
  EXPECT_EQ(Json::parse(l2.back())["total"], (Json{{"columns", {"r.host", "MAX(r.bytes)"}},
                                                   {"rows", Json::array({Json::array({"h1", 30})})}}));
}

TEST_F(CliTest, QueryFromFileAndStdin) {
  Subprocess& a = app("h1", "alpha");
  std::string file = h_.dir() + "/q.txt";
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
