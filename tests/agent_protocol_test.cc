// Bad wire messages to a real agent: each gets a clear error, none crashes
// it, and it goes on serving.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "support/subprocess.h"
#include "transport/local.h"

namespace {

using Json = nlohmann::json;
using pivot::testing::Subprocess;

class AgentProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/pivot-proto-test-" + std::to_string(getpid());
    app_ = std::make_unique<Subprocess>(
        std::vector<std::string>{std::string(PIVOT_BINARY_DIR) + "/tests/agent_app"},
        std::vector<std::string>{"PIVOT_RUNTIME_DIR=" + dir_});
    ASSERT_EQ(app_->line().value_or(""), "ready");
    auto fd = pivot::transport::connect_unix(pivot::transport::socket_path(dir_, app_->pid()));
    ASSERT_TRUE(fd) << fd.error().message();
    fd_ = *fd;
  }
  void TearDown() override {
    close(fd_);
    app_.reset();
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!system(cmd.c_str());
  }

  Json ask(const std::string& payload) {
    EXPECT_TRUE(pivot::transport::write_frame(fd_, payload).ok());
    auto reply = pivot::transport::read_frame(fd_, reader_, 5000);
    if (!reply) return Json{{"read_error", reply.error().message()}};
    return Json::parse(*reply);
  }
  void expect_error(const std::string& payload, const std::string& message) {
    Json r = ask(payload);
    EXPECT_EQ(r.value("type", ""), "error") << r.dump();
    EXPECT_EQ(r.value("message", ""), message) << payload;
  }

  std::string dir_;
  std::unique_ptr<Subprocess> app_;
  int fd_ = -1;
  pivot::transport::FrameReader reader_;
};

TEST_F(AgentProtocolTest, MalformedMessagesGetErrorsAndTheAgentGoesOn) {
  expect_error("not json", "malformed message: not JSON");
  expect_error("[1,2]", "malformed message: expected a JSON object");
  expect_error(R"({"type":"hello"})", "malformed message: no protocol version \"v\"");
  expect_error(R"({"v":99,"type":"hello"})", "unsupported protocol version 99 (this side speaks 1)");
  expect_error(R"({"v":1})", "malformed message: no \"type\"");
  expect_error(R"({"v":1,"type":"reboot"})", "unknown message type 'reboot'");
  expect_error(R"({"v":1,"type":"install","text":"From r In App.request Select COUNT"})",
               "message 'install' needs a string \"id\"");
  expect_error(R"({"v":1,"type":"install","id":"00000000000000aa","text":"From r In Nope Select COUNT"})",
               "1:11: unknown tracepoint 'Nope'; known tracepoints: App.client, App.request\n"
               "From r In Nope Select COUNT\n"
               "          ^");
  expect_error(
      R"({"v":1,"type":"install","id":"00000000000000ab","text":"From r In App.request Select COUNT",)"
      R"("interval_ms":1})",
      "interval_ms must be 10..3600000 and lease_ms at least the interval");
  expect_error(
      R"({"v":1,"type":"install","id":"00000000000000ac","text":"From r In App.request Select COUNT",)"
      R"("catalog":{"x":1}})",
      "catalog: expected an array of tracepoints");
  // Fields of the wrong JSON type are errors, not exceptions in the agent.
  expect_error(
      R"({"v":1,"type":"install","id":"00000000000000ad","text":"From r In App.request Select COUNT",)"
      R"("interval_ms":"fast"})",
      "message 'install' needs an integer \"interval_ms\"");
  expect_error(
      R"({"v":1,"type":"install","id":"00000000000000ae","text":"From r In App.request Select COUNT",)"
      R"("lease_ms":[1]})",
      "message 'install' needs an integer \"lease_ms\"");
  // An export of a type nobody knows is just untyped.
  Json odd = ask(R"({"v":1,"type":"install","id":"00000000000000af","text":"From r In Odd Select COUNT",)"
                 R"("catalog":[{"name":"Odd","exports":[{"name":"x","type":5,"list":"yes"}]}]})");
  EXPECT_EQ(odd["type"], "installed") << odd.dump();
  expect_error(R"({"v":1,"type":"install","id":"0x1","text":"From r In App.request Select COUNT"})",
               "query id '0x1' is not 1 to 16 hex digits");
  expect_error(R"({"v":1,"type":"uninstall","id":"ffff"})", "no installed query ffff");
  expect_error(R"({"v":1,"type":"flush"})", "message 'flush' needs a string \"id\"");
  Json info = ask(R"({"v":1,"type":"hello"})");
  EXPECT_EQ(info["type"], "info");
  EXPECT_EQ(info["pid"], app_->pid());
}

TEST_F(AgentProtocolTest, InstallFlushUninstall) {
  Json r =
      ask(R"({"v":1,"type":"install","id":"00000000000000b1","text":"From r In App.request Select COUNT"})");
  EXPECT_EQ(r["type"], "installed");
  app_->write("fire 7\n");
  ASSERT_EQ(app_->line().value_or(""), "ok");
  r = ask(R"({"v":1,"type":"flush","id":"00000000000000b1"})");
  ASSERT_EQ(r["type"], "report") << r.dump();
  EXPECT_EQ(r["final"], true);
  EXPECT_EQ(r["queries"][0]["groups"], Json::parse("[[[],[[7,null]]]]"));
  r = ask(R"({"v":1,"type":"install","id":"00000000000000b1","text":"From r In App.request Select COUNT"})");
  EXPECT_EQ(r.value("message", ""), "query 00000000000000b1 is already installed");
  // A frontend re-sending it after a network fault gets a confirmation.
  r = ask(R"({"v":1,"type":"install","id":"00000000000000b1","text":"From r In App.request Select COUNT",)"
          R"("again":true})");
  EXPECT_EQ(r["type"], "installed");
  EXPECT_EQ(r["already"], true);
  r = ask(
      R"x({"v":1,"type":"install","id":"00000000000000b1","text":"From r In App.request Select MAX(r.bytes)",)x"
      R"("again":true})");
  EXPECT_EQ(r.value("message", ""), "query 00000000000000b1 is already installed");
  r = ask(R"({"v":1,"type":"uninstall","id":"00000000000000b1"})");
  EXPECT_EQ(r["type"], "uninstalled");
}

TEST_F(AgentProtocolTest, OversizedFrameClosesTheConnectionOnly) {
  std::string header = "\x7f\xff\xff\xff";  // 2 GiB announced
  ASSERT_EQ(send(fd_, header.data(), header.size(), 0), 4);
  auto reply = pivot::transport::read_frame(fd_, reader_, 5000);
  ASSERT_TRUE(reply);
  Json r = Json::parse(*reply);
  EXPECT_EQ(r["message"], "frame of 2147483647 bytes is over the limit of 1048576");
  auto closed = pivot::transport::read_frame(fd_, reader_, 5000);
  EXPECT_FALSE(closed);
  // A new connection is served as before.
  auto fd = pivot::transport::connect_unix(pivot::transport::socket_path(dir_, app_->pid()));
  ASSERT_TRUE(fd);
  close(fd_);
  fd_ = *fd;
  reader_ = pivot::transport::FrameReader();
  EXPECT_EQ(ask(R"({"v":1,"type":"hello"})")["type"], "info");
}

}  // namespace
