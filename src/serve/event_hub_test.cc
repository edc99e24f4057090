#include "serve/event_hub.h"

#include <gtest/gtest.h>

namespace pivot::serve {
namespace {

TEST(EventHub, SubscribersGetTheirQuerysMessagesAsSse) {
  ServeLimits limits;
  LimitCounters counters;
  EventHub hub(limits, &counters);
  auto all = hub.subscribe("");
  auto seed = hub.subscribe("seed");
  hub.publish("other", "interval", R"({"query":"other"})");
  hub.publish("seed", "state", R"({"query":"seed","state":"paused"})");
  EXPECT_EQ(*hub.next(*all, 0), "event: interval\ndata: {\"query\":\"other\"}\n\n");
  EXPECT_EQ(*hub.next(*all, 0), "event: state\ndata: {\"query\":\"seed\",\"state\":\"paused\"}\n\n");
  EXPECT_EQ(*hub.next(*seed, 0), "event: state\ndata: {\"query\":\"seed\",\"state\":\"paused\"}\n\n");
  EXPECT_EQ(*hub.next(*seed, 0), "");  // nothing yet: the caller sends a keep-alive
  hub.close();
  EXPECT_FALSE(hub.next(*seed, 0));
}

TEST(EventHub, ClientsAndBacklogAreBoundedAndCounted) {
  ServeLimits limits;
  limits.max_sse_clients = 2;
  limits.sse_backlog = 3;
  limits.sse_backlog_bytes = 1000;
  LimitCounters counters;
  EventHub hub(limits, &counters);
  auto slow = hub.subscribe("");
  auto big = hub.subscribe("");
  EXPECT_EQ(hub.subscribe(""), nullptr);
  EXPECT_EQ(counters.hits(Limit::kSseClients), 1u);
  for (int i = 0; i < 3; ++i) {
    hub.publish("q", "interval", "{}");
    EXPECT_TRUE(hub.next(*big, 0));
  }
  hub.publish("q", "interval", "{}");  // the fourth message behind: cut off
  EXPECT_FALSE(hub.next(*slow, 0));
  EXPECT_EQ(counters.hits(Limit::kSseSlowClient), 1u);
  hub.publish("q", "interval", std::string(1000, 'x'));  // over the bytes at once
  EXPECT_FALSE(hub.next(*big, 0));
  EXPECT_EQ(counters.hits(Limit::kSseSlowClient), 2u);
  hub.unsubscribe(slow);
  EXPECT_EQ(hub.clients(), 1u);
  EXPECT_NE(hub.subscribe(""), nullptr);
}

}  // namespace
}  // namespace pivot::serve
