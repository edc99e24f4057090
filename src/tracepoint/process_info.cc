#include "tracepoint/process_info.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

namespace pivot::internal {
namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::atomic<ProcessInfo*> g_info{nullptr};  // once mutable_info() has made it

ProcessInfo& mutable_info() {
  static ProcessInfo* info = [] {
    auto* p = new ProcessInfo;  // never destroyed: spans may end during exit
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    p->host = env_or("PIVOT_HOST", host);
    p->proc_name = env_or("PIVOT_PROCNAME", program_invocation_short_name);
    p->proc_id = getpid();
    g_info.store(p, std::memory_order_release);
    return p;
  }();
  return *info;
}

// A child made by fork() is another process: its spans and rows carry its
// own procId.
void after_fork_child() noexcept {
  if (ProcessInfo* p = g_info.load(std::memory_order_acquire)) p->proc_id = getpid();
}
[[maybe_unused]] const int g_fork_handlers = pthread_atfork(nullptr, nullptr, after_fork_child);

}  // namespace

const ProcessInfo& process_info() { return mutable_info(); }

void set_process_names(std::string host, std::string proc_name) {
  ProcessInfo& p = mutable_info();
  if (!host.empty()) p.host = std::move(host);
  if (!proc_name.empty()) p.proc_name = std::move(proc_name);
}

}  // namespace pivot::internal
