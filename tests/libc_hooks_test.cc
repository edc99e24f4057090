// Hooks on the C library's own functions, the ones pivot itself uses, in a
// multi-threaded program that never linked pivot (libpivot_preload.so),
// through the CLI: each query counts the program's calls exactly or is
// refused with the reason, never hangs; the program's results stay right,
// uninstalling works, and SIGTERM still ends the program.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/sanitizers.h"
#include "support/subprocess.h"

namespace {

using Json = nlohmann::json;
using pivot::testing::Subprocess;

const std::string kBin = PIVOT_BINARY_DIR;
constexpr int kCalls = 300;  // per worker
constexpr int kWorkers = 2;  // libc_app's

struct Case {
  const char* name;          // libc_app's `run` argument (malloc_return: malloc)
  const char* tracepoint;    // the definition
  const char* where;         // the filter that picks libc_app's calls ("" for every call)
  const char* refused = "";  // when not "": the query is refused with a message containing it
};

// The C library's memcpy is an IFUNC whose implementation is memmove's, and
// its mempcpy jumps to the implementation's second instruction: refused.
// Under a sanitizer the program's memcpy calls reach the runtime's
// interceptor instead (the name is interposed, and hooked where the dynamic
// linker binds it: docs/hooks.md), an ordinary function: counted exactly.
#if PIVOT_TSAN || PIVOT_ASAN
constexpr const char* kMemcpyRefused = "";
#else
constexpr const char* kMemcpyRefused = "bytes that the hook replaces";
#endif

// {MUTEX} is replaced by the address libc_app prints.
const Case kCases[] = {
    {"malloc", "Entry(\"malloc\") Exports n = arg0", "Where c.n == 100003"},
    {"malloc_return", "Return(\"malloc\") Exports n = arg0, r = ret", "Where c.n == 100003 And c.r != 0"},
    {"free", "Entry(\"free\") Exports p = arg0", "Where c.p == 0"},
    {"new", "Entry(\"operator new(unsigned long)\") Exports n = arg0", "Where c.n == 100019"},
    // Threads start and end while realloc is hooked (under ThreadSanitizer
    // its runtime calls realloc before a new thread is set up).
    {"thread", "Entry(\"realloc\") Exports n = arg1", "Where c.n == 100043"},
    {"memcpy", "Entry(\"memcpy\") Exports n = arg2", "Where c.n == 77777", kMemcpyRefused},
    {"opendir", "Entry(\"opendir\")", ""},
    {"read", "Entry(\"read\") Exports n = arg2", "Where c.n == 4099"},
    {"write", "Return(\"write\") Exports n = arg2", "Where c.n == 4111"},
    {"pthread_mutex_lock", "Entry(\"pthread_mutex_lock\") Exports m = arg0", "Where c.m == {MUTEX}"},
    {"clock_gettime", "Entry(\"clock_gettime\") Exports clk = arg0", "Where c.clk == 7"},
};

class LibcHooks : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/pivot-libc-test-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    app_ = std::make_unique<Subprocess>(
        std::vector<std::string>{kBin + "/tests/libc_app"},
        std::vector<std::string>{"LD_PRELOAD=" + kBin + "/tools/libpivot_preload.so",
                                 "PIVOT_RUNTIME_DIR=" + dir_, "PIVOT_PROCNAME=libc_app",
                                 "PIVOT_INTERVAL_MS=100", "ASAN_OPTIONS=verify_asan_link_order=0",
                                 "PIVOT_HOOK_INT3=allow"});
    auto ready = app_->line(20000);
    ASSERT_TRUE(ready && ready->starts_with("ready ")) << ready.value_or("<none>");
    mutex_ = ready->substr(6);
  }
  void TearDown() override {
    app_.reset();
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!system(cmd.c_str());
  }

  std::string run(const std::string& fn) {
    app_->write("run " + fn + " " + std::to_string(kCalls) + "\n");
    return app_->line(60000).value_or("<no answer>");
  }

  std::string query_text(const Case& c) {
    std::string where = c.where;
    if (auto at = where.find("{MUTEX}"); at != std::string::npos) where.replace(at, 7, mutex_);
    return std::string("Tracepoint t = ") + c.tracepoint + "\nFrom c In t " + where + " Select COUNT";
  }

  std::string dir_, mutex_;
  std::unique_ptr<Subprocess> app_;
};

TEST_F(LibcHooks, EachFunctionCountsExactlyAndTheProgramStaysRight) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    std::string fn = std::string(c.name) == "malloc_return" ? "malloc" : c.name;
    auto t0 = std::chrono::steady_clock::now();
    Subprocess q({kBin + "/tools/pivot", "--runtime-dir", dir_, "query", "--format", "json", "--interval",
                  "100", query_text(c)});
    if (*c.refused) {
      // A query installed where a refusal was expected runs until stopped.
      if (q.wait_err("query installed", 30000)) {
        ADD_FAILURE() << "installed, not refused";
        q.signal(SIGINT);
        q.rest(30000);
      }
      std::string all;
      for (auto& l : q.rest_err(30000)) all += l + "\n";
      EXPECT_NE(q.wait(), 0);
      EXPECT_NE(all.find(std::string("cannot hook ") + c.name), std::string::npos) << all;
      EXPECT_NE(all.find(c.refused), std::string::npos) << all;
      EXPECT_EQ(run(fn), "ok");
      continue;
    }
    ASSERT_TRUE(q.wait_err("query installed", 30000))
        << "not installed: " << ::testing::PrintToString(q.rest_err(100));
    EXPECT_EQ(run(fn), "ok");
    q.signal(SIGINT);
    auto lines = q.rest(30000);
    EXPECT_EQ(q.wait(), 0);
    ASSERT_FALSE(lines.empty());
    Json last = Json::parse(lines.back());
    EXPECT_EQ(last["total"]["rows"], Json::parse("[[" + std::to_string(kCalls * kWorkers) + "]]"))
        << last.dump();
    // Uninstalled: the program goes on, unobserved.
    EXPECT_EQ(run(fn), "ok");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
  }
  app_->signal(SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  pid_t done = 0;
  while (done == 0 && std::chrono::steady_clock::now() < deadline) {
    done = waitpid(app_->pid(), &status, WNOHANG);
    if (done == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(done, app_->pid()) << "SIGTERM did not end the program";
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

TEST_F(LibcHooks, FunctionsTheAllocatorCallsUnderItsLockAreRefused) {
  for (const char* fn : {"mprotect", "mmap", "munmap", "madvise", "sbrk"}) {
    SCOPED_TRACE(fn);
    Subprocess q({kBin + "/tools/pivot", "--runtime-dir", dir_, "query", "--duration", "2",
                  std::string("Tracepoint t = Entry(\"") + fn + "\")\nFrom c In t Select COUNT"});
    auto err = q.rest_err(30000);
    EXPECT_NE(q.wait(), 0);
    std::string all;
    for (auto& l : err) all += l + "\n";
    EXPECT_NE(all.find("cannot hook " + std::string(fn) +
                       ": the memory allocator calls it while holding its own lock"),
              std::string::npos)
        << all;
  }
  EXPECT_EQ(run("mprotect"), "ok");
}

}  // namespace
