// Process plumbing shared by the minidfs roles and the launcher: stop
// signals, files that announce readiness, and child processes that cannot
// outlive their parent.
//
// Every role calls block_stop_signals() before it starts any thread, so
// SIGINT/SIGTERM stay pending until the role asks with wait_stop_signal()
// (threads created later inherit the mask) and a stop is always graceful.
//
//   minidfs::block_stop_signals();
//   pivot::Agent::start(...);                 // its thread inherits the mask
//   while (!minidfs::wait_stop_signal(1000)) {}
//
// Thread safety: wait_stop_signal()/stop_requested() from one thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "pivot/result.h"

namespace minidfs {

// Blocks SIGINT and SIGTERM in the calling thread and ignores SIGPIPE.
void block_stop_signals();
// Waits up to timeout_ms for SIGINT or SIGTERM. Once one arrived it keeps
// answering true.
bool wait_stop_signal(int timeout_ms);
inline bool stop_requested() { return wait_stop_signal(0); }

// Writes contents to path through a temporary file and rename(), so readers
// never see a partial file.
pivot::Status write_file_atomically(const std::string& path, const std::string& contents);
bool file_exists(const std::string& path);
std::string read_text_file(const std::string& path);

// This executable's path (/proc/self/exe).
std::string self_executable();

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the program path
  std::vector<std::string> env;   // "NAME=value" added to the environment
  std::string log_path;           // stdout and stderr; empty: inherit
};

// Forks and execs. The child gets its own process group (terminal signals go
// to the launcher only, which stops children in order) and SIGTERM when the
// parent dies (PR_SET_PDEATHSIG), so a killed launcher leaves no orphans.
// Must be called from the thread that lives as long as the child.
pivot::Result<pid_t> spawn_child(const ChildSpec& spec);

}  // namespace minidfs
