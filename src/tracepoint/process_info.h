// Facts about this process that every tracepoint exports: host, procName and
// procId. Defaults come from PIVOT_HOST (else the hostname), PIVOT_PROCNAME
// (else the executable's name) and getpid(); an Agent or Session may
// override host and procName before any query runs.
#pragma once

#include <string>

namespace pivot::internal {

struct ProcessInfo {
  std::string host;
  std::string proc_name;
  int64_t proc_id = 0;
};

// The current facts. The reference stays valid; set_process_names() must be
// called before queries are installed (it is not synchronized with advice).
const ProcessInfo& process_info();
void set_process_names(std::string host, std::string proc_name);

}  // namespace pivot::internal
