// AgentCore without a transport. Installs run on a thread of their own, so a
// slow one (reading symbol tables, patching functions) never holds up the
// reports of the queries already installed; its answer comes from tick().
#include "agent/agent_core.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pivot/tracepoint.h"

namespace pivot::agent {
namespace {

void request(int64_t n) { PIVOT_TRACEPOINT("CoreTest.request", n); }

const char* const kCount = "From r In CoreTest.request Select COUNT";
const char* const kSum = "From r In CoreTest.request Select SUM(r.n)";

// Collects what the core sends; counts wake-ups from the installer's thread.
class Sink : public ReportSink {
 public:
  struct Sent {
    int64_t owner;
    Json message;
  };
  std::vector<Sent> reports;
  std::vector<Sent> answers;

  void report(int64_t owner, const std::string&, Json m) override {
    reports.push_back({owner, std::move(m)});
  }
  void answer(const From& to, Json m) override { answers.push_back({to.owner, std::move(m)}); }
  void wake() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakes_;
    cv_.notify_all();
  }
  // Waits until wake() has been called n times in all.
  bool woken(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return wakes_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int wakes_ = 0;
};

std::string install(const std::string& id, const std::string& text, bool again = false) {
  Json m = wire::message("install");
  m["id"] = id;
  m["text"] = text;
  m["interval_ms"] = 20;
  if (again) m["again"] = true;
  return m.dump();
}

std::string command(const std::string& type, const std::string& id) {
  Json m = wire::message(type);
  m["id"] = id;
  return m.dump();
}

// Installs for real, but the query with uid 0xb waits for the gate to open.
class Gated {
 public:
  AgentCore::InstallFn fn() {
    return [this](const std::string& text, const planner::Catalog& catalog, uint64_t uid) {
      if (uid == 0xb) gate_.wait();
      return session::Installation::create(text, catalog, uid);
    };
  }
  void open() { opener_.set_value(); }

 private:
  std::promise<void> opener_;
  std::shared_future<void> gate_ = opener_.get_future().share();
};

int64_t answered(const Sink& s, const std::string& type, const std::string& id) {
  int64_t n = 0;
  for (const auto& a : s.answers) n += a.message["type"] == type && a.message["id"] == id;
  return n;
}

TEST(AgentCore, ASlowInstallDoesNotHoldUpOtherQueries) {
  request(0);
  Sink sink;
  Gated gated;
  AgentCore core(1000, &sink, gated.fn());
  EXPECT_FALSE(core.handle({7, ""}, install("a", kCount)));  // answered later
  ASSERT_TRUE(sink.woken(1));
  core.tick();
  ASSERT_EQ(sink.answers.size(), 1u);
  EXPECT_EQ(sink.answers[0].owner, 7);
  EXPECT_EQ(sink.answers[0].message["type"], "installed");
  EXPECT_EQ(sink.answers[0].message["id"], "a");

  EXPECT_FALSE(core.handle({8, ""}, install("b", kSum)));  // stuck at the gate
  for (int i = 0; i < 3; ++i) request(i);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  core.tick();  // a's interval report, while b is being installed
  ASSERT_EQ(sink.reports.size(), 1u);
  EXPECT_EQ(sink.reports[0].owner, 7);
  EXPECT_EQ(sink.reports[0].message["id"], "a");
  EXPECT_EQ(sink.reports[0].message["queries"][0]["groups"][0][1][0][0], 3) << sink.reports[0].message.dump();
  EXPECT_FALSE(core.handle({7, ""}, command("flush", "a")));
  EXPECT_EQ(sink.reports.size(), 2u);
  EXPECT_EQ(core.query_ids(), Json::array({"a"}));

  // The same install again (a frontend that lost track) waits with the first.
  EXPECT_FALSE(core.handle({9, ""}, install("b", kSum, true)));
  Json other = *core.handle({9, ""}, install("b", kCount, true));
  EXPECT_EQ(other["message"], "query b is already installed");
  gated.open();
  ASSERT_TRUE(sink.woken(2));
  core.tick();
  ASSERT_EQ(sink.answers.size(), 3u);
  EXPECT_EQ(sink.answers[1].owner, 8);
  EXPECT_EQ(sink.answers[2].owner, 9);
  EXPECT_EQ(answered(sink, "installed", "b"), 2);
  EXPECT_EQ(core.query_ids(), Json::array({"a", "b"}));
  core.finish();
}

TEST(AgentCore, UninstalledBeforeItsInstallFinished) {
  Sink sink;
  Gated gated;
  AgentCore core(1000, &sink, gated.fn());
  EXPECT_FALSE(core.handle({8, ""}, install("b", kCount)));
  Json bye = *core.handle({8, ""}, command("uninstall", "b"));
  EXPECT_EQ(bye["type"], "uninstalled");
  ASSERT_EQ(sink.answers.size(), 1u);
  EXPECT_EQ(sink.answers[0].message["message"], "query b was uninstalled before its install finished");
  Json again = *core.handle({8, ""}, install("b", kCount));
  EXPECT_EQ(again["message"], "query b is being uninstalled; try again");
  gated.open();
  ASSERT_TRUE(sink.woken(1));
  core.tick();
  EXPECT_EQ(sink.answers.size(), 1u);  // no "installed"
  EXPECT_EQ(core.query_ids(), Json::array());
  // Now the id is free again.
  EXPECT_FALSE(core.handle({8, ""}, install("b", kCount)));
  ASSERT_TRUE(sink.woken(2));
  core.tick();
  EXPECT_EQ(answered(sink, "installed", "b"), 1);
  core.finish();
}

TEST(AgentCore, AFailedInstallIsAnsweredWithTheError) {
  Sink sink;
  AgentCore core(1000, &sink);
  EXPECT_FALSE(core.handle({3, ""}, install("c", "From r In CoreTest.nothing Select COUNT")));
  ASSERT_TRUE(sink.woken(1));
  core.tick();
  ASSERT_EQ(sink.answers.size(), 1u);
  EXPECT_EQ(sink.answers[0].owner, 3);
  EXPECT_EQ(sink.answers[0].message["type"], "error");
  EXPECT_NE(sink.answers[0].message["message"].get<std::string>().find("CoreTest.nothing"), std::string::npos)
      << sink.answers[0].message.dump();
  EXPECT_EQ(core.query_ids(), Json::array());
}

// A frontend that goes away while its install runs gets no answer (its
// connection's name may be another frontend's by then); the query stays
// until its lease lapses, like any other whose owner left.
TEST(AgentCore, AnOwnerThatLeftIsNotAnswered) {
  Sink sink;
  Gated gated;
  AgentCore core(1000, &sink, gated.fn());
  EXPECT_FALSE(core.handle({8, ""}, install("b", kCount)));
  core.forget_owner(8);
  gated.open();
  ASSERT_TRUE(sink.woken(1));
  core.tick();
  EXPECT_TRUE(sink.answers.empty());
  EXPECT_EQ(core.query_ids(), Json::array({"b"}));
  core.finish();
  ASSERT_EQ(sink.reports.size(), 1u);
  EXPECT_EQ(sink.reports[0].owner, AgentCore::kNoOwner);
}

// At shutdown an install under way is waited for, then dropped.
TEST(AgentCore, FinishWaitsForAnInstallUnderWay) {
  Sink sink;
  Gated gated;
  AgentCore core(1000, &sink, gated.fn());
  EXPECT_FALSE(core.handle({8, ""}, install("b", kCount)));
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gated.open();
  });
  core.finish();
  opener.join();
  EXPECT_TRUE(sink.answers.empty());
  EXPECT_TRUE(sink.reports.empty());
  EXPECT_EQ(core.query_ids(), Json::array());
}

}  // namespace
}  // namespace pivot::agent
