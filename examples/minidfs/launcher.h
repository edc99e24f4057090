// The minidfs launcher: one command that runs a whole cluster.
//
//   minidfs cluster --datanodes 3 --clients 3 --ops 100 --truth-dir /tmp/t
//
// It starts the namenode, then the datanodes (each registers with the
// namenode), then the clients, each a child process of this one running
// this same executable in its role, on free loopback ports. Children get
// PIVOT_HOST, PIVOT_PROCNAME and (with --runtime-dir) PIVOT_RUNTIME_DIR.
// When every process is up (agents started, servers listening, clients
// waiting for their go signal) it prints "ready" and writes --ready-file.
//
// Clients run --ops ops each, or for --duration seconds, or until stopped
// (the live demo: neither given). With --go-file they wait until that file
// exists, so a test can install a query first and count exactly the ops
// that follow. When all clients have finished it prints "done" (and writes
// --done-file); then it stops the cluster, or with --stay keeps every process
// up (agents keep reporting) until SIGINT/SIGTERM.
//
// Stopping is graceful and ordered: clients first (they write their truth
// files), then datanodes, then the namenode, each with SIGTERM, SIGKILL after
// a grace period. Children are in their own process group and die with the
// launcher (PR_SET_PDEATHSIG), so nothing is left behind even if the launcher
// is killed. Exit status 0 when every process ran and stopped cleanly.
//
// With --span-dir each process writes its sampled spans (spans.h) to
// <span-dir>/<host>.spans.jsonl.
//
// Files in --run-dir (a temporary directory by default, removed at exit):
// <name>.log (stdout+stderr of each child), <name>.port, <name>.stats.json,
// client<i>.ready, client<i>.done.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fs_image.h"

namespace minidfs {

struct ClusterOptions {
  FsImageOptions image;
  int clients = 3;
  std::vector<std::string> proc_names = {"MapReduce", "HBase", "FSread"};  // cycled over clients
  int64_t ops = 0;
  double duration_s = 0;
  double rate = 0;
  int64_t start_delay_ms = 0;
  bool fixed_replica_order = false;
  bool stay = false;
  int datanode_threads = 4;
  std::string truth_dir;
  std::string runtime_dir;
  std::string run_dir;
  bool keep_run_dir = false;
  std::string ready_file;
  std::string go_file;
  std::string done_file;
  int startup_timeout_ms = 20'000;
  int64_t span_freq = 0;  // spans.h; with span_dir and no freq: every op
  std::string span_dir;
};

int run_cluster(ClusterOptions options);

}  // namespace minidfs
