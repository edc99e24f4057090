// The gRPC example end to end: a server and two client applications, each a
// real process with a pivot agent, talking gRPC over loopback; queries
// installed with the `pivot` CLI join client and server events by
// happened-before, and their totals are exactly what the calls made.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/subprocess.h"

namespace {

using pivot::testing::Subprocess;

// What the store returns for call i of a client (client.cc, server.cc):
// key of 1 + i % 4 characters, 100 bytes and 10 a character.
int64_t bytes_of_call(int i) { return 100 + 10 * (1 + i % 4); }

struct Expected {
  int calls;
  int64_t bytes;
};

Expected expected(int calls) {
  Expected e{calls, 0};
  for (int i = 0; i < calls; ++i) e.bytes += bytes_of_call(i);
  return e;
}

class GrpcExample : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/pivot-grpc-test-" + std::to_string(getpid());
    env_ = {"PIVOT_RUNTIME_DIR=" + dir_};
    server_ = std::make_unique<Subprocess>(std::vector<std::string>{SERVER_BIN}, env_);
    std::string listening = server_->line().value_or("");
    ASSERT_EQ(listening.rfind("listening ", 0), 0u) << listening;
    port_ = listening.substr(10);
    for (const char* app : {"alpha", "beta"}) {
      clients_.push_back(
          std::make_unique<Subprocess>(std::vector<std::string>{CLIENT_BIN, port_, app}, env_));
      ASSERT_EQ(clients_.back()->line().value_or(""), "ready");
    }
  }
  void TearDown() override {
    for (auto& c : clients_) c->write("exit\n");
    if (server_) server_->write("exit\n");
    for (auto& c : clients_) c->wait();
    if (server_) server_->wait();
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!system(cmd.c_str());
  }

  // Starts `pivot query` for each text; waits until every one is installed.
  std::vector<std::unique_ptr<Subprocess>> install(const std::vector<std::string>& queries) {
    std::vector<std::unique_ptr<Subprocess>> out;
    for (const auto& q : queries) {
      out.push_back(std::make_unique<Subprocess>(std::vector<std::string>{
          PIVOT_CLI, "--runtime-dir", dir_, "query", "--format", "json", "--interval", "100", q}));
    }
    for (auto& q : out) EXPECT_TRUE(q->wait_err("query installed"));
    return out;
  }

  // Each client makes its calls: alpha 10, beta 6.
  void run_calls() {
    int n[] = {10, 6};
    for (size_t k = 0; k < clients_.size(); ++k) clients_[k]->write("go " + std::to_string(n[k]) + "\n");
    for (size_t k = 0; k < clients_.size(); ++k) {
      EXPECT_EQ(clients_[k]->line().value_or(""), "done " + std::to_string(n[k]));
    }
  }

  // The total of a running `pivot query`, after stopping it.
  static nlohmann::json total(Subprocess& q) {
    q.signal(SIGINT);
    auto lines = q.rest();
    if (lines.empty()) return nullptr;
    return nlohmann::json::parse(lines.back())["total"]["rows"];
  }

  std::string dir_;
  std::vector<std::string> env_;
  std::string port_;
  std::unique_ptr<Subprocess> server_;
  std::vector<std::unique_ptr<Subprocess>> clients_;
};

TEST_F(GrpcExample, ServerEventsJoinTheClientThatCausedThem) {
  auto queries = install({
      // Request direction: the client's tuple rides in the call's metadata,
      // then through the server's thread pool.
      "From r In Store.read Join c In First(Client.call) On c -> r GroupBy c.app "
      "Select c.app, COUNT, SUM(r.bytes)",
      // traceparent: the read happens in the trace the client's call was in.
      "From r In Store.read Join c In First(Client.call) On c -> r Where r.traceId == c.traceId "
      "GroupBy c.app Select c.app, COUNT",
      // Response direction: what the server packed comes back in the
      // trailing metadata and joins the client's own later event.
      "From d In Client.done Join r In Store.read On r -> d GroupBy d.app Select d.app, COUNT, SUM(r.bytes)",
  });
  run_calls();
  Expected alpha = expected(10), beta = expected(6);
  nlohmann::json calls_and_bytes = {{"alpha", alpha.calls, alpha.bytes}, {"beta", beta.calls, beta.bytes}};
  EXPECT_EQ(total(*queries[0]), calls_and_bytes);
  EXPECT_EQ(total(*queries[1]), nlohmann::json::array({{"alpha", alpha.calls}, {"beta", beta.calls}}));
  EXPECT_EQ(total(*queries[2]), calls_and_bytes);
}

}  // namespace
