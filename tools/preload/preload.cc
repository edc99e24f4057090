// libpivot_preload.so: makes a program that never linked pivot queryable.
//
//   LD_PRELOAD=/usr/lib/libpivot_preload.so PIVOT_PROCNAME=server ./server
//   pivot query 'Tracepoint req = Entry("Server::handle") Exports fd = arg1
//                From r In req GroupBy r.fd Select r.fd, COUNT'
//
// Loading the library starts an agent (pivot::Agent::start(), configured by
// the PIVOT_* environment as usual); queries then define their tracepoints on
// the program's functions (docs/hooks.md). PIVOT_PRELOAD=0 loads it inert.
// pivot's own symbols are hidden (-Wl,--exclude-libs,ALL), so they never
// clash with the program's.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "pivot/agent.h"

namespace {

[[gnu::constructor]] void start_agent() {
  const char* enabled = std::getenv("PIVOT_PRELOAD");
  if (enabled != nullptr && std::strcmp(enabled, "0") == 0) return;
  if (pivot::Status s = pivot::Agent::start(); !s) {
    std::fprintf(stderr, "pivot: the preloaded agent did not start: %s\n", s.error().message().c_str());
  }
}

[[gnu::destructor]] void stop_agent() { pivot::Agent::stop(); }

}  // namespace
