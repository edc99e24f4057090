// AgentCore without a transport. Installs run on a thread of their own, so a
// slow one (reading symbol tables, patching functions) never holds up the
// reports of the queries already installed; its answer comes from tick().
#include "agent/agent_core.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
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

std::string install(const std::string& id, const std::string& text, bool again = false,
                    const char* report_format = nullptr) {
  Json m = wire::message("install");
  m["id"] = id;
  m["text"] = text;
  m["interval_ms"] = 20;
  if (again) m["again"] = true;
  if (report_format != nullptr) m["report_format"] = report_format;
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
    return [this](const std::string& text, const planner::Catalog& catalog, uint64_t uid,
                  uint32_t max_groups) {
      if (uid == 0xb) gate_.wait();
      return session::Installation::create(text, catalog, uid, session::MissingFunctions::kError, max_groups);
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

// Installs that wait for the installer are bounded: past
// kMaxWaitingInstalls one is refused with the reason, and once they are
// done there is room again.
TEST(AgentCore, TooManyWaitingInstallsAreRefused) {
  Sink sink;
  Gated gated;
  AgentCore core(1000, &sink, gated.fn());
  EXPECT_FALSE(core.handle({7, ""}, install("b", kCount)));  // stuck at the gate
  auto id = [](size_t i) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "c%03zx", i);
    return std::string(buf);
  };
  for (size_t i = 1; i < AgentCore::kMaxWaitingInstalls; ++i) {
    EXPECT_FALSE(core.handle({7, ""}, install(id(i), kCount))) << i;
  }
  Json refused = *core.handle({7, ""}, install("d", kCount));
  EXPECT_EQ(refused["type"], "error");
  EXPECT_EQ(refused["id"], "d");
  EXPECT_EQ(refused["message"], "64 installs wait for this process already; try again when they are done");

  gated.open();
  for (int i = 0; i < 1000 && core.query_ids().size() < AgentCore::kMaxWaitingInstalls; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    core.tick();
  }
  ASSERT_EQ(core.query_ids().size(), AgentCore::kMaxWaitingInstalls);
  EXPECT_EQ(answered(sink, "installed", "b"), 1);
  EXPECT_FALSE(core.handle({7, ""}, install("d", kCount)));  // room again
  core.finish();
}

// Installs run one at a time: a frontend whose install asked for progress
// hears "installing" while it waits (each finished install is progress), so
// that it can tell a queued install from a stuck one.
TEST(AgentCore, AQueuedInstallHearsOfProgressWhenItAskedTo) {
  Sink sink;
  std::promise<void> at_b, open_b, open_c;
  std::shared_future<void> gate_b = open_b.get_future().share(), gate_c = open_c.get_future().share();
  AgentCore core(
      1000, &sink,
      [&](const std::string& text, const planner::Catalog& catalog, uint64_t uid, uint32_t max_groups) {
        if (uid == 0xb) {
          at_b.set_value();
          gate_b.wait();
        }
        if (uid == 0xc) gate_c.wait();
        return session::Installation::create(text, catalog, uid, session::MissingFunctions::kError,
                                             max_groups);
      });
  auto asking = [](const std::string& id, bool progress) {
    Json m = Json::parse(install(id, kCount));
    m["progress"] = progress;
    return m.dump();
  };
  EXPECT_FALSE(core.handle({8, ""}, asking("b", true)));
  EXPECT_FALSE(core.handle({9, ""}, asking("c", true)));
  EXPECT_FALSE(core.handle({10, ""}, asking("d", false)));
  at_b.get_future().wait();
  core.tick();  // the installer's thread has run: b and c hear it, d did not ask
  // A NATS agent's heartbeat names every install waiting, once per progress.
  EXPECT_EQ(core.take_progress(), Json::array({"b", "c", "d"}));
  EXPECT_EQ(core.take_progress(), Json::array());
  ASSERT_EQ(sink.answers.size(), 2u);
  EXPECT_EQ(sink.answers[0].owner, 8);
  EXPECT_EQ(sink.answers[0].message["type"], "installing");
  EXPECT_EQ(sink.answers[0].message["id"], "b");
  EXPECT_EQ(sink.answers[1].owner, 9);
  EXPECT_EQ(sink.answers[1].message["type"], "installing");
  open_b.set_value();
  ASSERT_TRUE(sink.woken(1));
  core.tick();  // b is done: that is progress for c
  ASSERT_EQ(sink.answers.size(), 4u);
  EXPECT_EQ(sink.answers[2].owner, 8);
  EXPECT_EQ(sink.answers[2].message["type"], "installed");
  EXPECT_EQ(sink.answers[3].owner, 9);
  EXPECT_EQ(sink.answers[3].message["type"], "installing");
  EXPECT_EQ(sink.answers[3].message["id"], "c");
  open_c.set_value();
  ASSERT_TRUE(sink.woken(3));  // c, then d
  core.tick();
  ASSERT_EQ(sink.answers.size(), 6u);
  EXPECT_EQ(sink.answers[4].owner, 9);
  EXPECT_EQ(sink.answers[4].message["type"], "installed");
  EXPECT_EQ(sink.answers[5].owner, 10);
  EXPECT_EQ(sink.answers[5].message["type"], "installed");
  core.finish();
}

// A long install is progress while its thread runs (reading symbol tables
// on a loaded machine), and none while it is blocked: at most one look a
// second.
TEST(AgentCore, AnInstallUnderWayIsProgressWhileItsThreadRuns) {
  std::atomic<bool> spin{true};
  std::promise<void> spinning, blocked, open;
  std::shared_future<void> gate = open.get_future().share();
  Sink sink;
  AgentCore core(
      1000, &sink,
      [&](const std::string& text, const planner::Catalog& catalog, uint64_t uid, uint32_t max_groups) {
        if (uid == 0xb) {
          spinning.set_value();
          while (spin.load()) {
          }
        } else {
          blocked.set_value();
          gate.wait();
        }
        return session::Installation::create(text, catalog, uid, session::MissingFunctions::kError,
                                             max_groups);
      });
  Json b = Json::parse(install("b", kCount));
  b["progress"] = true;
  EXPECT_FALSE(core.handle({8, ""}, b.dump()));
  spinning.get_future().wait();
  core.tick();  // the first look: the thread has run
  core.tick();  // too soon for another
  ASSERT_EQ(sink.answers.size(), 1u);
  EXPECT_EQ(sink.answers[0].message["type"], "installing");
  std::this_thread::sleep_for(std::chrono::milliseconds(AgentCore::kProgressEveryMs + 100));
  core.tick();
  ASSERT_EQ(sink.answers.size(), 2u);
  EXPECT_EQ(sink.answers[1].message["type"], "installing");
  spin = false;
  ASSERT_TRUE(sink.woken(1));
  core.tick();
  ASSERT_EQ(sink.answers.size(), 3u);
  EXPECT_EQ(sink.answers[2].message["type"], "installed");

  Json c = Json::parse(install("c", kCount));
  c["progress"] = true;
  EXPECT_FALSE(core.handle({8, ""}, c.dump()));
  blocked.get_future().wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(AgentCore::kProgressEveryMs + 100));
  core.tick();  // it ran up to the gate since the last look
  ASSERT_EQ(sink.answers.size(), 4u);
  EXPECT_EQ(sink.answers[3].message["type"], "installing");
  std::this_thread::sleep_for(std::chrono::milliseconds(AgentCore::kProgressEveryMs + 100));
  EXPECT_EQ(core.take_progress(), Json::array({"c"}));
  core.tick();  // blocked all along: no progress
  EXPECT_EQ(sink.answers.size(), 4u);
  EXPECT_EQ(core.take_progress(), Json::array());
  open.set_value();
  ASSERT_TRUE(sink.woken(2));
  core.tick();
  ASSERT_EQ(sink.answers.size(), 5u);
  EXPECT_EQ(sink.answers[4].message["type"], "installed");
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

// An agent compiles the text itself, so it checks the composed size itself
// too, whatever the frontend did: a chain that doubles at every line is
// refused before anything is built in the host.
TEST(AgentCore, AnExponentiallyComposedQueryIsRefusedByTheAgentToo) {
  std::string text = "q0 = From r In CoreTest.request Select r.n As a\n";
  for (int i = 1; i <= 30; ++i) {
    text += "q" + std::to_string(i) + " = From x In q" + std::to_string(i - 1) + " Select x.a + x.a As a\n";
  }
  Sink sink;
  AgentCore core(1000, &sink);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(core.handle({3, ""}, install("d", text)));
  ASSERT_TRUE(sink.woken(1));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  core.tick();
  ASSERT_EQ(sink.answers.size(), 1u);
  EXPECT_EQ(sink.answers[0].message["type"], "error");
  std::string message = sink.answers[0].message["message"];
  EXPECT_EQ(
      message.substr(0, message.find('\n')),
      "14:17: query 'q13' is too large with query 'q12' inlined: 16384 nodes (expressions and variables); "
      "at most 10000. Each use of a source query's output copies its expression");
  EXPECT_EQ(core.query_ids(), Json::array());
}

// max_groups comes with the install and bounds the groups of each report;
// the report says how many events it dropped and how many each group holds.
TEST(AgentCore, MaxGroupsFromTheInstallBoundsEachReport) {
  Sink sink;
  AgentCore core(1000, &sink);
  Json m = Json::parse(install("e", "From r In CoreTest.request GroupBy r.n Select r.n, COUNT"));
  m["max_groups"] = 2;
  EXPECT_FALSE(core.handle({3, ""}, m.dump()));
  ASSERT_TRUE(sink.woken(1));
  core.tick();
  ASSERT_EQ(answered(sink, "installed", "e"), 1);
  for (int64_t n : {5, 6, 5, 7, 8, 6}) request(n);
  EXPECT_FALSE(core.handle({3, ""}, command("flush", "e")));
  ASSERT_EQ(sink.reports.size(), 1u);
  const Json& part = sink.reports[0].message["queries"][0];
  EXPECT_EQ(part["groups"], Json::parse("[[[5],[[2,null]]],[[6],[[2,null]]]]")) << part.dump();
  EXPECT_EQ(part["events"], Json::parse("[2,2]"));
  EXPECT_EQ(part["dropped"], 2);
  for (Json bad : {Json(0), Json(10'000'001), Json("many")}) {
    m["id"] = "f";
    m["max_groups"] = bad;
    Json answer = *core.handle({3, ""}, m.dump());
    EXPECT_EQ(answer["type"], "error");
    EXPECT_EQ(answer["message"], bad.is_string() ? "message 'install' needs an integer \"max_groups\""
                                                 : "max_groups must be 1 to 10000000");
  }
  core.finish();
}

}  // namespace
}  // namespace pivot::agent

// A function to list, out of line (outside namespace pivot, whose functions are never hooked).
namespace core_subject {
[[gnu::noinline]] int64_t listed(int64_t bytes, const std::string& client) {
  return bytes + static_cast<int64_t>(client.size());
}
}  // namespace core_subject

namespace pivot::agent {
namespace {

std::string question(const std::string& type, const std::string& key, Json value) {
  Json m = wire::message(type);
  m[key] = std::move(value);
  m["req"] = "r1";
  return m.dump();
}

// functions and explain are answered from the installer's thread, through
// the sink, with the request's "req"; bad ones at once.
TEST(AgentCore, AnswersFunctionsAndExplainQuestionsOffItsThread) {
  Sink sink;
  AgentCore core(1000, &sink);
  ASSERT_GT(core_subject::listed(1, "x"), 0);
  EXPECT_FALSE(core.handle({7, ""}, question("functions", "pattern", "core_subject::listed")));
  EXPECT_FALSE(core.handle({7, ""}, question("explain", "text",
                                             "Tracepoint t = Entry(\"core_subject::listed\") "
                                             "Exports b = bytes\nFrom e In t Select SUM(e.b)")));
  ASSERT_TRUE(sink.woken(2));
  core.tick();
  ASSERT_EQ(sink.answers.size(), 2u);
  const Json& listed = sink.answers[0].message;
  EXPECT_EQ(sink.answers[0].owner, 7);
  EXPECT_EQ(listed["type"], "functions");
  EXPECT_EQ(listed["req"], "r1");
  ASSERT_EQ(listed["functions"].size(), 1u) << listed.dump();
  const Json& f = listed["functions"][0];
  EXPECT_EQ(f["signature"],
            "core_subject::listed(long, std::__cxx11::basic_string<char, std::char_traits<char>, "
            "std::allocator<char> > const&)");
  EXPECT_EQ(f["params"][0]["name"], "bytes");
  EXPECT_EQ(f["params"][1]["name"], "client");
  EXPECT_EQ(f["hookable"], true);
  const Json& explained = sink.answers[1].message;
  EXPECT_EQ(explained["type"], "explained");
  ASSERT_EQ(explained["functions"].size(), 1u) << explained.dump();
  EXPECT_NE(explained["functions"][0].get<std::string>().find("; b = bytes (rdi, int)"), std::string::npos)
      << explained.dump();

  // Bad questions are answered at once, with the req.
  auto no_pattern = core.handle({7, ""}, question("functions", "limit", 3));
  ASSERT_TRUE(no_pattern);
  EXPECT_EQ((*no_pattern)["type"], "error");
  EXPECT_EQ((*no_pattern)["req"], "r1");
  Json too_many = Json::parse(question("functions", "pattern", "x"));
  too_many["limit"] = 1'000'000;
  auto limited = core.handle({7, ""}, too_many.dump());
  ASSERT_TRUE(limited);
  EXPECT_EQ((*limited)["message"], "limit must be 1 to 5000");
  auto no_text = core.handle({7, ""}, question("explain", "text", 42));
  ASSERT_TRUE(no_text);
  EXPECT_EQ((*no_text)["type"], "error");
}

// A frontend that asks for binary reports gets them; one that does not
// (older) gets JSON groups; anything else in the field is ignored.
TEST(AgentCore, ReportsInTheFormatTheFrontendAsked) {
  Sink sink;
  AgentCore core(1000, &sink);
  EXPECT_FALSE(core.handle({7, ""}, install("b", kSum, false, "binary-1")));
  EXPECT_FALSE(core.handle({7, ""}, install("c", kSum)));
  Json odd = Json::parse(install("d", kSum));
  odd["report_format"] = 5;
  EXPECT_FALSE(core.handle({7, ""}, odd.dump()));
  ASSERT_TRUE(sink.woken(3));
  core.tick();
  ASSERT_EQ(sink.answers.size(), 3u);
  request(4);
  request(5);
  for (const char* id : {"b", "c", "d"}) EXPECT_FALSE(core.handle({7, ""}, command("flush", id)));
  ASSERT_EQ(sink.reports.size(), 3u);
  const Json& bin = sink.reports[0].message["queries"][0];
  EXPECT_FALSE(bin.contains("groups")) << bin.dump();
  aggregate::EmitShape shape{.keys = 0, .aggs = {aggregate::AggFn::kSum}};
  aggregate::Partial p(&shape);
  ASSERT_TRUE(wire::partial_from_json(bin, p)) << bin.dump();
  EXPECT_EQ(p.rows(), (std::vector<std::vector<Value>>{{Value(int64_t{9})}}));
  EXPECT_EQ(sink.reports[1].message["queries"][0]["groups"], Json::parse("[[[],[[2,9]]]]"));
  EXPECT_EQ(sink.reports[2].message["queries"][0]["groups"], Json::parse("[[[],[[2,9]]]]"));
}

}  // namespace
}  // namespace pivot::agent
