// Without the NATS component (src/nats, which this stage's tests do not
// link), a nats:// transport is an error that says what to link; a
// malformed one is still a URL error.
#include <gtest/gtest.h>

#include <string>

#include "pivot/agent.h"
#include "transport/nats_config.h"

namespace pivot {
namespace {

TEST(NatsNotLinked, AgentSaysWhatToLink) {
  AgentOptions o;
  o.transport = "nats://agent:pw@127.0.0.1:4222";
  Status s = Agent::start(o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), transport::kNatsNotLinked);
  EXPECT_FALSE(Agent::running());

  o.transport = "nats://127.0.0.1:99999";
  s = Agent::start(o);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("port '99999'"), std::string::npos) << s.error().message();
}

}  // namespace
}  // namespace pivot
