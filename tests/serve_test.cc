// `pivot serve` as operators use it: real agent processes, a real serve on
// a loopback port, HTTP from cpp-httplib's client and the `pivot` CLI.
// Managed queries are installed, listed, paused, stopped and restored from
// the state file after a restart; tokens, bad input and limits are
// answered with the right status; /metrics and the event stream carry the
// exact totals.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli_harness.h"

#ifdef PIVOT_HAVE_SERVE
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "support/serve_harness.h"
#endif

namespace {

using pivot::testing::CliHarness;
using pivot::testing::kSeedLike;
using pivot::testing::seed_like_total;
using pivot::testing::Transport;
using Json = nlohmann::json;

#ifndef PIVOT_HAVE_SERVE

TEST(Serve, NeedsCppHttplib) {
  GTEST_SKIP() << "pivot serve is not built: Debian package libcpp-httplib-dev is missing (scripts/setup.sh)";
}

#else

using pivot::testing::ServeProcess;

Json install_body(const std::string& name, const std::string& text, int interval_ms = 100) {
  return Json{{"name", name}, {"text", text}, {"interval_ms", interval_ms}};
}

// Polls GET path until pred holds of its JSON (at most timeout_ms); the last JSON.
template <class Pred>
Json poll(const ServeProcess& s, const std::string& path, Pred pred, int timeout_ms = 15'000) {
  Json j;
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    j = s.get(path);
    if (pred(j)) break;
    usleep(100'000);
  }
  return j;
}

Json total_of(const ServeProcess& s, const std::string& name, const Json& want) {
  return poll(s, "/api/queries/" + name,
              [&](const Json& j) { return j.is_object() && j["total"] == want; })["total"];
}

// The QUERIES column of `pivot ps`, once it is `want` (agents handle an
// uninstall a moment after serve has sent it), or as it is after 5 s.
std::vector<int> queries_per_agent(const CliHarness& h, const std::vector<int>& want) {
  std::vector<int> got;
  for (int waited = 0; waited < 5000; waited += 100) {
    if ((got = h.queries_per_agent()) == want) break;
    usleep(100'000);
  }
  return got;
}

// Starts serve and installs kSeedLike in it as "seed".
void start_with_seed(ServeProcess& serve, int interval_ms = 100) {
  ASSERT_TRUE(serve.start()) << serve.error();
  int status = 0;
  Json q = serve.post("/api/queries", install_body("seed", kSeedLike, interval_ms).dump(), &status);
  ASSERT_EQ(status, 201) << q.dump();
}

class ServeTest : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override { ASSERT_TRUE(h_.start()) << h_.error(); }
  CliHarness h_{GetParam()};
};

TEST_P(ServeTest, InstallListStopWithExactTotals) {
  auto& a = h_.app("h1", "alpha");
  auto& b = h_.app("h2", "beta");
  ServeProcess serve(h_);
  ASSERT_TRUE(serve.start()) << serve.error();
  int status = 0;
  Json q = serve.post("/api/queries", install_body("seed", kSeedLike).dump(), &status);
  ASSERT_EQ(status, 201) << q.dump();
  EXPECT_EQ(q["state"], "running");
  EXPECT_EQ(q["agents"], 2);
  EXPECT_EQ(q["columns"], Json::parse(R"j([{"name":"c.app","role":"group"},
      {"name":"SUM(r.bytes)","role":"aggregate","aggregate":"sum"},
      {"name":"COUNT","role":"aggregate","aggregate":"count"}])j"));
  CliHarness::fire(a, 10);
  CliHarness::fire(b, 20);
  EXPECT_EQ(total_of(serve, "seed", seed_like_total({10, 20})), seed_like_total({10, 20}));

  Json list = serve.get("/api/queries");
  ASSERT_EQ(list["queries"].size(), 1u);
  EXPECT_EQ(list["queries"][0]["name"], "seed");
  EXPECT_EQ(list["queries"][0]["state"], "running");
  EXPECT_EQ(list["queries"][0]["text"], kSeedLike);
  EXPECT_FALSE(list["queries"][0].contains("total"));
  auto out = serve.pivot({"queries"})->rest();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].substr(0, 4), "NAME");
  EXPECT_EQ(out[1].substr(0, 15), "seed  running  ");

  // The window holds each interval; their rows add up to the total.
  Json window = serve.get("/api/queries/seed/intervals");
  int64_t bytes = 0;
  for (const Json& i : window["intervals"]) {
    for (const Json& row : i["interval"]["rows"]) bytes += row[1].get<int64_t>();
  }
  EXPECT_EQ(bytes, 10 * 11 / 2 + 20 * 21 / 2);

  auto stop = serve.pivot({"stop", "seed"});
  auto said = stop->rest();
  EXPECT_EQ(stop->wait(), 0);
  ASSERT_EQ(said.size(), 4u);
  EXPECT_EQ(said[0], "stopped seed; its final total:");
  EXPECT_EQ(said[2], "app-0           140     15");
  EXPECT_EQ(serve.get("/api/queries")["queries"], Json::array());
  EXPECT_EQ(queries_per_agent(h_, {0, 0}), (std::vector<int>{0, 0}));
  EXPECT_EQ(serve.stop(), 0);
}

TEST_P(ServeTest, PauseUninstallsAndResumeInstallsAgain) {
  auto& a = h_.app("h1", "alpha");
  ServeProcess serve(h_);
  ASSERT_NO_FATAL_FAILURE(start_with_seed(serve));
  int status = 0;
  EXPECT_EQ(queries_per_agent(h_, {1}), (std::vector<int>{1}));
  Json paused = serve.post("/api/queries/seed/pause", "", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(paused["state"], "paused");
  EXPECT_EQ(queries_per_agent(h_, {0}), (std::vector<int>{0}));
  CliHarness::fire(a, 4);  // not counted: nothing is installed
  Json resumed = serve.post("/api/queries/seed/resume", "", &status);
  EXPECT_EQ(status, 200);
  poll(serve, "/api/queries/seed", [](const Json& j) { return j["state"] == "running"; });
  EXPECT_EQ(queries_per_agent(h_, {1}), (std::vector<int>{1}));
  CliHarness::fire(a, 6);
  EXPECT_EQ(total_of(serve, "seed", seed_like_total({6})), seed_like_total({6}));
}

TEST_P(ServeTest, RestartReinstallsFromTheStateFile) {
  auto& a = h_.app("h1", "alpha");
  {
    ServeProcess serve(h_);
    ASSERT_TRUE(serve.start()) << serve.error();
    auto detach = serve.pivot({"query", "--detach", "seed", "--interval", "100", kSeedLike});
    EXPECT_TRUE(detach->wait_err("query seed installed on 1 agents")) << detach->rest_err(1000).size();
    EXPECT_EQ(detach->wait(), 0);
    {
      // One serve per state file: a second would run and rewrite the same queries.
      ServeProcess twin(h_);
      EXPECT_FALSE(twin.start());
      EXPECT_NE(twin.error().find("another pivot serve uses the state file " + serve.state_file()),
                std::string::npos)
          << twin.error();
    }
    EXPECT_EQ(serve.stop(), 0);
    // Stopping serve takes its queries off the agents; the file keeps them.
    EXPECT_EQ(queries_per_agent(h_, {0}), (std::vector<int>{0}));
    std::ifstream in(serve.state_file());
    Json state = Json::parse(in);
    ASSERT_EQ(state["queries"].size(), 1u);
    EXPECT_EQ(state["queries"][0]["name"], "seed");
    EXPECT_EQ(state["queries"][0]["interval_ms"], 100);

    ServeProcess again(h_);
    ASSERT_TRUE(again.start()) << again.error();
    Json q = poll(again, "/api/queries/seed", [](const Json& j) { return j["state"] == "running"; });
    EXPECT_EQ(q["state"], "running") << q.dump();
    EXPECT_EQ(q["text"], kSeedLike);
    CliHarness::fire(a, 8);
    EXPECT_EQ(total_of(again, "seed", seed_like_total({8})), seed_like_total({8}));
  }
}

TEST_P(ServeTest, StreamSendsEachIntervalWithTheTotal) {
  auto& a = h_.app("h1", "alpha");
  ServeProcess serve(h_);
  ASSERT_NO_FATAL_FAILURE(start_with_seed(serve));
  std::string received;
  Json last;
  const Json want = seed_like_total({12});
  std::thread reader([&] {
    auto c = serve.client();
    c->Get("/api/stream?query=seed", [&](const char* data, size_t n) {
      received.append(data, n);
      // Events end with a blank line; look at each complete one.
      for (size_t end; (end = received.find("\n\n")) != std::string::npos; received.erase(0, end + 2)) {
        std::string event = received.substr(0, end);
        if (event.rfind("event: interval\ndata: ", 0) != 0) continue;
        last = Json::parse(event.substr(event.find("data: ") + 6));
        if (last["total"] == want) return false;
      }
      return true;
    });
  });
  usleep(300'000);
  CliHarness::fire(a, 12);
  reader.join();
  EXPECT_EQ(last["query"], "seed");
  EXPECT_EQ(last["total"], want);
  EXPECT_EQ(last["agents"], 1);
}

INSTANTIATE_TEST_SUITE_P(Transports, ServeTest, ::testing::Values(Transport::kLocal, Transport::kNats),
                         [](const auto& info) { return pivot::testing::transport_name(info.param); });

class ServeLocalTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(h_.start()) << h_.error(); }
  CliHarness h_{Transport::kLocal};
};

TEST_F(ServeLocalTest, MetricsHaveTheExactTotals) {
  auto& a = h_.app("h1", "alpha");
  ServeProcess serve(h_);
  ASSERT_NO_FATAL_FAILURE(start_with_seed(serve));
  CliHarness::fire(a, 10);
  ASSERT_EQ(total_of(serve, "seed", seed_like_total({10})), seed_like_total({10}));
  auto r = serve.client()->Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  for (const char* line : {
           "# TYPE pivot_query_sum_total counter\n"
           "pivot_query_sum_total{query=\"seed\",column=\"SUM(r.bytes)\",c_app=\"app-0\"} 30\n"
           "pivot_query_sum_total{query=\"seed\",column=\"SUM(r.bytes)\",c_app=\"app-1\"} 25\n",
           "# TYPE pivot_query_count_total counter\n"
           "pivot_query_count_total{query=\"seed\",column=\"COUNT\",c_app=\"app-0\"} 5\n"
           "pivot_query_count_total{query=\"seed\",column=\"COUNT\",c_app=\"app-1\"} 5\n",
           "\npivot_query_running{query=\"seed\"} 1\n",
           "\npivot_query_agents{query=\"seed\"} 1\n",
           "\npivot_serve_agents 1\n",
       }) {
    EXPECT_NE(r->body.find(line), std::string::npos) << "missing:\n" << line << "\nin:\n" << r->body;
  }
  httplib::Headers om = {{"Accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"}};
  auto o = serve.client()->Get("/metrics", om);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->get_header_value("Content-Type"),
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_NE(o->body.find("# TYPE pivot_query_sum counter\n"), std::string::npos);
  EXPECT_EQ(o->body.substr(o->body.size() - 6), "# EOF\n");
}

TEST_F(ServeLocalTest, BadInputGetsAClearErrorAndServeGoesOn) {
  h_.app("h1", "alpha");
  ServeProcess serve(h_, {"--max-queries", "1"});
  ASSERT_TRUE(serve.start()) << serve.error();
  int status = 0;
  Json e = serve.post("/api/queries", "{not json", &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(e["error"]["message"], "the request body is not JSON");
  e = serve.post("/api/queries", R"({"name":"x/y","text":"From r In App.request Select COUNT"})", &status);
  EXPECT_EQ(status, 400);
  e = serve.post("/api/queries", install_body("bad", "From r In App.request\nSelect SUM(r.nope)").dump(),
                 &status);
  EXPECT_EQ(status, 422);
  EXPECT_EQ(e["error"]["line"], 2);
  EXPECT_EQ(e["error"]["column"], 14);
  EXPECT_NE(e["error"]["message"].get<std::string>().find("has no export 'nope'"), std::string::npos);
  e = serve.post("/api/explain", Json{{"text", "From r In App.nothing Select COUNT"}}.dump(), &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(e["error"]["line"], 1);
  EXPECT_EQ(e["error"]["column"], 11);
  e = serve.post("/api/explain", Json{{"text", "From r In App.request Select COUNT"}}.dump(), &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(e["advice"], "A1 @ App.request: EMIT q1 COUNT\n");
  e = serve.post("/api/queries", std::string(70'000, 'x'), &status);
  EXPECT_EQ(status, 413);
  EXPECT_EQ(e["error"]["message"], "the request body is larger than 65536 bytes");
  auto form =
      serve.client()->Post("/api/explain", std::string(9000, 'x'), "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 413);
  EXPECT_EQ(Json::parse(form->body)["error"]["message"],
            "a body sent as application/x-www-form-urlencoded may be at most 8192 bytes; send JSON as "
            "Content-Type: application/json");
  // Nesting deep enough to overflow a recursive parser's stack.
  e = serve.post("/api/explain", std::string(30'000, '[') + std::string(30'000, ']'), &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(e["error"]["message"], "the request body must be a JSON object");

  serve.post("/api/queries", install_body("one", kSeedLike).dump(), &status);
  EXPECT_EQ(status, 201);
  e = serve.post("/api/queries", install_body("one", kSeedLike).dump(), &status);
  EXPECT_EQ(status, 409);
  e = serve.post("/api/queries", install_body("two", kSeedLike).dump(), &status);
  EXPECT_EQ(status, 429);
  EXPECT_EQ(e["error"]["message"], "serve already manages 1 queries (--max-queries); stop one first");
  serve.get("/api/queries/nope", &status);
  EXPECT_EQ(status, 404);
  serve.post("/api/queries/nope/pause", "", &status);
  EXPECT_EQ(status, 404);
  auto stop = serve.pivot({"stop", "nope"});
  EXPECT_EQ(WEXITSTATUS(stop->wait()), 1);
  EXPECT_TRUE(pivot::testing::any_contains(stop->rest_err(1000), "no managed query named 'nope'"));

  Json st = serve.get("/api/status", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(st["limits"]["body_size"]["hits"], 2);
  EXPECT_EQ(st["limits"]["queries"]["hits"], 1);
  EXPECT_EQ(serve.get("/api/queries")["queries"].size(), 1u);
}

TEST_F(ServeLocalTest, WindowAndStreamLimitsActAndAreCounted) {
  h_.app("h1", "alpha");
  ServeProcess serve(h_, {"--window-intervals", "3", "--max-streams", "1"});
  ASSERT_NO_FATAL_FAILURE(start_with_seed(serve, 50));
  int status = 0;
  Json st =
      poll(serve, "/api/status", [](const Json& j) { return j["limits"]["window_intervals"]["hits"] >= 2; });
  EXPECT_EQ(st["limits"]["window_intervals"]["value"], 3);
  EXPECT_GE(st["limits"]["window_intervals"]["hits"].get<int>(), 2);
  EXPECT_EQ(serve.get("/api/queries/seed/intervals")["intervals"].size(), 3u);
  EXPECT_EQ(serve.get("/api/queries/seed")["window"]["intervals"], 3);

  // One stream is allowed; a second is refused while it lasts.
  std::atomic<bool> connected{false}, checked{false};
  std::thread holder([&] {
    serve.client()->Get("/api/stream", [&](const char*, size_t) {
      connected = true;
      return !checked;  // stay until the second one was refused; intervals come every 50 ms
    });
  });
  for (int i = 0; i < 100 && !connected; ++i) usleep(50'000);
  serve.get("/api/stream", &status);
  checked = true;
  EXPECT_EQ(status, 503);
  holder.join();
  std::string metrics = serve.client()->Get("/metrics")->body;
  EXPECT_NE(metrics.find("\npivot_serve_limit_hits_total{limit=\"sse_clients\"} 1\n"), std::string::npos)
      << metrics;
}

// Where the shape of a documented response and serve's differ: keys one
// has and the other lacks, or values of another kind (numbers are numbers).
void compare_shape(const Json& doc, const Json& live, const std::string& at,
                   std::vector<std::string>& diffs) {
  if (doc.is_object() && live.is_object()) {
    for (const auto& [key, value] : doc.items()) {
      if (!live.contains(key))
        diffs.push_back(at + "." + key + " is documented but serve has none");
      else
        compare_shape(value, live[key], at + "." + key, diffs);
    }
    for (const auto& [key, value] : live.items()) {
      if (!doc.contains(key)) diffs.push_back(at + "." + key + " is in serve's answer but not documented");
    }
  } else if (doc.is_array() && live.is_array()) {
    if (!doc.empty() && !live.empty()) compare_shape(doc[0], live[0], at + "[0]", diffs);
  } else if (!(doc.is_number() && live.is_number()) && !doc.is_null() && !live.is_null() &&
             doc.type() != live.type()) {
    diffs.push_back(at + " is a " + doc.type_name() + " in the docs, a " + live.type_name() + " from serve");
  }
}

// The ```json TAG blocks of docs/serve.md, by TAG.
std::map<std::string, Json> documented_responses(std::string* metrics_block) {
  std::ifstream in(std::string(PIVOT_SOURCE_DIR) + "/docs/serve.md");
  std::map<std::string, Json> out;
  std::string line, tag, text;
  bool in_block = false, in_metrics = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) {
      if (in_block && !tag.empty()) {
        Json j = Json::parse(text, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << "docs/serve.md: the " << tag << " example is not JSON";
        out[tag] = j;
      }
      if (in_metrics) *metrics_block = text;
      in_metrics = !in_block && line == "```metrics";
      tag = !in_block && line.rfind("```json ", 0) == 0 ? line.substr(8) : "";
      in_block = !in_block;
      text.clear();
      continue;
    }
    if (in_block) text += line + "\n";
  }
  return out;
}

// An SSE client of /api/stream?query=seed that keeps the first event of each type.
class StreamRecorder {
 public:
  explicit StreamRecorder(const ServeProcess& s)
      : thread_([this, &s] {
          s.client()->Get("/api/stream?query=seed", [this](const char* data, size_t n) {
            buf_.append(data, n);
            for (size_t end; (end = buf_.find("\n\n")) != std::string::npos; buf_.erase(0, end + 2)) {
              std::string e = buf_.substr(0, end);
              if (e.rfind("event: ", 0) != 0) continue;
              std::string type = e.substr(0, e.find('\n'));
              std::lock_guard<std::mutex> lock(mu_);
              if (!seen_.count(type)) seen_[type] = Json::parse(e.substr(e.find("data: ") + 6));
            }
            std::lock_guard<std::mutex> lock(mu_);
            return !done_;
          });
        }) {}
  // The first event of `type` ("event: interval"), waiting up to 10 s.
  Json first(const std::string& type) {
    for (int i = 0; i < 100; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (seen_.count(type)) return seen_[type];
      }
      usleep(100'000);
    }
    return Json();
  }
  ~StreamRecorder() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    thread_.join();  // at the next event or keep-alive
  }

 private:
  std::mutex mu_;
  std::map<std::string, Json> seen_;
  bool done_ = false;
  std::string buf_;
  std::thread thread_;
};

TEST_F(ServeLocalTest, DocsShowEachResponseAsServeGivesIt) {
  auto& a = h_.app("h1", "alpha");
  ServeProcess serve(h_);
  ASSERT_TRUE(serve.start()) << serve.error();
  std::map<std::string, Json> live;
  int status = 0;
  live["POST /api/queries"] = serve.post("/api/queries", install_body("seed", kSeedLike).dump(), &status);
  ASSERT_EQ(status, 201);
  CliHarness::fire(a, 4);
  ASSERT_EQ(total_of(serve, "seed", seed_like_total({4})), seed_like_total({4}));
  poll(serve, "/api/agents",
       [](const Json& j) { return !j["agents"].empty() && j["agents"][0]["queries"] == 1; });
  for (const char* path : {"/api/status", "/api/agents", "/api/tracepoints", "/api/queries",
                           "/api/queries/seed", "/api/queries/seed/intervals"}) {
    live[std::string("GET ") + path] = serve.get(path);
  }
  live["POST /api/explain"] = serve.post("/api/explain", Json{{"text", kSeedLike}}.dump(), &status);
  live["POST /api/explain error"] =
      serve.post("/api/explain", Json{{"text", "From r In App.request\nSelect SUM(r.nope)"}}.dump(), &status);
  {
    StreamRecorder stream(serve);
    live["event: interval"] = stream.first("event: interval");
    live["POST /api/queries/seed/pause"] = serve.post("/api/queries/seed/pause", "", &status);
    live["event: state"] = stream.first("event: state");
    serve.post("/api/queries/seed/resume", "", &status);
  }
  live["DELETE /api/queries/seed"] = Json::parse(serve.client()->Delete("/api/queries/seed")->body);
  live["error"] = serve.get("/api/queries/seed");

  std::string metrics_block;
  std::map<std::string, Json> doc = documented_responses(&metrics_block);
  for (const auto& [tag, response] : live) {
    ASSERT_TRUE(doc.count(tag)) << "docs/serve.md shows no ```json " << tag << " example";
    std::vector<std::string> diffs;
    compare_shape(doc[tag], response, "", diffs);
    EXPECT_TRUE(diffs.empty()) << tag << ":\n  " << ::testing::PrintToString(diffs)
                               << "\nserve: " << response;
  }
  for (const auto& [tag, example] : doc)
    EXPECT_TRUE(live.count(tag)) << "no test checks the " << tag << " example";

  // The metric families the docs show and the Grafana dashboard reads are
  // the ones serve exports, of the same type.
  std::string metrics = serve.client()->Get("/metrics")->body;
  std::istringstream lines(metrics_block);
  int types = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    ++types;
    EXPECT_NE(metrics.find(line + "\n"), std::string::npos) << line;
  }
  EXPECT_GE(types, 5);
  std::ifstream grafana(std::string(PIVOT_SOURCE_DIR) + "/docs/grafana-pivot.json");
  Json dashboard = Json::parse(grafana, nullptr, false);
  ASSERT_FALSE(dashboard.is_discarded()) << "docs/grafana-pivot.json is not JSON";
  int exprs = 0;
  for (const Json& panel : dashboard["panels"]) {
    for (const Json& t : panel["targets"]) {
      std::string expr = t["expr"].get<std::string>();
      ++exprs;
      for (size_t at = expr.find("pivot_"); at != std::string::npos; at = expr.find("pivot_", at + 1)) {
        size_t end = expr.find_first_not_of("abcdefghijklmnopqrstuvwxyz_", at);
        std::string name = expr.substr(at, end - at);
        EXPECT_NE(metrics.find("# TYPE " + name + " "), std::string::npos) << "the dashboard reads " << name;
        at = end - 1;
      }
    }
  }
  EXPECT_GE(exprs, 8);
}

TEST_F(ServeLocalTest, TokenGuardsWritesAndEverythingOffLoopback) {
  h_.app("h1", "alpha");
  {
    ServeProcess serve(h_, {}, {"PIVOT_TOKEN=t0ken"});
    ASSERT_TRUE(serve.start()) << serve.error();
    int status = 0;
    serve.get("/api/queries", &status);
    EXPECT_EQ(status, 200);  // loopback: reads are open
    Json e = serve.post("/api/queries", install_body("seed", kSeedLike).dump(), &status);
    EXPECT_EQ(status, 401);
    EXPECT_EQ(e["error"]["message"], "this request changes serve's queries: it needs the bearer token");
    serve.post("/api/queries", install_body("seed", kSeedLike).dump(), &status, "t0ken-not");
    EXPECT_EQ(status, 401);
    auto detach = serve.pivot({"query", "--detach", "seed", kSeedLike});
    EXPECT_EQ(WEXITSTATUS(detach->wait()), 1);
    serve.post("/api/queries", install_body("seed", kSeedLike).dump(), &status, "t0ken");
    EXPECT_EQ(status, 201);
    EXPECT_EQ(serve.get("/api/status")["unauthorized"], 3);
  }
  {
    // Off loopback without a token: refused before it listens.
    ServeProcess open(h_);
    EXPECT_FALSE(open.start("0.0.0.0:0"));
    EXPECT_NE(open.error().find("(not a loopback address) needs a token"), std::string::npos) << open.error();
    EXPECT_EQ(WEXITSTATUS(open.process().wait()), 1);
  }
  {
    std::string file = h_.dir() + "-token";
    std::ofstream(file) << "file-token\n";
    ServeProcess off(h_, {"--token-file", file});
    ASSERT_TRUE(off.start("0.0.0.0:0")) << off.error();
    int status = 0;
    off.get("/metrics", &status);
    EXPECT_EQ(status, 401);
    httplib::Headers auth = {{"Authorization", "Bearer file-token"}};
    auto r = off.client()->Get("/metrics", auth);
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200);
    std::remove(file.c_str());
  }
}

#endif  // PIVOT_HAVE_SERVE

}  // namespace
