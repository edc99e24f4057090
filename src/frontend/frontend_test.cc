// The frontend's install rules, against a link whose agents answer as the
// test says.
#include "frontend/frontend.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "frontend/link.h"

namespace pivot::frontend {
namespace {

using wire::Json;

AgentInfo agent(const std::string& key, pid_t pid) {
  AgentInfo a;
  a.key = key;
  a.pid = pid;
  a.proc_name = "app";
  a.host = "h";
  a.catalog.tracepoints.push_back({"Work.done", {{"n", ValueType::kInt, false}}});
  return a;
}

// Agents "a" and "b"; b never answers the install.
class SlowAgentLink : public Link {
 public:
  explicit SlowAgentLink(std::vector<std::pair<std::string, Json>>* sent) : sent_(sent) {}
  std::string where() const override { return "test"; }
  std::vector<AgentInfo> discover(std::vector<std::string>*) override {
    return {agent("a", 1), agent("b", 2)};
  }
  Status begin(const std::string&) override { return Status(); }
  std::vector<Installed> install(const std::vector<AgentInfo>& agents, const Json& message, bool,
                                 int64_t) override {
    std::vector<Installed> out;
    for (const AgentInfo& a : agents) {
      if (a.key == "b") {
        out.push_back({a, Error("no answer to the install, nor progress, for 10 s"), true});
        continue;
      }
      Json ok = wire::message("installed");
      ok["id"] = message["id"];
      out.push_back({a, ok, false});
    }
    return out;
  }
  std::vector<Answer> ask(const std::vector<AgentInfo>& agents, const Json&, int64_t) override {
    std::vector<Answer> out;
    for (const AgentInfo& a : agents) out.push_back({a, Error("not asked in this test")});
    return out;
  }
  void send(const std::string& key, const Json& message) override { sent_->emplace_back(key, message); }
  void send_all(const std::vector<std::string>& keys, const Json& message) override {
    for (const auto& k : keys) send(k, message);
  }
  bool next(int64_t, LinkEvent*) override { return false; }
  std::vector<AgentInfo> new_agents(const std::set<std::string>&) override { return {}; }

 private:
  std::vector<std::pair<std::string, Json>>* sent_;
};

TEST(Frontend, AnInstallThatDoesNotFinishInTimeIsTakenBackEverywhere) {
  std::vector<std::pair<std::string, Json>> sent;
  Frontend fe(std::make_unique<SlowAgentLink>(&sent));
  auto started = fe.start("From w In Work.done Select COUNT", QueryOptions{});
  ASSERT_FALSE(started);
  EXPECT_EQ(
      started.error().message(),
      "agent 2 (app@h) did not finish installing the query (no answer to the install, nor progress, for "
      "10 s); it was removed from every agent");
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].first, "a");
  EXPECT_EQ(sent[0].second["type"], "uninstall");
  EXPECT_EQ(sent[1].first, "b");
  EXPECT_EQ(sent[1].second["type"], "uninstall");
  EXPECT_EQ(sent[0].second["id"], sent[1].second["id"]);
  EXPECT_EQ(fe.installed_agents(), 0);
}

}  // namespace
}  // namespace pivot::frontend
