// The NATS transport end to end: a real nats-server on 127.0.0.1 (started
// here, on a free port, with a password), real agent processes, the real
// `pivot` CLI: what is NATS's own — fleets, agents that join later, server
// restarts and outages, credentials, bad URLs, malformed commands, report
// gaps. Faults that both transports have (dead or stopped agents, a dead
// frontend, limits, bad input) are in fault_test.cc, on both.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "nats/nats_link.h"
#include "support/cli_harness.h"

namespace {

using pivot::testing::any_contains;
using pivot::testing::CliHarness;
using pivot::testing::kAgentApp;
using pivot::testing::kPivotCli;
using pivot::testing::kSeedLike;
using pivot::testing::NatsServer;
using pivot::testing::seed_like_total;
using pivot::testing::Subprocess;
using pivot::testing::Transport;
using Json = nlohmann::json;

const std::string kCreds = std::string(CliHarness::kNatsUser) + ":" + CliHarness::kNatsPassword;

class NatsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(h_.start()) << h_.error(); }

  std::string url() const { return h_.nats_url(); }
  Subprocess& app(const std::string& host, const std::string& name) { return h_.app(host, name); }
  static void fire(Subprocess& a, int n) { CliHarness::fire(a, n); }
  std::unique_ptr<Subprocess> pivot(std::vector<std::string> args) { return h_.pivot(std::move(args)); }
  std::vector<std::string> run(std::vector<std::string> args, int* status = nullptr) {
    return h_.run(std::move(args), status);
  }

  CliHarness h_{Transport::kNats};
  NatsServer& nats_ = h_.nats();
};

TEST_F(NatsTest, PsListsEveryAgentOfTheFleet) {
  app("h1", "alpha");
  app("h2", "beta");
  auto out = run({"ps"});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_NE(out[1].find("alpha"), std::string::npos);
  EXPECT_NE(out[1].find("h1"), std::string::npos);
  EXPECT_NE(out[2].find("beta"), std::string::npos);
  // Another fleet on the same server sees none of them.
  h_.set_fleet("other");
  int status = 0;
  EXPECT_EQ(run({"ps"}, &status).size(), 0u);
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

// Questions go to the whole fleet at once and each agent's answer comes
// back to the asker: pivot functions lists one program for two agents, and
// pivot explain names both under one set of function lines.
TEST_F(NatsTest, FunctionsAndExplainAskTheWholeFleet) {
  Subprocess& a = app("h1", "alpha");
  Subprocess& b = app("h2", "beta");
  int status = -1;
  auto out = run({"functions", "--format", "json", "main"}, &status);
  ASSERT_EQ(status, 0);
  ASSERT_EQ(out.size(), 1u);
  auto listing = nlohmann::json::parse(out[0]);
  ASSERT_EQ(listing["programs"].size(), 1u) << out[0];
  EXPECT_EQ(listing["programs"][0]["program"], kAgentApp);
  EXPECT_EQ(listing["programs"][0]["processes"].size(), 2u);
  EXPECT_EQ(listing["programs"][0]["functions"][0]["signature"], "main");
  EXPECT_EQ(listing["errors"], nlohmann::json::array());

  out = run({"explain", "Tracepoint t = Entry(\"main\")\nFrom e In t Select COUNT"}, &status);
  ASSERT_EQ(status, 0);
  ASSERT_EQ(out.size(), 3u);
  std::string alpha = std::to_string(a.pid()) + " (alpha@h1)", beta = std::to_string(b.pid()) + " (beta@h2)";
  EXPECT_EQ(out[1], "agents " + (a.pid() < b.pid() ? alpha + ", " + beta : beta + ", " + alpha) + ":");
  EXPECT_EQ(out[2].rfind("  t @ main (" + kAgentApp + "): debug info (" + kAgentApp + ")", 0), 0u) << out[2];
}

TEST_F(NatsTest, AgentStartedLaterGetsTheQuery) {
  Subprocess& a = app("h1", "alpha");
  auto q = pivot({"query", "--format", "json", "--interval", "100", kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed on 1 agents"));
  Subprocess& b = app("h2", "beta");
  // It announces itself; the frontend installs at its next interval.
  for (int i = 0; i < 50; ++i) {
    if (run({"ps"}).size() == 3 && run({"ps"})[2].back() == '1') break;
    usleep(100'000);
  }
  fire(a, 10);
  fire(b, 10);
  q->signal(SIGINT);
  auto lines = q->rest();
  ASSERT_FALSE(lines.empty());
  Json last = Json::parse(lines.back());
  EXPECT_EQ(last["agents"], 2);
  EXPECT_EQ(last["total"], seed_like_total({10, 10}));
}

// The server dies and comes back on the same port: agents and frontend
// reconnect by themselves, the query goes on, and the outage is reported.
TEST_F(NatsTest, RestartedServerIsSurvivedAndTheGapIsReported) {
  Subprocess& a = app("h1", "alpha");
  auto q = pivot({"query", "--format", "json", "--interval", "100", "--lease", "20000", kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed"));
  fire(a, 10);
  // Wait for an interval that has a's events, so they are not in flight.
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) {
    auto l = q->line();
    ASSERT_TRUE(l);
    seen = Json::parse(*l)["total"] == seed_like_total({10});
  }
  ASSERT_TRUE(seen);
  nats_.stop();
  usleep(700'000);  // agent reports in this time have nowhere to go
  ASSERT_TRUE(nats_.start()) << nats_.error();
  ASSERT_TRUE(q->wait_err("reconnected to NATS", 15'000));
  usleep(1'500'000);  // the agent reconnects too (it retries every 200-300 ms)
  fire(a, 20);
  q->signal(SIGINT);
  auto lines = q->rest();
  auto err = q->rest_err();
  EXPECT_EQ(q->wait(), 0);
  ASSERT_FALSE(lines.empty());
  Json last = Json::parse(lines.back());
  EXPECT_EQ(last["agents"], 1);
  EXPECT_EQ(last["total"], seed_like_total({10, 20}));
  EXPECT_TRUE(any_contains(err, "lost the connection to NATS")) << ::testing::PrintToString(err);
  EXPECT_TRUE(any_contains(err, "reconnected to NATS after")) << ::testing::PrintToString(err);
}

// An outage longer than the lease: the agent drops the advice, as it must
// when it cannot hear its frontend; when the network is back the frontend
// installs the query again and says what is missing.
TEST_F(NatsTest, QueryResumesAfterAnOutageLongerThanTheLease) {
  Subprocess& a = app("h1", "alpha");
  auto q = pivot({"query", "--format", "json", "--interval", "100", "--lease", "400", kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed"));
  nats_.stop();
  usleep(1'000'000);  // > lease: the agent removes the advice
  ASSERT_TRUE(nats_.start()) << nats_.error();
  ASSERT_TRUE(q->wait_err("installed it again", 15'000));
  usleep(300'000);
  fire(a, 12);
  q->signal(SIGINT);
  auto lines = q->rest();
  EXPECT_EQ(q->wait(), 0);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(Json::parse(lines.back())["total"], seed_like_total({12}));
}

TEST_F(NatsTest, AgentWithoutCredentialsRefusesToStart) {
  Subprocess p({kAgentApp}, {"PIVOT_TRANSPORT=" + nats_.url(), "PIVOT_FLEET=test"});
  auto err = p.rest_err();
  EXPECT_NE(p.wait(), 0);
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err[0],
            "agent_app: refusing to take commands over an unauthenticated NATS connection to "
            "nats://127.0.0.1:" +
                std::to_string(nats_.port()) +
                ": give credentials (nats://user:password@host:port, PIVOT_NATS_TOKEN, PIVOT_NATS_CREDS or a "
                "TLS client certificate), or set PIVOT_NATS_INSECURE=1 for development");
}

TEST_F(NatsTest, WrongPasswordIsAClearErrorAndNotEchoed) {
  Subprocess p({kAgentApp}, {"PIVOT_TRANSPORT=" + nats_.url("pivot:wrong"), "PIVOT_FLEET=test"});
  auto err = p.rest_err();
  EXPECT_NE(p.wait(), 0);
  ASSERT_FALSE(err.empty());
  EXPECT_NE(err[0].find("cannot connect to NATS at nats://127.0.0.1:" + std::to_string(nats_.port())),
            std::string::npos)
      << err[0];
  EXPECT_NE(err[0].find("uthoriz"), std::string::npos) << err[0];
  EXPECT_EQ(err[0].find("wrong"), std::string::npos) << err[0];
}

TEST_F(NatsTest, BadTransportUrlsAreClearErrors) {
  struct Case {
    std::string url, message;
  } cases[] = {
      {"nats://127.0.0.1:99999", "bad NATS transport URL: port '99999' is not a number from 1 to 65535"},
      {"nats://", "bad NATS transport URL: a server address is empty"},
      {"nats://u:p@host:4222/fleet", "bad NATS transport URL: a server address has a path or spaces"},
      {"http://host",
       "the transport must be local or nats://host:port (or tls://host:port), not 'http://host'"},
      {"amqp://u:secret@host", "not '<redacted>'"},
  };
  for (const auto& c : cases) {
    auto p = std::make_unique<Subprocess>(std::vector<std::string>{kPivotCli, "--transport", c.url, "ps"});
    auto err = p->rest_err();
    EXPECT_EQ(WEXITSTATUS(p->wait()), 2) << c.url;
    ASSERT_FALSE(err.empty()) << c.url;
    EXPECT_NE(err[0].find(c.message), std::string::npos) << err[0];
    EXPECT_EQ(err[0].find("secret"), std::string::npos) << err[0];
  }
  // The agent says the same, naming the variable's problem.
  Subprocess agent({kAgentApp}, {"PIVOT_TRANSPORT=nats://127.0.0.1:0"});
  auto err = agent.rest_err();
  EXPECT_NE(agent.wait(), 0);
  ASSERT_FALSE(err.empty());
  EXPECT_NE(err[0].find("port '0' is not a number from 1 to 65535"), std::string::npos) << err[0];
}

// Garbage on the command subject: every message gets an error answer, none
// crashes the agent, and it goes on serving.
TEST_F(NatsTest, MalformedCommandsGetErrorsAndTheAgentGoesOn) {
  Subprocess& a = app("h1", "alpha");
  auto config = pivot::transport::nats_config(url());
  ASSERT_TRUE(config) << config.error().message();
  auto link = pivot::transport::NatsLink::connect(*config, "test", false, pivot::transport::kFrontendQueue);
  ASSERT_TRUE(link) << link.error().message();
  std::string inbox = (*link)->new_inbox();
  ASSERT_TRUE((*link)->subscribe(inbox));
  ASSERT_TRUE((*link)->flush(2000));
  pivot::transport::Subjects subjects("test");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "malformed message: not JSON"},
      {R"({"v":99,"type":"hello"})", "unsupported protocol version 99 (this side speaks 1)"},
      {R"({"v":1,"type":"reboot"})", "unknown message type 'reboot'"},
      {R"({"v":1,"type":"install","id":"x.y","text":"From r In App.request Select COUNT"})",
       "query id 'x.y' is not 1 to 16 hex digits"},
      {std::string(2000, '{'), "malformed message: not JSON"},
  };
  for (const auto& [payload, message] : cases) {
    ASSERT_TRUE((*link)->publish(subjects.cmd(), payload, inbox));
    std::vector<pivot::transport::NatsLink::Incoming> got;
    for (int i = 0; i < 50 && got.empty(); ++i) got = (*link)->wait(100);
    ASSERT_EQ(got.size(), 1u) << payload;
    ASSERT_EQ(got[0].kind, pivot::transport::NatsLink::Incoming::kMessage) << payload;
    Json r = Json::parse(got[0].data, nullptr, false);
    ASSERT_TRUE(r.is_object()) << "'" << got[0].data << "' on " << got[0].subject;
    EXPECT_EQ(r["type"], "error");
    EXPECT_EQ(r["message"], message);
    EXPECT_EQ(r["procName"], "alpha");
  }
  // Still serving: a real query works.
  auto q = pivot({"query", "--format", "json", "--interval", "100", kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed on 1 agents"));
  fire(a, 8);
  q->signal(SIGINT);
  auto lines = q->rest();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(Json::parse(lines.back())["total"], seed_like_total({8}));
}

}  // namespace

namespace {

// docs/nats.md's locked-down fleet: agents and operators are different NATS
// users, and only operators may publish commands. A process holding an
// agent's credentials cannot install anything. The configuration is read
// from the document, so the document cannot rot.
std::string lockdown_config() {
  std::ifstream in(std::string(PIVOT_SOURCE_DIR) + "/docs/nats.md");
  std::string line, out;
  bool marked = false, inside = false;
  while (std::getline(in, line)) {
    if (line.find("lockdown.conf") != std::string::npos) marked = true;
    if (marked && line.rfind("```", 0) == 0) {
      if (inside) return out;
      inside = true;
      continue;
    }
    if (inside) out += line + "\n";
  }
  return "";
}

TEST(NatsLockdown, OnlyOperatorsCanCommandAgents) {
  std::string conf = "/tmp/pivot-nats-lockdown-" + std::to_string(getpid()) + ".conf";
  FILE* f = fopen(conf.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::string config_text = lockdown_config();
  ASSERT_NE(config_text.find("authorization"), std::string::npos) << "no lockdown.conf block in docs/nats.md";
  fputs(config_text.c_str(), f);
  fclose(f);
  NatsServer nats({"-c", conf});
  ASSERT_TRUE(nats.start()) << nats.error();
  unlink(conf.c_str());

  Subprocess a({kAgentApp}, {"PIVOT_TRANSPORT=" + nats.url("agent:agent-pw"), "PIVOT_FLEET=prod",
                             "PIVOT_HOST=h1", "PIVOT_PROCNAME=alpha", "PIVOT_INTERVAL_MS=100"});
  ASSERT_EQ(a.line().value_or("<none>"), "ready");
  auto pivot = [&](const std::string& creds, std::vector<std::string> args) {
    args.insert(args.begin(), {kPivotCli, "--transport", nats.url(creds)});
    return std::make_unique<Subprocess>(args, std::vector<std::string>{"PIVOT_FLEET=prod"});
  };

  // An operator queries as usual.
  auto q = pivot("operator:operator-pw", {"query", "--format", "json", "--interval", "100", kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed on 1 agents"));
  a.write("fire 9\n");
  ASSERT_EQ(a.line().value_or("<none>"), "ok");
  q->signal(SIGINT);
  auto lines = q->rest();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(Json::parse(lines.back())["total"], seed_like_total({9}));

  // Agent credentials cannot command: the server drops the publish.
  auto config = pivot::transport::nats_config(nats.url("agent:agent-pw"));
  ASSERT_TRUE(config);
  auto rogue = pivot::transport::NatsLink::connect(*config, "rogue", false, pivot::transport::kAgentQueue);
  ASSERT_TRUE(rogue) << rogue.error().message();
  pivot::transport::Subjects subjects("prod");
  ASSERT_TRUE((*rogue)->publish(
      subjects.cmd(),
      R"({"v":1,"type":"install","id":"00000000000000ee","text":"From r In App.request Select COUNT"})"));
  (void)(*rogue)->flush(2000);
  usleep(300'000);
  auto ps = pivot("operator:operator-pw", {"ps"})->rest();
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[1].substr(ps[1].size() - 1), "0");  // QUERIES: nothing installed

  // And no credentials at all: the server refuses the connection.
  auto anon = pivot("", {"ps"});
  auto err = anon->rest_err();
  EXPECT_EQ(WEXITSTATUS(anon->wait()), 1);
  ASSERT_FALSE(err.empty());
  EXPECT_NE(err[0].find("cannot connect to NATS"), std::string::npos) << err[0];
}

}  // namespace

namespace {

// An application that starts while the server is down must neither fail
// nor wait for it: its agent connects when the server comes.
TEST(NatsStartup, AgentStartsBeforeTheServerAndJoinsWhenItComes) {
  NatsServer nats({"--user", "pivot", "--pass", "s3cret"});
  nats.pick_port();
  auto t0 = std::chrono::steady_clock::now();
  Subprocess a({kAgentApp}, {"PIVOT_TRANSPORT=" + nats.url(kCreds), "PIVOT_FLEET=late", "PIVOT_HOST=h1",
                             "PIVOT_PROCNAME=alpha", "PIVOT_INTERVAL_MS=100"});
  ASSERT_EQ(a.line().value_or("<none>"), "ready");
  a.write("fire 3\n");  // the application runs meanwhile
  ASSERT_EQ(a.line().value_or("<none>"), "ok");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));

  ASSERT_TRUE(nats.start()) << nats.error();
  auto pivot = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {kPivotCli, "--transport", nats.url(kCreds)});
    return std::make_unique<Subprocess>(args, std::vector<std::string>{"PIVOT_FLEET=late"});
  };
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) seen = pivot({"ps"})->rest().size() == 2;
  ASSERT_TRUE(seen) << "the agent did not connect once the server was up";
  auto q = pivot({"query", "--format", "json", "--interval", "100", kSeedLike});
  ASSERT_TRUE(q->wait_err("query installed on 1 agents"));
  a.write("fire 5\n");
  ASSERT_EQ(a.line().value_or("<none>"), "ok");
  q->signal(SIGINT);
  auto lines = q->rest();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(Json::parse(lines.back())["total"], seed_like_total({5}));
}

}  // namespace

namespace {

// A report that never arrives is reported, not hidden. A scripted agent
// (speaking the wire protocol itself over NATS) skips sequence number 2.
TEST(NatsGaps, AMissingReportIsReported) {
  NatsServer nats({"--user", "pivot", "--pass", "s3cret"});
  ASSERT_TRUE(nats.start()) << nats.error();
  auto config = pivot::transport::nats_config(nats.url(kCreds));
  ASSERT_TRUE(config);
  auto link =
      pivot::transport::NatsLink::connect(*config, "scripted agent", false, pivot::transport::kAgentQueue);
  ASSERT_TRUE(link) << link.error().message();
  pivot::transport::NatsLink& agent = **link;
  pivot::transport::Subjects subjects("gaps");
  const std::string me = "00000000000000aa";
  ASSERT_TRUE(agent.subscribe(subjects.cmd()));
  ASSERT_TRUE(agent.subscribe(subjects.agent_cmd(me)));
  ASSERT_TRUE(agent.flush(2000));
  std::atomic<bool> stop{false};
  std::thread script([&] {
    auto send = [&](const std::string& subject, Json m) {
      m["v"] = 1;
      m["agent"] = me;
      m["pid"] = 4242;
      m["procName"] = "scripted";
      m["host"] = "hs";
      (void)agent.publish(subject, m.dump());
    };
    auto report = [&](const std::string& id, int seq, int count, bool final) {
      Json m = Json::parse(R"({"type":"report","time":0,"queries":[{"groups":[[[],[[0,null]]]]}]})");
      m["id"] = id;
      m["seq"] = seq;
      m["final"] = final;
      m["queries"][0]["groups"][0][1][0][0] = count;
      send(subjects.results(id), m);
    };
    while (!stop.load()) {
      for (auto& in : agent.wait(100)) {
        Json m = Json::parse(in.data, nullptr, false);
        if (!m.is_object()) continue;
        std::string type = m.value("type", "");
        if (type == "hello") {
          Json info = Json::parse(
              R"({"type":"info","queries":[],)"
              R"("catalog":[{"name":"App.request","exports":[{"name":"bytes","type":"int","list":false}]}]})");
          send(in.reply, info);
        } else if (type == "install") {
          std::string id = m["id"];
          send(in.reply, {{"type", "installed"}, {"id", id}});
          report(id, 1, 5, false);
          report(id, 3, 7, false);  // 2 is lost
        } else if (type == "flush") {
          report(m["id"], 4, 0, true);
        }
      }
    }
  });
  Subprocess q({kPivotCli, "--transport", nats.url(kCreds), "query", "--format", "json", "--interval", "100",
                "From r In App.request Select COUNT"},
               {"PIVOT_FLEET=gaps"});
  EXPECT_TRUE(
      q.wait_err("agent 4242 (scripted@hs): 1 report(s) missing (sequence 2..2); the results have a gap"));
  q.signal(SIGINT);
  auto lines = q.rest();
  EXPECT_EQ(q.wait(), 0);
  stop.store(true);
  script.join();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(Json::parse(lines.back())["total"], (Json{{"columns", {"COUNT"}}, {"rows", {{12}}}}));
}

}  // namespace
