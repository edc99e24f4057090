// The main loops of the minidfs processes: namenode, datanode and client.
// Each first blocks the stop signals, then starts its pivot agent
// (pivot::Agent::start with its procName and host), then serves or runs its
// workload until SIGTERM/SIGINT or the end of the workload, and exits 0 on
// a graceful stop.
//
// Files a role writes for whoever started it (the launcher or a test):
//   port_file   the port it listens on, once it accepts requests (servers)
//   stats_file  what it served, JSON, at exit (servers); also one line on stdout;
//               for clients, ops, bytes, seconds and every op's latency in ns
//   ready_file  created when a client is ready to start its workload
//   done_file   created when a client has finished and written its truth
#pragma once

#include <cstdint>
#include <string>

#include "client.h"
#include "datanode.h"
#include "namenode.h"

namespace minidfs {

struct ServerFiles {
  std::string port_file;
  std::string stats_file;
};

// Span sampling of a process (spans.h): 0 samples nothing; file: JSON lines.
struct SpanOptions {
  int64_t freq = 0;
  std::string file;
};

int namenode_main(const NameNodeOptions& options, const std::string& host, const ServerFiles& files,
                  const SpanOptions& spans);
int datanode_main(const DataNodeOptions& options, const ServerFiles& files, const SpanOptions& spans);

struct ClientRun {
  int64_t ops = 0;        // 0: no limit
  double duration_s = 0;  // 0: no limit
  double rate = 0;        // ops per second; 0: as fast as possible
  int64_t start_delay_ms = 0;
  std::string go_file;  // start the workload once this file exists
  std::string truth_file;
  std::string ready_file;
  std::string done_file;
  std::string stats_file;  // ops, bytes, seconds and each op's latency (JSON) at exit
  bool stay = false;       // after the workload, stay up until stopped
};

int client_main(const ClientOptions& options, const ClientRun& run, const SpanOptions& spans);

// Starts this process's pivot agent; a failure is reported on stderr and the
// role runs on without it.
void start_agent(const std::string& proc_name, const std::string& host);
// Applies SpanOptions; a failure is reported on stderr.
void start_spans(const SpanOptions& spans);

}  // namespace minidfs
