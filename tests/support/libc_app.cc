// A multi-threaded program that knows nothing of pivot, for the tests that
// hook C library functions in it (tests/libc_hooks_test.cc). Two worker
// threads, started once, wait for commands; stdin, one per line:
//   run FN N   each worker calls FN N times with an argument no other code
//              uses (so a query can count exactly those calls) and checks
//              what it got; answers "ok" or "bad: <what>". FN "thread":
//              each call starts a thread that calls realloc once, and joins it
//   exit       exits
// It first prints "ready <address of the mutex `run pthread_mutex_lock` locks>".
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kMallocSize = 100003;  // malloc(kMallocSize): nothing else asks for it
constexpr size_t kNewSize = 100019;
constexpr size_t kThreadReallocSize = 100043;  // realloc(null, kThreadReallocSize), in a thread of its own
volatile size_t g_copy_size = 77777;           // volatile: a real memcpy call, not inlined moves
constexpr size_t kReadSize = 4099;
constexpr size_t kWriteSize = 4111;
constexpr clockid_t kClock = CLOCK_BOOTTIME;

pthread_mutex_t g_counted = PTHREAD_MUTEX_INITIALIZER;
int64_t g_counted_total = 0;

// One call of `fn`; "" when it did what it should.
std::string call_once(const std::string& fn, int i, std::vector<char>& a, std::vector<char>& b, int zero,
                      int null, void* page) {
  if (fn == "malloc") {
    auto* p = static_cast<char*>(std::malloc(kMallocSize));
    if (p == nullptr) return "malloc returned null";
    // The pointer escapes: clang drops a malloc/free pair whose memory
    // nothing else sees.
    asm volatile("" : : "r"(p) : "memory");
    p[kMallocSize - 1] = static_cast<char>(i);
    bool ok = p[kMallocSize - 1] == static_cast<char>(i);
    std::free(p);
    return ok ? "" : "malloc'd memory";
  }
  if (fn == "free") {
    static void* volatile null = nullptr;  // volatile: compilers drop a literal free(nullptr)
    std::free(null);
    return "";
  }
  if (fn == "thread") {
    // A thread that starts, reallocates once and ends: a hook on the
    // allocator also runs while the thread is being set up and torn down
    // (under ThreadSanitizer the runtime calls realloc and free then).
    static void* volatile none = nullptr;  // volatile: compilers make realloc(nullptr, n) a malloc
    std::string bad;
    std::thread t([&] {
      void* p = std::realloc(none, kThreadReallocSize);
      asm volatile("" : : "r"(p) : "memory");
      if (p == nullptr) bad = "realloc returned null";
      std::free(p);
    });
    t.join();
    return bad;
  }
  if (fn == "new") {
    auto* p = static_cast<char*>(::operator new(kNewSize));
    p[0] = 1;
    ::operator delete(p);
    return "";
  }
  if (fn == "memcpy") {
    a[static_cast<size_t>(i) % g_copy_size] = static_cast<char>(i);
    // Through a pointer: clang's AddressSanitizer turns a direct call into
    // one of its own __asan_memcpy, which never reaches memcpy.
    void* (*volatile copy)(void*, const void*, size_t) = std::memcpy;
    copy(b.data(), a.data(), g_copy_size);
    return std::memcmp(a.data(), b.data(), g_copy_size) == 0 ? "" : "memcpy copied wrong bytes";
  }
  if (fn == "mprotect") {
    if (mprotect(page, 4096, PROT_READ) != 0 || mprotect(page, 4096, PROT_READ | PROT_WRITE) != 0)
      return "mprotect failed";
    static_cast<char*>(page)[0] = 1;
    return "";
  }
  if (fn == "opendir") {
    DIR* d = opendir("/");
    if (d == nullptr) return "opendir failed";
    closedir(d);
    return "";
  }
  if (fn == "read") {
    ssize_t n = read(zero, a.data(), kReadSize);
    return n == static_cast<ssize_t>(kReadSize) && a[0] == 0 ? "" : "read returned " + std::to_string(n);
  }
  if (fn == "write") {
    ssize_t n = write(null, a.data(), kWriteSize);
    return n == static_cast<ssize_t>(kWriteSize) ? "" : "write returned " + std::to_string(n);
  }
  if (fn == "pthread_mutex_lock") {
    pthread_mutex_lock(&g_counted);
    ++g_counted_total;
    pthread_mutex_unlock(&g_counted);
    return "";
  }
  if (fn == "clock_gettime") {
    timespec ts{};
    return clock_gettime(kClock, &ts) == 0 && ts.tv_sec > 0 ? "" : "clock_gettime failed";
  }
  return "unknown function " + fn;
}

struct Work {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t generation = 0;
  std::string fn;
  int n = 0;
  int done = 0;
  std::string bad;
  bool stop = false;
};

void worker(Work& w) {
  std::vector<char> a(100000, 7), b(100000, 0);
  int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint64_t seen = 0;
  for (;;) {
    std::string fn;
    int n;
    {
      std::unique_lock<std::mutex> lock(w.mu);
      w.cv.wait(lock, [&] { return w.stop || w.generation != seen; });
      if (w.stop) return;
      seen = w.generation;
      fn = w.fn;
      n = w.n;
    }
    std::string bad;
    for (int i = 0; i < n && bad.empty(); ++i) bad = call_once(fn, i, a, b, zero, null, page);
    std::lock_guard<std::mutex> lock(w.mu);
    if (!bad.empty()) w.bad = bad;
    ++w.done;
    w.cv.notify_all();
  }
}

}  // namespace

int main() {
  constexpr int kWorkers = 2;
  Work w;
  std::vector<std::thread> threads;
  for (int i = 0; i < kWorkers; ++i) threads.emplace_back([&] { worker(w); });
  std::cout << "ready " << reinterpret_cast<uintptr_t>(&g_counted) << std::endl;
  std::string cmd;
  while (std::cin >> cmd) {
    if (cmd == "exit") break;
    if (cmd != "run") continue;
    std::string fn;
    int n = 0;
    std::cin >> fn >> n;
    std::unique_lock<std::mutex> lock(w.mu);
    w.fn = fn;
    w.n = n;
    w.done = 0;
    w.bad.clear();
    ++w.generation;
    w.cv.notify_all();
    w.cv.wait(lock, [&] { return w.done == kWorkers; });
    if (fn == "pthread_mutex_lock" && g_counted_total % n != 0) w.bad = "lost a lock";
    std::cout << (w.bad.empty() ? "ok" : "bad: " + w.bad) << std::endl;
  }
  {
    std::lock_guard<std::mutex> lock(w.mu);
    w.stop = true;
  }
  w.cv.notify_all();
  for (auto& t : threads) t.join();
  return 0;
}
