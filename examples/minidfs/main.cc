// minidfs: a small HDFS-like system to try pivot on. One executable, one
// subcommand per role:
//
//   minidfs cluster  [...]   start a whole cluster (the usual entry point)
//   minidfs namenode [...]   one namenode       (the launcher runs these)
//   minidfs datanode [...]   one datanode
//   minidfs client   [...]   one client workload
//   minidfs truth --dir D --query Q2   the answer a paper query must give
//
// `minidfs <subcommand> --help` lists the flags.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "CLI/CLI.hpp"
#include "launcher.h"
#include "roles.h"
#include "truth.h"

namespace {

using minidfs::FsImageOptions;

void add_image_flags(CLI::App* app, FsImageOptions& image) {
  app->add_option("--seed", image.seed, "Seed of the file system image and the workload")
      ->capture_default_str();
  app->add_option("--files", image.files, "Number of files")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app->add_option("--datanodes", image.datanodes, "Number of datanodes")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app->add_option("--replication", image.replication, "Replicas per file (at most --datanodes)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app->add_option("--block-size", image.block_size, "Block size in bytes")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{64} << 20));
  app->add_option("--max-blocks", image.max_blocks, "Most blocks per file")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
}

int truth_main(const std::string& dir, const std::string& query, bool summary, bool show_text,
               bool allow_incomplete) {
  namespace truth = minidfs::truth;
  if (show_text) {
    auto text = truth::query_text(query);
    if (!text) return std::fprintf(stderr, "minidfs truth: %s\n", text.error().message().c_str()), 2;
    std::printf("%s\n", text->c_str());
    return 0;
  }
  auto records = truth::load_dir(dir, allow_incomplete);
  if (!records) return std::fprintf(stderr, "minidfs truth: %s\n", records.error().message().c_str()), 1;
  if (summary) {
    std::printf("%s\n", truth::summary(*records).dump().c_str());
    return 0;
  }
  if (query == "all") {
    nlohmann::json all = nlohmann::json::object();
    for (const auto& id : truth::query_ids()) {
      all[id] = nlohmann::json::parse(truth::expected(*records, id)->to_json());
    }
    std::printf("%s\n", all.dump().c_str());
    return 0;
  }
  auto table = truth::expected(*records, query);
  if (!table) return std::fprintf(stderr, "minidfs truth: %s\n", table.error().message().c_str()), 2;
  std::printf("%s\n", table->to_json().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"minidfs: a small HDFS-like system traced with pivot"};
  app.require_subcommand(1);

  // cluster
  minidfs::ClusterOptions cluster;
  auto* c =
      app.add_subcommand("cluster", "Start a namenode, datanodes and clients; stop them on SIGINT/SIGTERM");
  add_image_flags(c, cluster.image);
  c->add_option("--clients", cluster.clients, "Number of clients")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  c->add_option("--proc-names", cluster.proc_names, "Client applications (procName), cycled over clients")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--ops", cluster.ops, "Ops per client (0: no limit)")->check(CLI::NonNegativeNumber);
  c->add_option("--duration", cluster.duration_s, "Seconds the clients run (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  auto* rate =
      c->add_option("--rate", cluster.rate,
                    "Ops per second per client (default: as fast as possible with --ops or --duration, "
                    "20 when running until stopped)")
          ->check(CLI::NonNegativeNumber);
  c->add_option("--start-delay-ms", cluster.start_delay_ms, "Clients wait this long before their first op")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--go-file", cluster.go_file, "Clients start their workload once this file exists");
  c->add_flag("--fixed-replica-order", cluster.fixed_replica_order,
              "Namenode returns replicas in datanode order and clients read the first (HDFS-6268)");
  c->add_flag("--stay", cluster.stay, "Keep every process up after the clients finish, until SIGINT/SIGTERM");
  c->add_option("--datanode-threads", cluster.datanode_threads, "Thread pool size of each datanode")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  c->add_option("--truth-dir", cluster.truth_dir, "Clients write their ground truth here (client<i>.json)");
  c->add_option("--runtime-dir", cluster.runtime_dir,
                "PIVOT_RUNTIME_DIR for every process (agents' sockets)");
  c->add_option("--run-dir", cluster.run_dir, "Logs, ports and stats of the processes (default: a temp dir)");
  c->add_flag("--keep-run-dir", cluster.keep_run_dir, "Keep the temporary run dir");
  c->add_option("--ready-file", cluster.ready_file, "Written (JSON: hosts, addresses, pids) when all are up");
  c->add_option("--done-file", cluster.done_file, "Written when every client has finished its workload");
  c->add_option("--startup-timeout-ms", cluster.startup_timeout_ms)->capture_default_str();

  // namenode
  minidfs::NameNodeOptions nn;
  std::string nn_host(minidfs::kNameNodeHost);
  minidfs::ServerFiles nn_files;
  auto* n = app.add_subcommand("namenode", "Run a namenode");
  add_image_flags(n, nn.image);
  n->add_option("--port", nn.port, "Port on 127.0.0.1 (0: any free port)");
  n->add_option("--host", nn_host, "Host name (the pivot host export)")->capture_default_str();
  n->add_flag("--fixed-replica-order", nn.fixed_replica_order, "Return replicas in datanode order");
  n->add_option("--port-file", nn_files.port_file, "Write the port here once listening");
  n->add_option("--stats-file", nn_files.stats_file, "Write what was served here (JSON) at exit");

  // datanode
  minidfs::DataNodeOptions dn;
  minidfs::ServerFiles dn_files;
  auto* d = app.add_subcommand("datanode", "Run a datanode");
  add_image_flags(d, dn.image);
  d->add_option("--index", dn.index, "Its number: datanode i is host dn<i>")
      ->required()
      ->check(CLI::Range(1, 64));
  d->add_option("--namenode", dn.namenode, "Namenode address ip:port to register with")->required();
  d->add_option("--port", dn.port, "Port on 127.0.0.1 (0: any free port)");
  d->add_option("--threads", dn.threads, "Thread pool size")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  d->add_option("--port-file", dn_files.port_file, "Write the port here once registered");
  d->add_option("--stats-file", dn_files.stats_file, "Write what was served here (JSON) at exit");

  // client
  minidfs::ClientOptions cl;
  minidfs::ClientRun run;
  bool host_given = false;
  auto* k = app.add_subcommand("client", "Run a client workload");
  add_image_flags(k, cl.image);
  k->add_option("--index", cl.index, "Its number (seeds its workload)")->capture_default_str();
  auto* host_opt = k->add_option("--host", cl.host, "Host name (default: $PIVOT_HOST, else client<index>)");
  k->add_option("--proc-name", cl.proc_name, "Application name (procName)")->capture_default_str();
  k->add_option("--namenode", cl.namenode, "Namenode address ip:port")->required();
  k->add_flag("--fixed-replica-order", cl.fixed_replica_order, "Read the first replica (HDFS-6268)");
  k->add_option("--ops", run.ops, "Ops to run (0: no limit)")->check(CLI::NonNegativeNumber);
  k->add_option("--duration", run.duration_s, "Seconds to run (0: no limit)")->check(CLI::NonNegativeNumber);
  k->add_option("--rate", run.rate, "Ops per second (0: as fast as possible)")->check(CLI::NonNegativeNumber);
  k->add_option("--start-delay-ms", run.start_delay_ms)->check(CLI::NonNegativeNumber);
  k->add_option("--go-file", run.go_file, "Start once this file exists");
  k->add_option("--truth-file", run.truth_file, "Write the ground truth here at exit");
  k->add_option("--ready-file", run.ready_file);
  k->add_option("--done-file", run.done_file);
  k->add_option("--stats-file", run.stats_file, "Write ops, bytes and each op's latency here (JSON) at exit");
  k->add_flag("--stay", run.stay, "After the workload, stay up until SIGINT/SIGTERM");

  // truth
  std::string truth_dir, truth_query = "all";
  bool truth_summary = false, truth_text = false, truth_incomplete = false;
  auto* t =
      app.add_subcommand("truth", "Print the expected answer of a paper query over a run's truth files");
  t->add_option("--dir", truth_dir, "Directory of client truth files");
  t->add_option("--query", truth_query, "Q1..Q8, RR or all")->capture_default_str();
  t->add_flag("--summary", truth_summary, "Print totals per client, datanode and file instead");
  t->add_flag("--text", truth_text, "Print the query's text instead");
  t->add_flag("--allow-incomplete", truth_incomplete, "Accept records of clients whose last op failed");

  // Spans, for every role.
  minidfs::SpanOptions spans;
  for (auto* role : {n, d, k}) {
    role->add_option("--span-freq", spans.freq, "Sample the spans of one request id in N (0: none)")
        ->check(CLI::NonNegativeNumber);
    role->add_option("--span-file", spans.file, "Write sampled spans here (JSON lines; default: syslog)");
  }
  c->add_option("--span-freq", cluster.span_freq, "Sample the spans of one op in N (0: none)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--span-dir", cluster.span_dir,
                "Each process writes its sampled spans to <host>.spans.jsonl here");

  CLI11_PARSE(app, argc, argv);

  if (c->parsed()) {
    if (rate->count() == 0 && cluster.ops == 0 && cluster.duration_s == 0) cluster.rate = 20;
    return minidfs::run_cluster(cluster);
  }
  if (n->parsed()) return minidfs::namenode_main(nn, nn_host, nn_files, spans);
  if (d->parsed()) return minidfs::datanode_main(dn, dn_files, spans);
  if (k->parsed()) {
    host_given = host_opt->count() > 0;
    if (!host_given) {
      const char* env = std::getenv("PIVOT_HOST");
      cl.host = env != nullptr && *env != '\0' ? env : "client" + std::to_string(cl.index);
    }
    return minidfs::client_main(cl, run, spans);
  }
  if (t->parsed()) {
    if (truth_dir.empty() && !truth_text) {
      std::fprintf(stderr, "minidfs truth: --dir is required\n");
      return 2;
    }
    return truth_main(truth_dir, truth_query, truth_summary, truth_text, truth_incomplete);
  }
  return 2;
}
