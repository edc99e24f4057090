// A process that forks after pivot started threads: the child has none of
// them. Its spans, flush_traces(), set_trace_sink() and exit must neither
// wait for them nor touch what is the parent's (its agent's socket, the
// trees its writer has yet to write), and the child may start an agent of
// its own.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <tuple>

#include "baggage/bag_data.h"
#include "baggage/test_util.h"
#include "core/sanitizers.h"
#include "pivot/pivot.h"
#include "support/nats_server.h"
#include "support/subprocess.h"
#include "tracepoint/process_info.h"
#include "tracepoint/thread_state.h"
#include "transport/local.h"

namespace app {
struct Job {
  std::string id;
};
inline std::tuple<const char*, std::string, int> do_probe(const Job& j) { return {"Job", j.id, 1}; }
}  // namespace app

namespace {

using Json = nlohmann::json;

// Runs `child` in a forked child, which ends with _exit(its result), so
// nothing of the test framework runs twice. The child's exit code, or -1 if
// it had not exited within 10 s (it is killed).
int in_child(const std::function<int()>& child) {
  pid_t pid = fork();
  if (pid == 0) _exit(child());
  if (pid < 0) return -2;
  for (int i = 0; i < 1000; ++i) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

bool skip_under_tsan() {
#if PIVOT_TSAN
  return true;
#else
  return false;
#endif
}
// GCC 12's AddressSanitizer does not hold its allocator's locks across
// fork(): a child whose parent had a thread allocating at that moment (an
// agent's thread, which allocates as it polls) waits in malloc forever.
bool skip_under_asan() {
#if PIVOT_ASAN
  return true;
#else
  return false;
#endif
}
constexpr const char* kAsanReason =
    "AddressSanitizer (GCC 12) does not hold its allocator's locks across fork(): this child, whose "
    "parent has an agent thread that allocates, can wait in malloc forever";

constexpr const char* kTsanReason =
    "ThreadSanitizer ends a child forked from a multithreaded process once it starts a thread "
    "(die_after_fork), which is what this test's child does";

int count_tag(const std::string& path, const std::string& tag, int64_t kpid) {
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    Json j = Json::parse(line);
    if (j["tag"] == tag && j["kpid"] == kpid) ++n;
  }
  return n;
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "pivot-fork-" + std::to_string(getpid()) + "-" + name;
}

TEST(Fork, ChildTracesToItsOwnWriterAndLeavesTheParentsTreesToIt) {
  if (skip_under_tsan()) GTEST_SKIP() << kTsanReason;
  std::string path = temp_path("spans.jsonl");
  std::remove(path.c_str());
  auto sink = pivot::json_lines_sink(path);
  ASSERT_TRUE(sink) << sink.error().message();
  pivot::set_trace_sink(*sink);
  { pivot::Trace<app::Job> warm(app::Job{"warm"}, "warm"); }
  pivot::flush_traces();  // the writer runs
  // Queued, most of them still in the ring when the child is made.
  for (int i = 0; i < 200; ++i) pivot::Trace<app::Job> t(app::Job{"p" + std::to_string(i)}, "before");
  int code = in_child([] {
    for (int i = 0; i < 50; ++i) pivot::Trace<app::Job> t(app::Job{"c" + std::to_string(i)}, "child");
    pivot::flush_traces();  // waited for the parent's writer forever before
    pivot::TraceStats s = pivot::trace_stats();
    return s.trees_dropped == 0 ? 0 : 2;
  });
  ASSERT_EQ(code, 0);
  pivot::flush_traces();
  int64_t parent = getpid();
  EXPECT_EQ(count_tag(path, "before", parent), 200);
  EXPECT_EQ(count_tag(path, "warm", parent), 1);
  // Written once, by the child, with the child's procId; none of the
  // parent's trees written again by the child.
  std::ifstream in(path);
  std::string line;
  int child_lines = 0;
  int64_t child_pid = 0;
  while (std::getline(in, line)) {
    Json j = Json::parse(line);
    if (j["kpid"] == parent) continue;
    EXPECT_EQ(j["tag"], "child") << line;
    if (child_pid == 0) child_pid = j["kpid"];
    EXPECT_EQ(j["kpid"], child_pid) << line;
    ++child_lines;
  }
  EXPECT_EQ(child_lines, 50);
  EXPECT_NE(child_pid, parent);
  pivot::set_trace_sink(pivot::discard_sink());
  std::remove(path.c_str());
}

TEST(Fork, ChildSetsASinkWhileAParentThreadWasInsideItsCallback) {
  if (skip_under_tsan()) GTEST_SKIP() << kTsanReason;
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  pivot::set_trace_sink([&](const pivot::ProbeCtx&, const std::vector<pivot::Span>&) {
    entered.store(true);
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  std::thread t([] { pivot::Trace<app::Job> s(app::Job{"cb"}, "in-callback"); });
  while (!entered.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  int code = in_child([] {
    // Waits for SinkCb calls under the old sink to return: the one under
    // way in the parent never will here.
    pivot::set_trace_sink(pivot::discard_sink());
    { pivot::Trace<app::Job> s(app::Job{"after"}, "after"); }
    pivot::flush_traces();
    return 0;
  });
  release.store(true);
  t.join();
  EXPECT_EQ(code, 0);
  pivot::set_trace_sink(pivot::discard_sink());
}

TEST(Fork, ChildLeavesTheParentsAgentAloneAndMayStartItsOwn) {
  if (skip_under_tsan()) GTEST_SKIP() << kTsanReason;
  if (skip_under_asan()) GTEST_SKIP() << kAsanReason;
  std::string dir = "/tmp/pivot-fork-test-" + std::to_string(getpid());
  pivot::AgentOptions options{.transport = "local", .runtime_dir = dir};
  ASSERT_TRUE(pivot::Agent::start(options).ok());
  std::string parent_socket = pivot::transport::socket_path(dir, getpid());
  struct stat before {};
  ASSERT_EQ(lstat(parent_socket.c_str(), &before), 0);
  int code = in_child([&] {
    if (pivot::Agent::running()) return 2;  // the parent's agent is not the child's
    if (pivot::internal::process_info().proc_id != getpid()) return 3;
    if (!pivot::Agent::start(options).ok()) return 4;
    struct stat st {};
    if (lstat(pivot::transport::socket_path(dir, getpid()).c_str(), &st) != 0) return 5;
    std::exit(0);  // stops the child's agent at exit, as a program's return from main would
  });
  ASSERT_EQ(code, 0);
  // The parent's socket is the same file, and its agent still answers.
  struct stat after {};
  ASSERT_EQ(lstat(parent_socket.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  auto fd = pivot::transport::connect_unix(parent_socket);
  ASSERT_TRUE(fd) << fd.error().message();
  ASSERT_TRUE(pivot::transport::write_frame(*fd, R"({"v":1,"type":"hello"})").ok());
  pivot::transport::FrameReader reader;
  auto reply = pivot::transport::read_frame(*fd, reader, 5000);
  ASSERT_TRUE(reply) << reply.error().message();
  Json info = Json::parse(*reply);
  EXPECT_EQ(info["type"], "info");
  EXPECT_EQ(info["pid"], getpid());
  close(*fd);
  // The child's own agent removed its socket when it stopped: the parent's
  // is the only one left.
  int sockets = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    sockets += entry.path().extension() == ".sock";
  EXPECT_EQ(sockets, 1);
  pivot::Agent::stop();
  std::string rm = "rm -rf '" + dir + "'";
  (void)!system(rm.c_str());
}

// The random ids of baggage entries and W3C spans come from a per-thread
// sequence: a child, and its siblings, must not go on with the parent's, or
// distinct tuples packed in two children would share their identity and be
// counted once when their baggage joins.
TEST(Fork, ChildrenDrawOtherRandomIdsThanTheParentAndEachOther) {
  (void)pivot::internal::next_random64();  // the parent's sequence is under way
  auto child_ids = [] {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    int code = in_child([&] {
      uint64_t ids[2] = {pivot::internal::next_entry_id(), pivot::internal::next_random64()};
      return write(fds[1], ids, sizeof ids) == static_cast<ssize_t>(sizeof ids) ? 0 : 2;
    });
    EXPECT_EQ(code, 0);
    std::pair<uint64_t, uint64_t> got{0, 0};
    uint64_t ids[2] = {};
    if (read(fds[0], ids, sizeof ids) == static_cast<ssize_t>(sizeof ids)) got = {ids[0], ids[1]};
    close(fds[0]);
    close(fds[1]);
    return got;
  };
  auto first = child_ids();
  auto second = child_ids();
  std::pair<uint64_t, uint64_t> parent{pivot::internal::next_entry_id(), pivot::internal::next_random64()};
  ASSERT_NE(first.first, 0u);
  ASSERT_NE(second.first, 0u);
  EXPECT_NE(first.first, second.first);
  EXPECT_NE(first.second, second.second);
  EXPECT_NE(first.first, parent.first);
  EXPECT_NE(first.second, parent.second);
}

// fork() branches the calling thread's execution: a SUM packed before it
// is counted once, and what each process adds after it once each, when the
// child's baggage comes back and joins the parent's.
TEST(Fork, ParentAndChildBaggageJoinLikeBranches) {
  using pivot::internal::testing::aggregate_spec;
  using pivot::internal::testing::pack;
  using pivot::internal::testing::unpacked;
  pivot::internal::BagSpec s = aggregate_spec(1, 1, {pivot::internal::Combine::kSum});
  (void)pivot::baggage::take();
  pack(s, {"k", 1});
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  int code = in_child([&] {
    pack(s, {"k", 100});
    std::string bytes = pivot::baggage::encode_binary();
    return write(fds[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) ? 0 : 2;
  });
  ASSERT_EQ(code, 0);
  pack(s, {"k", 10});
  char buf[4096];
  ssize_t n = read(fds[0], buf, sizeof buf);
  close(fds[0]);
  close(fds[1]);
  ASSERT_GT(n, 0);
  auto child = pivot::baggage::decode_binary(std::string_view(buf, static_cast<size_t>(n)));
  ASSERT_TRUE(child) << child.error().message();
  pivot::baggage::join(std::move(*child));
  EXPECT_EQ(unpacked(s), R"(["k",111])");
  (void)pivot::baggage::take();
}

// A thread of the parent's inside advice (a read section) at the fork never
// leaves it in the child: the child's collections must not wait for it.
TEST(Fork, ChildSynchronizesPastAParentThreadThatWasRunningAdvice) {
  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};
  std::thread advice([&] {
    pivot::internal::ReadSection section(pivot::internal::current_thread_state());
    inside.store(true);
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  while (!inside.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  int code = in_child([] {
    pivot::internal::synchronize();  // waited forever before
    return 0;
  });
  release.store(true);
  advice.join();
  EXPECT_EQ(code, 0);
}

// A lock of pivot's that another thread holds when the process forks is
// held across, not copied held: the child's new threads register with the
// tracer, and exit, without waiting for a thread it does not have.
TEST(Fork, ChildMakesThreadsWhileAParentThreadHeldTheListOfThreads) {
  if (skip_under_tsan()) GTEST_SKIP() << kTsanReason;
  std::atomic<bool> holding{false};
  (void)pivot::internal::current_thread_state();  // so that the list is not empty
  std::thread holder([&] {
    pivot::internal::for_each_thread([&](pivot::internal::ThreadState&) {
      if (holding.exchange(true)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // fork() waits for this
    });
  });
  while (!holding.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  int code = in_child([] {
    std::thread t([] { (void)pivot::internal::current_thread_state(); });
    t.join();
    return 0;
  });
  holder.join();
  EXPECT_EQ(code, 0);
}

// On NATS the parent's connection is a socket the child shares: a child
// that stopped the parent's agent would write its goodbye into the parent's
// stream. The child's own agent connects anew.
TEST(Fork, ChildLeavesTheParentsNatsAgentAloneAndMayStartItsOwn) {
  if (skip_under_tsan()) GTEST_SKIP() << kTsanReason;
  if (skip_under_asan()) GTEST_SKIP() << kAsanReason;
  pivot::testing::NatsServer nats({"--user", "pivot", "--pass", "s3cret"});
  ASSERT_TRUE(nats.start()) << nats.error();
  std::string url = nats.url("pivot:s3cret");
  setenv("PIVOT_FLEET", "forked", 1);
  pivot::AgentOptions options{.proc_name = "parent", .transport = url};
  ASSERT_TRUE(pivot::Agent::start(options).ok());
  auto agents = [&] {
    pivot::testing::Subprocess ps({std::string(PIVOT_BINARY_DIR) + "/tools/pivot", "--transport", url, "ps"},
                                  {"PIVOT_FLEET=forked"});
    std::vector<std::string> lines = ps.rest();
    EXPECT_EQ(ps.wait(), 0);
    return lines;
  };
  auto listed = [](const std::vector<std::string>& lines, const std::string& proc) {
    int n = 0;
    for (const std::string& line : lines) n += line.find(proc) != std::string::npos;
    return n;
  };
  ASSERT_EQ(listed(agents(), "parent"), 1);
  int code = in_child([&] {
    if (pivot::Agent::running()) return 2;
    pivot::AgentOptions mine = options;
    mine.proc_name = "child";
    if (!pivot::Agent::start(mine).ok()) return 3;
    std::exit(0);  // stops the child's agent (its "bye"), not the parent's
  });
  ASSERT_EQ(code, 0);
  // The parent's agent is still there and still answers on its connection.
  std::vector<std::string> after = agents();
  EXPECT_EQ(listed(after, "parent"), 1);
  EXPECT_EQ(listed(after, "child"), 0);
  pivot::Agent::stop();
  unsetenv("PIVOT_FLEET");
}

}  // namespace
