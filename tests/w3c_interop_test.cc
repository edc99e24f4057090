// pivot's baggage inside a W3C `baggage` header, next to other members, and
// a `traceparent`, through two real processes: a happened-before query
// across them is answered exactly, and the other members arrive intact.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "support/cli_harness.h"

namespace pivot::testing {
namespace {

using Json = nlohmann::json;

const std::string kW3cApp = std::string(PIVOT_BINARY_DIR) + "/tests/w3c_app";

// The server's bytes by the client's user, for requests whose trace id
// arrived with them (the client and server see the same traceId).
constexpr const char* kQuery =
    "From r In W3c.serve Join c In First(W3c.call) On c -> r Where c.traceId == r.traceId "
    "GroupBy c.user Select c.user, SUM(r.bytes), COUNT";

TEST(W3cInterop, HappenedBeforeAcrossProcessesThroughTheW3cBaggageHeader) {
  CliHarness h(Transport::kLocal);
  ASSERT_TRUE(h.start()) << h.error();
  const std::string socket = h.dir() + "/w3c.sock";
  Subprocess server({kW3cApp, "serve", socket}, h.app_env("srv", "server"));
  ASSERT_EQ(server.line().value_or("<none>"), "ready");
  Subprocess client({kW3cApp, "call", socket}, h.app_env("cli", "client"));
  ASSERT_EQ(client.line().value_or("<none>"), "ready");

  auto q = h.pivot({"query", "--format", "json", "--interval", "100", kQuery});
  ASSERT_TRUE(q->wait_err("query installed"));
  client.write("call 9\n");
  std::string ok = client.line(60'000).value_or("<none>");
  // OpenTelemetry's members first, byte for byte, then pivot's.
  const std::string want = "ok userId=alice,isProduction=false;p=1,pivot=";
  ASSERT_EQ(ok.substr(0, want.size()), want);
  q->signal(SIGINT);
  auto lines = q->rest();
  ASSERT_FALSE(lines.empty());
  // u1: requests 1, 3, 5, 7, 9; u0: 2, 4, 6, 8.
  EXPECT_EQ(Json::parse(lines.back())["total"],
            (Json{{"columns", {"c.user", "SUM(r.bytes)", "COUNT"}}, {"rows", {{"u0", 20, 4}, {"u1", 25, 5}}}}));
  client.write("exit\n");
}

}  // namespace
}  // namespace pivot::testing
