// libpivot_preload.so makes a program that never linked pivot queryable:
// `pivot query` defines tracepoints on its functions and answers exactly.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "support/subprocess.h"

namespace {

using Json = nlohmann::json;
using pivot::testing::Subprocess;

const std::string kBin = PIVOT_BINARY_DIR;

class PreloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/pivot-preload-test-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    app_ = std::make_unique<Subprocess>(
        std::vector<std::string>{kBin + "/tests/plain_app"},
        std::vector<std::string>{"LD_PRELOAD=" + kBin + "/tools/libpivot_preload.so", "PIVOT_RUNTIME_DIR=" + dir_,
                                 "PIVOT_PROCNAME=plain", "PIVOT_INTERVAL_MS=100",
                                 // In the ASan build the library sits before ASan's runtime in the
                                 // load order, which ASan checks for no reason that matters here.
                                 "ASAN_OPTIONS=verify_asan_link_order=0",
                                 // ThreadSanitizer's runtime thread blocks SIGTRAP and never runs plain::serve.
                                 "PIVOT_HOOK_INT3=allow"});
    ASSERT_EQ(app_->line().value_or("<none>"), "ready");
  }
  void TearDown() override {
    app_.reset();
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!system(cmd.c_str());
  }

  // Runs `query` while the app serves n requests; the final cumulative table.
  Json answer(const std::string& query, int n) {
    Subprocess q({kBin + "/tools/pivot", "--runtime-dir", dir_, "query", "--format", "json", "--interval", "100",
                  query});
    EXPECT_TRUE(q.wait_err("query installed"));
    app_->write("serve " + std::to_string(n) + "\n");
    EXPECT_EQ(app_->line().value_or("<none>"), "ok");
    q.signal(SIGINT);
    auto lines = q.rest();
    EXPECT_EQ(q.wait(), 0);
    if (lines.empty()) return Json();
    Json last = Json::parse(lines.back());
    EXPECT_EQ(last["agents"], 1);
    return last["total"];
  }

  std::string dir_;
  std::unique_ptr<Subprocess> app_;
};

TEST_F(PreloadTest, EntryTracepointOnAProgramThatNeverLinkedPivot) {
  Json total = answer(
      "Tracepoint serve = Entry(\"plain::serve\") Exports bytes = arg0, client = arg1\n"
      "From s In serve GroupBy s.client, s.procName Select s.client, s.procName, SUM(s.bytes), COUNT",
      100);
  EXPECT_EQ(total, (Json{{"columns", {"s.client", "s.procName", "SUM(s.bytes)", "COUNT"}},
                         {"rows", {{"even", "plain", 2550, 50}, {"odd", "plain", 2500, 50}}}}));
}

TEST_F(PreloadTest, ReturnTracepointExportsTheReturnValue) {
  // serve returns the running total: after call i it is i(i+1)/2.
  Json total = answer(
      "Tracepoint served = Return(\"plain::serve(long, std::string const&)\") Exports bytes = arg0\n"
      "From s In served Select SUM(s.ret), SUM(s.bytes), COUNT",
      20);
  int64_t sum_ret = 0;
  for (int i = 1; i <= 20; ++i) sum_ret += i * (i + 1) / 2;
  EXPECT_EQ(total, (Json{{"columns", {"SUM(s.ret)", "SUM(s.bytes)", "COUNT"}}, {"rows", {{sum_ret, 210, 20}}}}));
}

TEST_F(PreloadTest, AnUnknownFunctionIsAClearError) {
  Subprocess q({kBin + "/tools/pivot", "--runtime-dir", dir_, "query", "--format", "json",
                "Tracepoint t = Entry(\"plain::serv\")\nFrom x In t Select COUNT"});
  auto err = q.rest_err();
  EXPECT_NE(q.wait(), 0);
  std::string all;
  for (const auto& l : err) all += l + "\n";
  EXPECT_NE(all.find("no function matches 'plain::serv'"), std::string::npos) << all;
  EXPECT_NE(all.find("plain::serve(long"), std::string::npos) << all;  // the candidate
}

}  // namespace
