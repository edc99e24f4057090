// End to end: real minidfs processes on real sockets, started by the
// launcher. Checks that the clients' ground truth agrees with the file
// system image and with what the namenode and datanodes say they served,
// that runs are reproducible, and that the launcher starts, holds, stops
// and cleans up its cluster in every mode.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "fs_image.h"
#include "nlohmann/json.hpp"
#include "process.h"
#include "truth.h"

namespace minidfs {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  // A zombie nobody reaped yet is gone too.
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || (paren + 2 < stat.size() && stat[paren + 2] == 'Z');
}

template <class F>
bool eventually(F f, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return f();
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("minidfs-cluster-test-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Starts `minidfs cluster` with the common flags plus `extra`.
  void start(const std::vector<std::string>& extra, const std::string& tag = "run") {
    run_ = dir_ / tag;
    fs::create_directories(run_);
    std::vector<std::string> args = {MINIDFS_BIN,     "cluster",
                                     "--truth-dir",   (run_ / "truth").string(),
                                     "--run-dir",     (run_ / "rundir").string(),
                                     "--runtime-dir", (dir_ / "pivot").string(),
                                     "--ready-file",  (run_ / "ready.json").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto pid = spawn_child({args, {}, (run_ / "launcher.out").string()});
    ASSERT_TRUE(pid) << pid.error().message();
    pid_ = *pid;
    exited_ = false;
  }

  // Waits for the launcher to exit; returns its exit code (-1 on timeout/signal).
  int wait_exit(int timeout_ms = 90'000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "launcher did not exit; output:\n" << output();
    return -1;
  }

  bool wait_ready() {
    return eventually(
               [&] { return fs::exists(run_ / "ready.json") || ::waitpid(pid_, nullptr, WNOHANG) != 0; },
               60'000) &&
           fs::exists(run_ / "ready.json");
  }

  std::string output() const { return slurp(run_ / "launcher.out"); }
  json ready() const { return json::parse(slurp(run_ / "ready.json")); }
  json stats(const std::string& host) const {
    return json::parse(slurp(run_ / "rundir" / (host + ".stats.json")));
  }

  std::vector<truth::ClientRecord> records() const {
    auto r = truth::load_dir((run_ / "truth").string());
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : std::vector<truth::ClientRecord>{};
  }

  std::vector<pid_t> child_pids() const {
    json j = ready();
    std::vector<pid_t> pids = {j["namenode"]["pid"].get<pid_t>()};
    for (const auto& c : j["datanodes"]) pids.push_back(c["pid"].get<pid_t>());
    for (const auto& c : j["clients"]) pids.push_back(c["pid"].get<pid_t>());
    return pids;
  }

  // Truth against the image and against what the servers say they served.
  void expect_consistent(const FsImageOptions& image_options, bool fixed_order) {
    FsImage image = FsImage::generate(image_options);
    auto recs = records();
    json sum = truth::summary(recs);
    for (const auto& c : recs) {
      EXPECT_TRUE(c.complete) << c.error;
      for (const auto& op : c.ops) {
        const FileInfo* f = image.find(op.src);
        ASSERT_NE(f, nullptr) << op.src;
        EXPECT_EQ(std::multiset<std::string>(op.replicas.begin(), op.replicas.end()),
                  std::multiset<std::string>(f->replicas.begin(), f->replicas.end()));
        if (op.op == "read") {
          ASSERT_EQ(op.reads.size(), f->blocks.size());
        } else {
          ASSERT_EQ(op.op, "pread");
          ASSERT_EQ(op.reads.size(), 1u);
        }
        for (size_t i = 0; i < op.reads.size(); ++i) {
          const auto& r = op.reads[i];
          EXPECT_EQ(image.file_of_block(r.block), f);
          if (op.op == "read") {
            EXPECT_EQ(r.block, f->blocks[i].id);
          }
          EXPECT_EQ(r.bytes, r.length);
          EXPECT_GT(r.bytes, 0);
          EXPECT_NE(std::find(op.replicas.begin(), op.replicas.end(), r.datanode), op.replicas.end());
          if (fixed_order) {
            EXPECT_EQ(r.datanode, op.replicas.front());
          }
        }
      }
    }
    // The namenode answered one GetBlockLocations per op.
    json nn = stats("nn");
    EXPECT_EQ(nn["get_block_locations"], sum["ops"]);
    EXPECT_EQ(nn["by_src"], sum["files"]);
    EXPECT_EQ(nn["errors"], 0);
    // Each datanode served exactly the reads and bytes the clients received,
    // and says so in its log too.
    for (int i = 1; i <= image_options.datanodes; ++i) {
      std::string host = datanode_host(i);
      json dn = stats(host);
      json want = sum["datanodes"].contains(host)
                      ? sum["datanodes"][host]
                      : json{{"reads", 0}, {"bytes", 0}, {"bytes_by_src", json::object()}};
      EXPECT_EQ(dn["reads"], want["reads"]) << host;
      EXPECT_EQ(dn["bytes"], want["bytes"]) << host;
      EXPECT_EQ(dn["bytes_by_src"], want["bytes_by_src"]) << host;
      EXPECT_EQ(dn["errors"], 0) << host;
      std::string line =
          "datanode " + host + ": reads=" + want["reads"].dump() + " bytes=" + want["bytes"].dump();
      EXPECT_NE(slurp(run_ / "rundir" / (host + ".log")).find(line), std::string::npos) << line;
    }
  }

  fs::path dir_, run_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

TEST_F(ClusterTest, RunsAWorkloadAndTheTruthAddsUp) {
  start({"--datanodes", "3", "--clients", "3", "--ops", "25", "--seed", "11", "--files", "6"});
  ASSERT_EQ(wait_exit(), 0) << output();
  std::string out = output();
  EXPECT_NE(out.find("\nready\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\ndone\n"), std::string::npos) << out;
  EXPECT_NE(out.find("minidfs: stopped"), std::string::npos) << out;
  auto recs = records();
  ASSERT_EQ(recs.size(), 3u);
  std::vector<std::string> apps = {"MapReduce", "HBase", "FSread"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(recs[i].host, "client" + std::to_string(i + 1));
    EXPECT_EQ(recs[i].proc_name, apps[i]);
    EXPECT_EQ(recs[i].ops.size(), 25u);
  }
  expect_consistent({.seed = 11, .files = 6, .datanodes = 3}, false);
  for (pid_t p : child_pids()) EXPECT_TRUE(process_gone(p)) << p;

  // The truth CLI prints what the library computes.
  std::string cmd = std::string(MINIDFS_BIN) + " truth --dir " + (run_ / "truth").string() + " --query Q2";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buf[4096];
  std::string printed;
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) printed.append(buf, n);
  EXPECT_EQ(::pclose(pipe), 0);
  EXPECT_EQ(printed, truth::expected(recs, "Q2")->to_json() + "\n");
}

TEST_F(ClusterTest, SameSeedSameRun) {
  std::vector<std::string> flags = {"--datanodes", "4", "--clients", "2", "--ops", "12", "--seed", "5"};
  start(flags, "a");
  ASSERT_EQ(wait_exit(), 0) << output();
  auto first = records();
  start(flags, "b");
  ASSERT_EQ(wait_exit(), 0) << output();
  auto second = records();
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(second.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(truth::to_json(first[i]), truth::to_json(second[i]));
}

TEST_F(ClusterTest, FixedReplicaOrderSendsEveryReadToTheFirstReplica) {
  start({"--datanodes", "4", "--clients", "2", "--ops", "15", "--seed", "3", "--fixed-replica-order"});
  ASSERT_EQ(wait_exit(), 0) << output();
  for (const auto& c : records()) {
    for (const auto& op : c.ops) {
      EXPECT_TRUE(std::is_sorted(op.replicas.begin(), op.replicas.end(), [](const auto& a, const auto& b) {
        return datanode_index(a) < datanode_index(b);
      }));
    }
  }
  expect_consistent({.seed = 3, .datanodes = 4}, true);
  // With 4 datanodes and 3 replicas the first is dn1 or dn2: dn3 and dn4
  // serve nothing (HDFS-6268's skew).
  EXPECT_EQ(stats("dn3")["reads"], 0);
  EXPECT_EQ(stats("dn4")["reads"], 0);
}

TEST_F(ClusterTest, GoFileHoldsTheWorkloadAndStayKeepsTheClusterUp) {
  fs::path go = dir_ / "go";
  start({"--ops", "5", "--go-file", go.string(), "--stay", "--done-file", (dir_ / "done").string()});
  ASSERT_TRUE(wait_ready()) << output();
  json r = ready();
  EXPECT_EQ(r["namenode"]["host"], "nn");
  EXPECT_EQ(r["datanodes"].size(), 3u);
  EXPECT_EQ(r["clients"].size(), 3u);
  EXPECT_EQ(r["clients"][1]["procName"], "HBase");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(fs::exists(dir_ / "done"));
  EXPECT_FALSE(fs::exists(run_ / "truth" / "client1.json"));  // nothing ran yet
  std::ofstream(go) << "go\n";
  ASSERT_TRUE(eventually([&] { return fs::exists(dir_ / "done"); }, 60'000)) << output();
  // --stay: everyone is still up after the workload.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (pid_t p : child_pids()) EXPECT_FALSE(process_gone(p)) << p;
  ::kill(pid_, SIGTERM);
  ASSERT_EQ(wait_exit(), 0) << output();
  for (pid_t p : child_pids()) EXPECT_TRUE(process_gone(p)) << p;
  for (const auto& c : records()) EXPECT_EQ(c.ops.size(), 5u);
  expect_consistent({.seed = 1}, false);
}

TEST_F(ClusterTest, RunsUntilStoppedAndStopsCleanly) {
  start({"--rate", "40", "--seed", "8"});
  ASSERT_TRUE(wait_ready()) << output();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ::kill(pid_, SIGTERM);
  ASSERT_EQ(wait_exit(30'000), 0) << output();
  auto recs = records();
  ASSERT_EQ(recs.size(), 3u);
  for (const auto& c : recs) {
    EXPECT_TRUE(c.complete);
    EXPECT_GE(c.ops.size(), 1u);
    EXPECT_LE(c.ops.size(), 60u);  // about 40 per second
  }
  expect_consistent({.seed = 8}, false);
  for (pid_t p : child_pids()) EXPECT_TRUE(process_gone(p)) << p;
}

TEST_F(ClusterTest, DurationEndsTheWorkload) {
  auto t0 = Clock::now();
  start({"--duration", "1", "--rate", "10", "--clients", "1", "--datanodes", "2"});
  ASSERT_EQ(wait_exit(), 0) << output();
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(900));
  auto recs = records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_GE(recs[0].ops.size(), 5u);
  EXPECT_LE(recs[0].ops.size(), 11u);
  expect_consistent({.seed = 1, .datanodes = 2}, false);
}

TEST_F(ClusterTest, AKilledLauncherLeavesNoOrphans) {
  start({"--rate", "20"});
  ASSERT_TRUE(wait_ready()) << output();
  std::vector<pid_t> pids = child_pids();
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  exited_ = true;
  for (pid_t p : pids) EXPECT_TRUE(eventually([&] { return process_gone(p); }, 20'000)) << p;
}

// Every process writes a span per request; the ids tie a client's op to
// the namenode and datanode requests it made.
TEST_F(ClusterTest, SpanDirGetsEveryProcesssSpans) {
  fs::path spans = dir_ / "spans";
  start({"--ops", "4", "--clients", "2", "--datanodes", "2", "--span-dir", spans.string()});
  ASSERT_EQ(wait_exit(), 0) << output();
  auto recs = records();
  auto tags = [&](const std::string& host) {
    std::multiset<std::string> out;
    std::ifstream in(spans / (host + ".spans.jsonl"));
    for (std::string line; std::getline(in, line);) {
      json j = json::parse(line);
      EXPECT_EQ(j["kind"], "minidfs.op");
      out.insert(j["tag"].get<std::string>() + " " + j["uniq"].get<std::string>());
    }
    return out;
  };
  std::multiset<std::string> want_nn = {"NameNode.RegisterDatanode register/dn1",
                                        "NameNode.RegisterDatanode register/dn2"};
  std::multiset<std::string> want_dn[3];
  for (const auto& c : recs) {
    std::multiset<std::string> want;
    for (const auto& op : c.ops) {
      std::string rid = c.host + "/" + std::to_string(op.seq);
      want.insert((op.op == "read" ? "Client.read " : "Client.pread ") + rid);
      want_nn.insert("NameNode.GetBlockLocations " + rid);
      for (const auto& r : op.reads) want_dn[datanode_index(r.datanode)].insert("DataNode.ReadBlock " + rid);
    }
    EXPECT_EQ(tags(c.host), want) << c.host;
  }
  EXPECT_EQ(tags("nn"), want_nn);
  EXPECT_EQ(tags("dn1"), want_dn[1]);
  EXPECT_EQ(tags("dn2"), want_dn[2]);
}

TEST_F(ClusterTest, BadFlagsAndFailedStartsAreReported) {
  start({"--datanodes", "0"});
  EXPECT_NE(wait_exit(), 0);
  EXPECT_NE(output().find("--datanodes"), std::string::npos) << output();
  // A cluster that cannot get ready in time is torn down with an error.
  start({"--startup-timeout-ms", "1"}, "b");
  EXPECT_EQ(wait_exit(), 1);
  EXPECT_NE(output().find("timed out waiting for"), std::string::npos) << output();
  EXPECT_FALSE(fs::exists(run_ / "ready.json"));
}

// Every flag docs/minidfs.md names is a flag of some minidfs subcommand.
TEST(MinidfsDocs, EveryDocumentedFlagExists) {
  std::string help;
  for (const char* sub : {"cluster", "namenode", "datanode", "client", "truth"}) {
    std::string cmd = std::string(MINIDFS_BIN) + " " + sub + " --help";
    FILE* pipe = ::popen(cmd.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, pipe)) help.append(buf, n);
    ::pclose(pipe);
  }
  std::string doc = slurp(std::string(PIVOT_SOURCE_DIR) + "/docs/minidfs.md");
  int checked = 0;
  for (size_t at = doc.find("--"); at != std::string::npos; at = doc.find("--", at + 2)) {
    size_t end = at + 2;
    while (end < doc.size() && (std::islower(static_cast<unsigned char>(doc[end])) || doc[end] == '-')) ++end;
    std::string flag = doc.substr(at, end - at);
    if (flag.size() <= 2 || flag[2] == '-' || flag == "--preset") continue;  // table rules, cmake's flag
    EXPECT_TRUE(help.find(flag + " ") != std::string::npos || help.find(flag + "\n") != std::string::npos ||
                help.find(flag + ",") != std::string::npos)
        << flag << " is documented but no subcommand has it";
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace minidfs
