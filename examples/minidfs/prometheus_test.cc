// The whole path an on-call engineer's graph takes: a minidfs cluster runs
// the seed query under `pivot serve`, a real Prometheus server (Debian
// `prometheus`, started here on a free port) scrapes serve's /metrics every
// second, and PromQL through Prometheus' HTTP API returns exactly the bytes
// the clients recorded reading, per client application.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "support/files.h"
#include "support/nats_server.h"
#include "support/subprocess.h"
#include "truth.h"

#ifdef PIVOT_HAVE_SERVE
#include <httplib.h>
#endif

namespace {

using Json = nlohmann::json;
using pivot::testing::Subprocess;
using pivot::testing::wait_for_file;

#ifdef PIVOT_HAVE_SERVE

constexpr const char* kPrometheus = "/usr/bin/prometheus";

// GET url+path as JSON (null when it failed).
Json get_json(const std::string& url, const std::string& path) {
  httplib::Client c(url);
  c.set_connection_timeout(2);
  c.set_read_timeout(10);
  auto r = c.Get(path);
  return r ? Json::parse(r->body, nullptr, false) : Json();
}

// procName -> value of each sample of an instant vector from /api/v1/query.
std::map<std::string, int64_t> by_proc_name(const Json& answer) {
  std::map<std::string, int64_t> out;
  if (!answer.is_object() || answer["status"] != "success") return out;
  for (const Json& s : answer["data"]["result"]) {
    // The value is [time, "text"]; these sums are integers well under 2^53.
    out[s["metric"].value("cl_procName", "")] = std::llround(std::stod(s["value"][1].get<std::string>()));
  }
  return out;
}

TEST(Prometheus, ScrapedTotalsOfTheSeedQueryEqualTheGroundTruth) {
  if (!pivot::testing::exists(kPrometheus))
    GTEST_SKIP() << "no " << kPrometheus << ": install the Debian package prometheus";
  std::string dir = "/tmp/pivot-prom-test-" + std::to_string(getpid());
  ASSERT_EQ(system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "/prom'").c_str()), 0);
  std::string runtime = dir + "/agents", truth_dir = dir + "/truth", go = dir + "/go", done = dir + "/done";
  Subprocess cluster(
      {MINIDFS_BIN, "cluster",      "--datanodes",  "3",           "--clients", "3",
       "--ops",     "12",           "--seed",       "5",           "--stay",    "--go-file",
       go,          "--done-file",  done,           "--truth-dir", truth_dir,   "--runtime-dir",
       runtime,     "--ready-file", dir + "/ready", "--run-dir",   dir + "/run"});
  ASSERT_TRUE(wait_for_file(dir + "/ready", 30'000)) << "the cluster did not start";

  Subprocess serve({PIVOT_CLI, "--runtime-dir", runtime, "serve", "--listen", "127.0.0.1:0", "--state",
                    dir + "/serve-state.json"});
  auto said = serve.err_line(20'000);
  ASSERT_TRUE(said && said->find("listening on http://127.0.0.1:") != std::string::npos) << said.value_or("");
  const int serve_port = std::atoi(said->c_str() + said->find("127.0.0.1:") + 10);
  const std::string serve_url = "http://127.0.0.1:" + std::to_string(serve_port);
  auto seed = minidfs::truth::query_text("Q2");
  ASSERT_TRUE(seed) << seed.error().message();
  httplib::Client client(serve_url);
  client.set_read_timeout(30);
  auto installed =
      client.Post("/api/queries", Json{{"name", "seed"}, {"text", *seed}, {"interval_ms", 200}}.dump(),
                  "application/json");
  ASSERT_TRUE(installed);
  ASSERT_EQ(installed->status, 201) << installed->body;

  const int prom_port = pivot::testing::free_port();
  std::ofstream(dir + "/prometheus.yml") << "global:\n"
                                            "  scrape_interval: 1s\n"
                                            "  evaluation_interval: 1s\n"
                                            "scrape_configs:\n"
                                            "  - job_name: pivot\n"
                                            "    static_configs:\n"
                                            "      - targets: ['127.0.0.1:"
                                         << serve_port << "']\n";
  Subprocess prometheus({kPrometheus, "--config.file=" + dir + "/prometheus.yml",
                         "--storage.tsdb.path=" + dir + "/prom",
                         "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"});
  const std::string prom_url = "http://127.0.0.1:" + std::to_string(prom_port);

  ASSERT_EQ(system(("touch '" + go + "'").c_str()), 0);
  ASSERT_TRUE(wait_for_file(done, 60'000)) << "the clients did not finish";
  auto records = minidfs::truth::load_dir(truth_dir);
  ASSERT_TRUE(records) << records.error().message();
  auto want_table = minidfs::truth::expected(*records, "Q2");
  ASSERT_TRUE(want_table) << want_table.error().message();
  std::map<std::string, int64_t> want;
  for (const auto& row : want_table->rows) want[row[0].as_string()] = row[1].as_int();
  ASSERT_EQ(want.size(), 3u);  // MapReduce, HBase, FSread

  // Prometheus has the totals once it has scraped after serve merged them.
  const std::string promql = "/api/v1/query?query=pivot_query_sum_total%7Bquery%3D%22seed%22%7D";
  std::map<std::string, int64_t> got;
  for (int waited = 0; waited < 60'000 && got != want; waited += 500) {
    got = by_proc_name(get_json(prom_url, promql));
    if (got != want) usleep(500'000);
  }
  EXPECT_EQ(got, want) << "serve has: " << get_json(serve_url, "/api/queries/seed")["total"].dump();
  // Prometheus saw serve up, and the query on every agent of the cluster.
  Json up = get_json(prom_url, "/api/v1/query?query=up%7Bjob%3D%22pivot%22%7D");
  ASSERT_EQ(up["data"]["result"].size(), 1u) << up.dump();
  EXPECT_EQ(up["data"]["result"][0]["value"][1], "1");
  Json agents = get_json(prom_url, "/api/v1/query?query=pivot_query_agents%7Bquery%3D%22seed%22%7D");
  ASSERT_EQ(agents["data"]["result"].size(), 1u) << agents.dump();
  EXPECT_EQ(agents["data"]["result"][0]["value"][1], "7");

  prometheus.signal(SIGTERM);
  EXPECT_EQ(prometheus.wait(), 0);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(), 0);
  cluster.signal(SIGTERM);
  EXPECT_EQ(cluster.wait(), 0);
  if (!::testing::Test::HasFailure()) (void)!system(("rm -rf '" + dir + "'").c_str());
}

#else

TEST(Prometheus, ScrapedTotalsOfTheSeedQueryEqualTheGroundTruth) {
  GTEST_SKIP() << "pivot serve is not built: install the Debian package libcpp-httplib-dev";
}

#endif  // PIVOT_HAVE_SERVE

}  // namespace
