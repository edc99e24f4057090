// The `pivot` CLI against real agent processes over the local transport:
// its commands, flags and output formats. Faults (agents killed or
// stopped, a dead frontend, limits, bad input) are in fault_test.cc, on
// both transports.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/cli_harness.h"

namespace {

using pivot::testing::CliHarness;
using pivot::testing::kPivotCli;
using pivot::testing::kSeedLike;
using pivot::testing::seed_like_total;
using pivot::testing::Subprocess;
using pivot::testing::Transport;
using Json = nlohmann::json;

// Streaming CSV (time, keys..., values...): each key's values summed over
// the intervals, the first `keys` columns after time being the key.
std::map<std::string, std::vector<int64_t>> csv_sums(const std::vector<std::string>& lines, size_t keys = 1) {
  std::map<std::string, std::vector<int64_t>> out;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> cells;
    std::stringstream ss(lines[i].substr(0, lines[i].size() - 1));  // without the \r
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    std::string key;
    for (size_t k = 1; k <= keys && k < cells.size(); ++k) key += cells[k];
    auto& sums = out[key];
    sums.resize(cells.size() - 1 - keys, 0);
    for (size_t c = 1 + keys; c < cells.size(); ++c) sums[c - 1 - keys] += std::stoll(cells[c]);
  }
  return out;
}

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
            "pivot: 1:11: unknown tracepoint 'App.requets'; did you mean 'App.request'? known tracepoints: "
            "App.client, "
            "App.request");
  EXPECT_EQ(err[2], "          ^");
}

TEST_F(CliTest, NoAgentsIsAClearError) {
  int status = 0;
  auto p = pivot({"query", kSeedLike});
  auto err = p->rest_err();
  status = p->wait();
  EXPECT_EQ(WEXITSTATUS(status), 1);
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

// Ctrl-C while pivot is blocked writing to a full pipe (a reader that fell
// behind): the write goes on once the reader reads, and the final answer
// still comes. It failed with EINTR before, and pivot exited 1 without it.
TEST_F(CliTest, InterruptWhileStdoutIsFullStillGivesTheFinalAnswer) {
  Subprocess& a = app("h1", "alpha");
  auto q = pivot({"query", "--format", "json", "--interval", "20", kSeedLike});
  ASSERT_GE(fcntl(q->stdout_fd(), F_SETPIPE_SZ, 4096), 4096);  // fills in about a second
  ASSERT_TRUE(q->wait_err("query installed"));
  fire(a, 4);
  std::string wchan;  // pipe_write, or anon_pipe_write on newer kernels
  auto blocked = [&] { return wchan.find("pipe_write") != std::string::npos; };
  for (int i = 0; i < 1000 && !blocked(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream in("/proc/" + std::to_string(q->pid()) + "/wchan");
    std::getline(in, wchan);
  }
  ASSERT_TRUE(blocked()) << "pivot never blocked on its stdout: " << wchan;
  q->signal(SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the signal lands in the write
  auto lines = q->rest();
  EXPECT_EQ(q->wait(), 0);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(Json::parse(lines.back())["total"], seed_like_total({4}));
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
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "time,c.app,SUM(r.bytes),COUNT\r");
  EXPECT_EQ(csv_sums(lines),
            (std::map<std::string, std::vector<int64_t>>{{"app-0", {6, 2}}, {"app-1", {4, 2}}}));

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
  auto named_lines = named->rest(), last_lines = last->rest();
  ASSERT_FALSE(named_lines.empty());
  ASSERT_FALSE(last_lines.empty());
  EXPECT_EQ(named_lines[0], "time,SUM(r.bytes)\r");
  EXPECT_EQ(last_lines[0], "time,COUNT\r");
  EXPECT_EQ(csv_sums(named_lines, 0), (std::map<std::string, std::vector<int64_t>>{{"", {10}}}));
  EXPECT_EQ(csv_sums(last_lines, 0), (std::map<std::string, std::vector<int64_t>>{{"", {4}}}));

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

// The conventions of docs/cli.md: exit status 0 ok, 1 a query or runtime
// error, 2 a usage error; "did you mean"; --version; global options after
// the command; durations with units.
struct Ran {
  int status;
  std::vector<std::string> out, err;
};

Ran run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), kPivotCli);
  Subprocess p(args);
  Ran r;
  r.out = p.rest();
  r.err = p.rest_err();
  int st = p.wait();
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

TEST(CliConventions, VersionAndHelpExitZero) {
  Ran v = run_cli({"--version"});
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out, std::vector<std::string>{"pivot " PIVOT_VERSION});
  Ran h = run_cli({"--help"});
  EXPECT_EQ(h.status, 0);
  EXPECT_TRUE(pivot::testing::any_contains(
      h.out, "Exit status: 0 ok; 1 a query or runtime error (no agents found, a bad query, serve refused);"));
  EXPECT_EQ(run_cli({"query", "--help"}).status, 0);
}

TEST(CliConventions, UsageErrorsExitTwoAndSuggest) {
  Ran cmd = run_cli({"qeury", "x"});
  EXPECT_EQ(cmd.status, 2);
  EXPECT_EQ(cmd.err, (std::vector<std::string>{"pivot: unknown command 'qeury'; did you mean 'query'?",
                                               "Run 'pivot --help' for usage."}));
  Ran opt = run_cli({"query", "--fromat", "json", "x"});
  EXPECT_EQ(opt.status, 2);
  ASSERT_FALSE(opt.err.empty());
  EXPECT_EQ(opt.err[0], "pivot: unknown option '--fromat' for 'query'; did you mean '--format'?");
  Ran far = run_cli({"frobnicate"});
  EXPECT_EQ(far.status, 2);
  ASSERT_FALSE(far.err.empty());
  EXPECT_EQ(far.err[0], "pivot: unknown command 'frobnicate'");
  Ran value = run_cli({"query", "--interval", "5parsecs", "x"});
  EXPECT_EQ(value.status, 2);
  ASSERT_FALSE(value.err.empty());
  EXPECT_EQ(value.err[0], "pivot: --interval: parsecs unit not recognized. Allowed values: {h,m,ms,s}");
  Ran none = run_cli({});
  EXPECT_EQ(none.status, 2);
  EXPECT_TRUE(pivot::testing::any_contains(none.err, "Usage:"));
  EXPECT_EQ(run_cli({"--transport", "http://host", "ps"}).status, 2);
  EXPECT_EQ(run_cli({"query", "--lease", "50ms", "--interval", "1s", "x"}).status, 2);
}

TEST_F(CliTest, GlobalOptionsMayFollowTheCommand) {
  app("h1", "alpha");
  Ran ps = run_cli({"ps", "--runtime-dir", h_.dir()});
  EXPECT_EQ(ps.status, 0);
  ASSERT_EQ(ps.out.size(), 2u);
  EXPECT_NE(ps.out[1].find("alpha"), std::string::npos);
  Ran tps = run_cli({"tracepoints", "--format", "json", "--runtime-dir=" + h_.dir()});
  EXPECT_EQ(tps.status, 0);
  ASSERT_EQ(tps.out.size(), 1u);
  EXPECT_EQ(Json::parse(tps.out[0])[1]["name"], "App.request");
}

TEST_F(CliTest, PsAsJsonAndNoAgentsExitsOneWithAHint) {
  app("h1", "alpha");
  auto out = run({"ps", "--format", "json"});
  ASSERT_EQ(out.size(), 1u);
  Json j = Json::parse(out[0]);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["procName"], "alpha");
  EXPECT_EQ(j[0]["host"], "h1");
  EXPECT_EQ(j[0]["tracepoints"], 2);
  EXPECT_EQ(j[0]["queries"], 0);
  EXPECT_GT(j[0]["pid"].get<int>(), 0);

  Ran none = run_cli({"--runtime-dir", h_.dir() + "-empty", "ps"});
  EXPECT_EQ(none.status, 1);
  EXPECT_TRUE(none.out.empty());
  EXPECT_EQ(none.err, std::vector<std::string>{"pivot: no agents found in " + h_.dir() +
                                               "-empty (is PIVOT_RUNTIME_DIR the same as the processes'?)"});
  Ran json = run_cli({"--runtime-dir", h_.dir() + "-empty", "ps", "--format", "json"});
  EXPECT_EQ(json.status, 1);
  EXPECT_EQ(json.out, std::vector<std::string>{"[]"});
}

// --duration 2s and --interval 100ms mean what 2 and 100 mean.
TEST_F(CliTest, DurationsTakeUnits) {
  Subprocess& a = app("h1", "alpha");
  auto q = pivot({"query", "--format", "json", "--interval", "100ms", "--duration", "2s", kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed"));
  fire(a, 3);
  auto st = q->wait_for(10000);
  ASSERT_TRUE(st.has_value()) << "--duration 2s did not end the query";
  EXPECT_EQ(WEXITSTATUS(*st), 0);
  auto lines = q->rest();
  // An interval line before the final one: the interval is 100 ms, not 100 s.
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(Json::parse(lines.back())["total"], seed_like_total({3}));
}

// What tools/pivot/completion.bash offers for a command line whose last
// word is being completed.
std::vector<std::string> complete(const std::vector<std::string>& words) {
  std::string line = "source '" PIVOT_SOURCE_DIR "/tools/pivot/completion.bash'; COMP_WORDS=(";
  for (const auto& w : words) line += "'" + w + "' ";
  line +=
      "); COMP_CWORD=" + std::to_string(words.size() - 1) + "; _pivot; printf '%s\\n' \"${COMPREPLY[@]}\"";
  Subprocess bash({"/bin/bash", "-c", line});
  auto out = bash.rest();
  bash.wait();
  return out;
}

TEST_F(CliTest, BashCompletesCommandsOptionsAndTracepoints) {
  app("h1", "alpha");
  EXPECT_EQ(complete({kPivotCli, "qu"}), (std::vector<std::string>{"query", "queries"}));
  EXPECT_EQ(complete({kPivotCli, "--runtime-dir", h_.dir(), "query", "--form"}),
            (std::vector<std::string>{"--format"}));
  EXPECT_EQ(complete({kPivotCli, "query", "--format", ""}),
            (std::vector<std::string>{"table", "json", "csv"}));
  EXPECT_EQ(complete({kPivotCli, "--runtime-dir", h_.dir(), "query", "From r In App.r"}),
            (std::vector<std::string>{"From r In App.request"}));
  EXPECT_EQ(complete({kPivotCli, "--runtime-dir", h_.dir(), "explain", "From r In App."}),
            (std::vector<std::string>{"From r In App.client", "From r In App.request"}));
}

TEST(CliConventions, TheManPageHasEveryCommandAndTheExitStatus) {
#ifndef PIVOT_MAN_PAGE
  GTEST_SKIP() << "no man page was built: install help2man (scripts/setup.sh) and reconfigure";
#else
  std::ifstream in(PIVOT_MAN_PAGE);
  ASSERT_TRUE(in) << PIVOT_MAN_PAGE;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string man = ss.str();
  EXPECT_NE(man.find(".TH PIVOT \"1\""), std::string::npos);
  EXPECT_NE(man.find("pivot " PIVOT_VERSION), std::string::npos);
  for (const char* section : {".SH \"EXIT STATUS\"", ".SH ENVIRONMENT", ".SH EXAMPLES", ".SH COMMANDS"}) {
    EXPECT_NE(man.find(section), std::string::npos) << section;
  }
  for (const char* cmd : {"ps", "tracepoints", "functions", "explain", "query", "serve", "queries", "stop"}) {
    EXPECT_NE(man.find(std::string(".SS \"pivot ") + cmd + "\""), std::string::npos) << cmd;
  }
#endif
}

// Into a pipe the table streams: one table per interval, the final last.
TEST_F(CliTest, APipedTableStreamsOneTablePerInterval) {
  Subprocess& a = app("h1", "alpha");
  auto q = pivot({"query", "--interval", "100ms", "--duration", "2s", kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed"));
  fire(a, 2);
  auto lines = q->rest(15000);
  int live = 0, final = 0;
  for (const auto& l : lines) {
    live += l.rfind("live query at ", 0) == 0;
    final += l.rfind("final query at ", 0) == 0;
  }
  EXPECT_GE(live, 1);
  EXPECT_EQ(final, 1);
  ASSERT_GE(lines.size(), 4u);
  // The last table: header, column names, two rows (and the blank line).
  EXPECT_EQ(lines[lines.size() - 5].rfind("final query at ", 0), 0u) << lines[lines.size() - 5];
  EXPECT_NE(lines[lines.size() - 3].find("app-0"), std::string::npos);
  EXPECT_NE(lines[lines.size() - 2].find("app-1"), std::string::npos);
}

}  // namespace
