// Without the NATS component (src/nats, which this stage's tests do not
// link), a nats:// or tls:// transport is an error that says what to link.
#include <gtest/gtest.h>

#include <string>

#include "frontend/link.h"
#include "transport/nats_config.h"

namespace pivot {
namespace {

TEST(NatsNotLinked, FrontendSaysWhatToLink) {
  auto link = frontend::make_link("tls://127.0.0.1:4222", "/tmp/unused");
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().message(), transport::kNatsNotLinked);
  EXPECT_NE(link.error().message().find("pivot::nats"), std::string::npos);
}

}  // namespace
}  // namespace pivot
