// A program built like a service (-O2 -g; support/debuginfo_service.cc)
// that never linked pivot, queried through libpivot_preload.so and the
// `pivot` CLI as a user would: `pivot functions` shows what can be hooked
// with parameter names, `pivot explain` says how each export is read, and
// queries naming parameters (of an out-of-line member of a plain struct, of
// a clone GCC made of a static function) answer exactly what the program
// passed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/sanitizers.h"
#include "support/subprocess.h"

namespace {

using Json = nlohmann::json;
using pivot::testing::Subprocess;

const std::string kBin = PIVOT_BINARY_DIR;

#if PIVOT_ASAN || PIVOT_TSAN || defined(__clang__)
constexpr bool kClonesAreGccs = false;  // which clones exist depends on the instrumentation
#else
constexpr bool kClonesAreGccs = true;
#endif

class DebugInfoCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/pivot-debuginfo-cli-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    app_ = std::make_unique<Subprocess>(
        std::vector<std::string>{kBin + "/tests/debuginfo_service"},
        std::vector<std::string>{"LD_PRELOAD=" + kBin + "/tools/libpivot_preload.so",
                                 "PIVOT_RUNTIME_DIR=" + dir_, "PIVOT_PROCNAME=service", "PIVOT_HOST=svc-host",
                                 "PIVOT_INTERVAL_MS=100", "ASAN_OPTIONS=verify_asan_link_order=0",
                                 "PIVOT_HOOK_INT3=allow"});
    ASSERT_EQ(app_->line().value_or("<none>"), "ready");
  }
  void TearDown() override {
    app_.reset();
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!system(cmd.c_str());
  }

  // `pivot ARGS...`: its exit status and standard output.
  std::pair<int, std::string> pivot(std::vector<std::string> args) {
    args.insert(args.begin(), {kBin + "/tools/pivot", "--runtime-dir", dir_});
    Subprocess p(args);
    std::string out;
    for (const std::string& l : p.rest(60'000)) out += l + "\n";
    return {p.wait(), out};
  }

  // Runs `query` while the program does `run n`; the final cumulative table.
  Json answer(const std::string& query, int n) {
    Subprocess q({kBin + "/tools/pivot", "--runtime-dir", dir_, "query", "--format", "json", "--interval",
                  "100", query});
    if (!q.wait_err("query installed")) {
      std::string said;
      for (const std::string& l : q.rest_err(1000)) said += l + "\n";
      ADD_FAILURE() << "not installed: " << said;
      return Json();
    }
    app_->write("run " + std::to_string(n) + "\n");
    EXPECT_EQ(app_->line().value_or("<none>"), "ok");
    q.signal(SIGINT);
    auto lines = q.rest();
    EXPECT_EQ(q.wait(), 0);
    if (lines.empty()) return Json();
    return Json::parse(lines.back())["total"];
  }

  std::string dir_;
  std::unique_ptr<Subprocess> app_;
};

const Json* find_function(const Json& functions, const std::string& signature) {
  for (const Json& f : functions) {
    if (f["signature"] == signature) return &f;
  }
  return nullptr;
}

TEST_F(DebugInfoCli, FunctionsListsParametersHookabilityAndClones) {
  auto [status, out] = pivot({"functions", "--format", "json", "svc::*"});
  ASSERT_EQ(status, 0) << out;
  Json listing = Json::parse(out);
  ASSERT_EQ(listing["programs"].size(), 1u) << out;
  const Json& program = listing["programs"][0];
  EXPECT_EQ(program["program"], kBin + "/tests/debuginfo_service");
  EXPECT_EQ(program["processes"][0]["procName"], "service");
  const Json& functions = program["functions"];

  const Json* add = find_function(functions, "svc::Counter::add(long, int)");
  ASSERT_NE(add, nullptr) << out;
  EXPECT_EQ((*add)["debug_info"], true);
  EXPECT_EQ((*add)["member"], true);
  EXPECT_EQ((*add)["hookable"], true);
  EXPECT_EQ((*add)["how"], "debug info (" + kBin + "/tests/debuginfo_service)");
  EXPECT_EQ((*add)["params"],
            (Json{{{"name", "this"}, {"type", "svc::Counter*"}, {"where", "rdi"}, {"readable", true}},
                  {{"name", "n"}, {"type", "long"}, {"where", "rsi"}, {"readable", true}},
                  {{"name", "k"}, {"type", "int"}, {"where", "rdx"}, {"readable", true}}}));
  EXPECT_EQ((*add)["returns"], "int64_t, from rax");

  // Types are spelled as users write them.
  const Json* put = nullptr;
  for (const Json& f : functions) {
    if (f["signature"].get<std::string>().starts_with("svc::Store::put(")) put = &f;
  }
  ASSERT_NE(put, nullptr) << out;
  EXPECT_EQ((*put)["params"][1],
            (Json{{"name", "key"}, {"type", "std::string const&"}, {"where", "rsi"}, {"readable", true}}));

  // A std::string returned by value: `this` comes after the hidden pointer.
  const Json* describe = find_function(functions, "svc::Store::describe[abi:cxx11](int) const");
  ASSERT_NE(describe, nullptr) << out;
  EXPECT_EQ((*describe)["params"][0]["where"], "rsi");
  EXPECT_EQ((*describe)["params"][1],
            (Json{{"name", "width"}, {"type", "int"}, {"where", "rdx"}, {"readable", true}}));
  EXPECT_EQ((*describe)["returns"], "std::string, through rax");

  if (kClonesAreGccs) {
    // scaled exists only as GCC's clone for times = 3, listed under its name.
    const Json* scaled = find_function(functions, "svc::scaled(long, int) [clone .constprop.0]");
    ASSERT_NE(scaled, nullptr) << out;
    EXPECT_EQ((*scaled)["params"][1],
              (Json{{"name", "times"}, {"type", "int"}, {"where", "the constant 3"}, {"readable", true}}));
    // checksum's split-off piece is not listed; refill's cold piece neither.
    EXPECT_EQ(out.find(".part"), std::string::npos);
    EXPECT_EQ(out.find(".cold"), std::string::npos);
  }

  // The text form says the same, per program.
  auto [text_status, text] = pivot({"functions", "svc::Counter::add"});
  EXPECT_EQ(text_status, 0);
  EXPECT_EQ(text, kBin + "/tests/debuginfo_service — " + std::to_string(app_->pid()) +
                      " (service@svc-host)\n"
                      "  svc::Counter::add(long, int)\n"
                      "      arguments: debug info (" +
                      kBin +
                      "/tests/debuginfo_service)\n"
                      "      this: svc::Counter* (rdi)\n"
                      "      n: long (rsi)\n"
                      "      k: int (rdx)\n"
                      "      ret: int64_t, from rax\n"
                      "      hookable\n");

  // Nothing matches: the agent says so, with names like the one written.
  auto [none_status, none] = pivot({"functions", "svc::Counter::ad"});
  EXPECT_EQ(none_status, 0);
  EXPECT_NE(none.find("no function matches 'svc::Counter::ad'; similar: svc::Counter::add(long, int)"),
            std::string::npos)
      << none;
}

TEST_F(DebugInfoCli, QueriesNameParametersAndGetWhatTheProgramPassed) {
  const int n = 20;
  const int64_t sum_k = n * (n + 1) / 2;
  // An out-of-line member of a plain struct: nothing but debug information
  // shows it is a member function.
  EXPECT_EQ(answer("Tracepoint a = Entry(\"svc::Counter::add\") Exports n = n, k = k\n"
                   "From e In a Select COUNT, SUM(e.n), SUM(e.k)",
                   n),
            (Json{{"columns", {"COUNT", "SUM(e.n)", "SUM(e.k)"}}, {"rows", {{n, sum_k, 2 * n}}}}));
  EXPECT_EQ(answer("Tracepoint p = Entry(\"svc::Store::put\") Exports key = key, size = size\n"
                   "From e In p GroupBy e.key Select e.key, SUM(e.size), COUNT",
                   n),
            (Json{{"columns", {"e.key", "SUM(e.size)", "COUNT"}},
                  {"rows", {{"even", 110, 10}, {"odd", 100, 10}}}}));
  // A static function GCC cloned (times = 3 built in): every call counts,
  // with its amount, its constant and its result.
  EXPECT_EQ(answer("Tracepoint s = Return(\"svc::scaled\") Exports amount = amount, times = times\n"
                   "From e In s Select COUNT, SUM(e.amount), SUM(e.times), SUM(e.ret)",
                   n),
            (Json{{"columns", {"COUNT", "SUM(e.amount)", "SUM(e.times)", "SUM(e.ret)"}},
                  {"rows", {{2 * n, 3 * sum_k, 6 * n, 9 * sum_k + 6 * n}}}}));
}

TEST_F(DebugInfoCli, ExplainSaysHowEachAgentReadsTheExports) {
  auto [status, out] = pivot({"explain",
                              "Tracepoint a = Entry(\"svc::Counter::add\") Exports n = n, k = arg2\n"
                              "From e In a Select SUM(e.n), SUM(e.k)"});
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(out, "A1 @ a: OBSERVE n, k; EMIT q1 SUM(n), SUM(k)\nagent " + std::to_string(app_->pid()) +
                     " (service@svc-host):\n  a @ svc::Counter::add(long, int) (" + kBin +
                     "/tests/debuginfo_service): debug info (" + kBin +
                     "/tests/debuginfo_service); n = n (rsi, int), k = arg2 (rdx, int)\n");
}

}  // namespace
