#include "tracepoint/process_info.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace pivot::internal {
namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

ProcessInfo& mutable_info() {
  static ProcessInfo info = [] {
    ProcessInfo p;
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    p.host = env_or("PIVOT_HOST", host);
    p.proc_name = env_or("PIVOT_PROCNAME", program_invocation_short_name);
    p.proc_id = getpid();
    return p;
  }();
  return info;
}

}  // namespace

const ProcessInfo& process_info() { return mutable_info(); }

void set_process_names(std::string host, std::string proc_name) {
  ProcessInfo& p = mutable_info();
  if (!host.empty()) p.host = std::move(host);
  if (!proc_name.empty()) p.proc_name = std::move(proc_name);
}

}  // namespace pivot::internal
