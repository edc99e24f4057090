// What a process costs, read from /proc, for tests that bound a host's
// memory and CPU: its resident size (VmRSS), its CPU time, and the peak
// resident size of several processes while something runs.
//
//   RssWatch watch({a.pid(), b.pid()});   // "before": each one's size now
//   ... the fault ...                     // a thread samples every 5 ms
//   watch.stop();
//   watch.grew_kib(0)                     // peak - before, process 0
//   watch.now_kib(0) - watch.before_kib(0)// "after", read when asked
//
// Header-only; Linux.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace pivot::testing {

// A field of /proc/PID/status in KiB ("VmRSS", "RssAnon"); -1 when the
// process is gone.
inline int64_t status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == field + ":") {
      int64_t kib = -1;
      in >> kib;
      return kib;
    }
    in.ignore(1 << 12, '\n');
  }
  return -1;
}

// Resident memory of a process (VmRSS), in KiB; -1 when it is gone.
inline int64_t rss_kib(pid_t pid) { return status_kib(pid, "VmRSS"); }

// CPU time of a process (user + system), in clock ticks.
inline int64_t cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  if (line.rfind(')') == std::string::npos) return -1;
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int i = 3; rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) {
      stime = std::stoll(field);
      break;
    }
  }
  return utime + stime;
}

// The resident size of some processes before, at their peak during, and
// after something happens. The peak is sampled by a thread of this
// process every 5 ms from construction to stop(); a process that dies
// keeps the peak it had.
class RssWatch {
 public:
  explicit RssWatch(std::vector<pid_t> pids) : pids_(std::move(pids)), peak_(pids_.size()) {
    for (pid_t p : pids_) before_.push_back(rss_kib(p));
    for (size_t i = 0; i < pids_.size(); ++i) peak_[i].store(before_[i]);
    sampler_ = std::thread([this] {
      while (!stop_.load()) {
        sample();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }
  ~RssWatch() { stop(); }
  RssWatch(const RssWatch&) = delete;
  RssWatch& operator=(const RssWatch&) = delete;

  // Ends "during" (with one last sample).
  void stop() {
    if (!sampler_.joinable()) return;
    stop_.store(true);
    sampler_.join();
    sample();
  }
  size_t size() const { return pids_.size(); }
  pid_t pid(size_t i) const { return pids_[i]; }
  int64_t before_kib(size_t i) const { return before_[i]; }
  int64_t peak_kib(size_t i) const { return peak_[i].load(); }
  // How much more the process held at its peak than before.
  int64_t grew_kib(size_t i) const { return peak_kib(i) - before_kib(i); }
  // Its size now (-1 when it is gone).
  int64_t now_kib(size_t i) const { return rss_kib(pids_[i]); }

 private:
  void sample() {
    for (size_t i = 0; i < pids_.size(); ++i) {
      int64_t now = rss_kib(pids_[i]);
      int64_t seen = peak_[i].load();
      while (now > seen && !peak_[i].compare_exchange_weak(seen, now)) {
      }
    }
  }

  std::vector<pid_t> pids_;
  std::vector<int64_t> before_;
  std::vector<std::atomic<int64_t>> peak_;
  std::atomic<bool> stop_{false};
  std::thread sampler_;
};

}  // namespace pivot::testing
