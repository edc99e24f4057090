#include "trace/sink.h"

#include <gtest/gtest.h>
#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/clock.h"
#include "trace/builtin_sinks.h"
#include "trace/format.h"
#include "trace/trace_test_util.h"
#include "tracepoint/process_info.h"

namespace pivot::testing {
namespace {

using nlohmann::json;

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "pivot_" + name + "_" + std::to_string(::getpid());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) out.push_back(line);
  return out;
}

// The exact line for a span, given the times the line itself carries.
std::string expected_line(const json& j, std::string_view kind, std::string_view uniq, int64_t freq,
                          int64_t pid, int64_t id, std::string_view tag) {
  const internal::ProcessInfo& p = internal::process_info();
  std::string out;
  internal::append_span_json(out, {static_cast<int64_t>(::gettid()), p.host, p.proc_id, kind, uniq, freq, pid,
                                   id, tag, j.at("t1").get<int64_t>(), j.at("t2").get<int64_t>(), false});
  return out;
}

class SinkTest : public ::testing::Test {
 protected:
  void TearDown() override {
    flush_traces();
    set_trace_sink(discard_sink());
  }
};

TEST_F(SinkTest, SyslogLinesAreLocal7InfoWithEscapedJson) {
  std::mutex mu;
  std::vector<std::pair<int, std::string>> lines;
  set_trace_sink(
      internal::TraceSinkAccess::make(internal::make_syslog_sink([&](int priority, std::string_view line) {
        std::lock_guard<std::mutex> lock(mu);
        lines.emplace_back(priority, std::string(line));
      })));
  int64_t before = internal::now_ns();
  {
    Auction a{"id \"quoted\"\n\xff", 1, "Kind'with'quotes"};
    Trace<Auction> root(a, "root");
    Trace<Auction> child(a, "tag\twith\\escapes");
  }
  int64_t after = internal::now_ns();
  flush_traces();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& [priority, line] : lines) EXPECT_EQ(priority, LOG_LOCAL7 | LOG_INFO);
  json child = json::parse(lines[0].second);
  json root = json::parse(lines[1].second);
  EXPECT_EQ(lines[0].second,
            expected_line(child, "Kind'with'quotes", "id \"quoted\"\n\xff", 1, 1, 2, "tag\twith\\escapes"));
  EXPECT_EQ(lines[1].second,
            expected_line(root, "Kind'with'quotes", "id \"quoted\"\n\xff", 1, -1, 1, "root"));
  EXPECT_EQ(child.at("uniq").get<std::string>(), "id \"quoted\"\n\xef\xbf\xbd");  // U+FFFD for the bad byte
  EXPECT_LE(before, root.at("t1").get<int64_t>());
  EXPECT_LE(root.at("t1").get<int64_t>(), child.at("t1").get<int64_t>());
  EXPECT_LE(child.at("t2").get<int64_t>(), root.at("t2").get<int64_t>());
  EXPECT_LE(root.at("t2").get<int64_t>(), after);
}

TEST_F(SinkTest, TheDefaultSinkWritesToSyslogWithoutCrashing) {
  set_trace_sink(syslog_sink());
  { Trace<Auction> t(Auction{"pivot-trace-test"}, "sink_test: default syslog sink"); }
  flush_traces();
  SUCCEED();
}

TEST_F(SinkTest, JsonLinesFile) {
  std::string path = temp_path("spans.jsonl");
  std::remove(path.c_str());
  auto sink = json_lines_sink(path);
  ASSERT_TRUE(sink) << sink.error().message();
  set_trace_sink(*sink);
  for (int i = 0; i < 3; ++i) {
    Auction a{"jl-" + std::to_string(i)};
    Trace<Auction> r(a, "r");
    Trace<Auction> c(a, "c");
  }
  flush_traces();
  auto lines = lines_of(read_file(path));
  ASSERT_EQ(lines.size(), 6u);
  for (int i = 0; i < 3; ++i) {
    json c = json::parse(lines[2 * i]);
    json r = json::parse(lines[2 * i + 1]);
    std::string uniq = "jl-" + std::to_string(i);
    EXPECT_EQ(lines[2 * i], expected_line(c, "Auction", uniq, 1, 1, 2, "c"));
    EXPECT_EQ(lines[2 * i + 1], expected_line(r, "Auction", uniq, 1, -1, 1, "r"));
  }
  std::remove(path.c_str());
}

// A tree too big to pack into the ring goes to the writer by pointer.
TEST_F(SinkTest, BigTreesReachBuiltInSinksWhole) {
  std::string path = temp_path("big.jsonl");
  std::remove(path.c_str());
  auto sink = json_lines_sink(path);
  ASSERT_TRUE(sink) << sink.error().message();
  set_trace_sink(*sink);
  std::string tag(100, 'g');
  {
    Auction a{"big-tree"};
    Trace<Auction> root(a, "root");
    for (int i = 0; i < 300; ++i) Trace<Auction> leaf(a, tag);
  }
  { Trace<Auction> small(Auction{"small-tree"}, "after"); }  // queued after the big one
  flush_traces();
  auto lines = lines_of(read_file(path));
  ASSERT_EQ(lines.size(), 302u);
  for (int i = 0; i < 300; ++i) {
    json j = json::parse(lines[i]);
    EXPECT_EQ(lines[i], expected_line(j, "Auction", "big-tree", 1, 1, i + 2, tag));
  }
  EXPECT_EQ(json::parse(lines[300]).at("tag"), "root");
  EXPECT_EQ(json::parse(lines[301]).at("uniq"), "small-tree");
  std::remove(path.c_str());
}

TEST_F(SinkTest, JsonLinesBadPathIsAnError) {
  auto sink = json_lines_sink("/nonexistent-dir/pivot/spans.jsonl");
  ASSERT_FALSE(sink);
  EXPECT_NE(sink.error().message().find("/nonexistent-dir/pivot/spans.jsonl"), std::string::npos);
}

TEST_F(SinkTest, ChromeTraceIsAValidArrayAfterEveryWrite) {
  std::string path = temp_path("trace.json");
  auto sink = chrome_trace_sink(path);
  ASSERT_TRUE(sink) << sink.error().message();
  json empty = json::parse(read_file(path));
  ASSERT_TRUE(empty.is_array());
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(empty[0].at("ph"), "M");
  EXPECT_EQ(empty[0].at("args").at("name"), internal::process_info().proc_name);
  set_trace_sink(*sink);
  for (int batch = 1; batch <= 3; ++batch) {
    {
      Auction a{"chrome-" + std::to_string(batch), 1, "Req\"uest"};
      Trace<Auction> r(a, "handle");
      Trace<Auction> c(a, "read \"block\"");
    }
    flush_traces();
    json events = json::parse(read_file(path));
    ASSERT_TRUE(events.is_array());
    ASSERT_EQ(events.size(), 1u + 2u * batch);
    const json& c = events[events.size() - 2];
    const json& r = events[events.size() - 1];
    EXPECT_EQ(c.at("name"), "read \"block\"");
    EXPECT_EQ(c.at("cat"), "Req\"uest");
    EXPECT_EQ(c.at("ph"), "X");
    EXPECT_EQ(c.at("pid"), internal::process_info().proc_id);
    EXPECT_EQ(c.at("tid"), ::gettid());
    EXPECT_EQ(c.at("args").at("uniq"), "chrome-" + std::to_string(batch));
    EXPECT_EQ(c.at("args").at("id"), 2);
    EXPECT_EQ(c.at("args").at("parent"), 1);
    EXPECT_EQ(r.at("args").at("parent"), -1);
    EXPECT_LE(r.at("ts").get<double>(), c.at("ts").get<double>());
    EXPECT_GE(c.at("dur").get<double>(), 0);
    EXPECT_GE(r.at("dur").get<double>(), c.at("dur").get<double>());
  }
  std::remove(path.c_str());
}

// A built-in sink whose writes block until released: the writer thread
// stalls, the rings fill, and the traced thread must still never wait.
class BlockingSink final : public internal::SinkImpl {
 public:
  void write(const internal::TreeView&) override {
    while (!released.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    written.fetch_add(1);
  }
  std::atomic<bool> released{false};
  std::atomic<int> written{0};
};

TEST_F(SinkTest, AFullQueueDropsAndCountsInsteadOfBlocking) {
  auto blocking = std::make_shared<BlockingSink>();
  set_trace_sink(internal::TraceSinkAccess::make(blocking));
  TraceStats before = trace_stats();
  constexpr int kTrees = 5000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kTrees; ++i) Trace<Auction> t(Auction{"full-" + std::to_string(i)}, "t");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(2)) << "the traced thread waited for the stalled writer";
  TraceStats after = trace_stats();
  uint64_t queued = after.trees_delivered - before.trees_delivered;
  uint64_t dropped = after.trees_dropped - before.trees_dropped;
  EXPECT_EQ(queued + dropped, static_cast<uint64_t>(kTrees));
  EXPECT_GT(dropped, 0u);
  blocking->released = true;
  flush_traces();
  EXPECT_EQ(static_cast<uint64_t>(blocking->written.load()), queued);
}

TEST_F(SinkTest, DiscardSinkTakesTreesOffTheThread) {
  set_trace_sink(discard_sink());
  TraceStats before = trace_stats();
  for (int i = 0; i < 100; ++i) Trace<Auction> t(Auction{"d"}, "t");
  flush_traces();
  EXPECT_EQ(trace_stats().trees_delivered - before.trees_delivered, 100u);
}

// Replacing the sink while threads trace (run under TSan too): no call to a
// replaced SinkCb may start after set_trace_sink() returns.
TEST_F(SinkTest, ReplacingTheSinkWhileThreadsTrace) {
  struct Counting {
    std::atomic<int> calls{0};
    std::atomic<bool> retired{false};
    std::atomic<int> calls_after_retired{0};
  };
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      Auction a{"replace-" + std::to_string(t)};
      while (!stop.load(std::memory_order_relaxed)) {
        Trace<Auction> r(a, "r");
        Trace<Auction> c(a, "c");
      }
    });
  }
  std::string path = temp_path("replace.jsonl");
  auto jsonl = json_lines_sink(path);
  ASSERT_TRUE(jsonl);
  std::vector<std::unique_ptr<Counting>> sinks;
  for (int round = 0; round < 200; ++round) {
    switch (round % 4) {
      case 0:
      case 2: {
        sinks.push_back(std::make_unique<Counting>());
        Counting* c = sinks.back().get();
        set_trace_sink([c](const ProbeCtx&, const std::vector<Span>& spans) {
          if (c->retired.load()) c->calls_after_retired.fetch_add(1);
          c->calls.fetch_add(static_cast<int>(spans.size()));
        });
        // Let the threads use it before it is replaced.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        while (c->calls.load() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
        break;
      }
      case 1: set_trace_sink(discard_sink()); break;
      case 3: set_trace_sink(*jsonl); break;
    }
    // Everything installed before the call just made is retired now.
    for (size_t i = 0; i + 1 < sinks.size(); ++i) sinks[i]->retired = true;
    if (round % 4 != 0 && round % 4 != 2 && !sinks.empty()) sinks.back()->retired = true;
  }
  stop = true;
  for (auto& t : threads) t.join();
  set_trace_sink(discard_sink());
  int total = 0;
  for (auto& s : sinks) {
    EXPECT_EQ(s->calls_after_retired.load(), 0);
    total += s->calls.load();
  }
  EXPECT_GT(total, 0);
  flush_traces();
  std::remove(path.c_str());
}

// Trees still queued when the process exits are written by the exit hook.
TEST(SinkExitTest, QueuedTreesAreWrittenAtExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The child re-runs this test in a new process: name the file after the
  // parent's pid in both.
  bool child = !GTEST_FLAG_GET(internal_run_death_test).empty();
  std::string path = ::testing::TempDir() + "pivot_exit_" + std::to_string(child ? ::getppid() : ::getpid());
  if (!child) std::remove(path.c_str());
  EXPECT_EXIT(
      {
        auto sink = json_lines_sink(path);
        if (!sink) std::exit(2);
        set_trace_sink(*sink);
        for (int i = 0; i < 10; ++i) Trace<Auction> t(Auction{"exit-" + std::to_string(i)}, "t");
        std::exit(0);  // no flush_traces()
      },
      ::testing::ExitedWithCode(0), "");
  auto lines = lines_of(read_file(path));
  ASSERT_EQ(lines.size(), 10u);
  EXPECT_EQ(json::parse(lines[9]).at("uniq"), "exit-9");
  std::remove(path.c_str());
}

TEST_F(SinkTest, FlushWithNothingQueuedReturns) {
  flush_traces();
  flush_traces();
  SUCCEED();
}

}  // namespace
}  // namespace pivot::testing
