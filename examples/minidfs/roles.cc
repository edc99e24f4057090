#include "roles.h"

#include <chrono>
#include <cstdio>
#include <vector>

#include "nlohmann/json.hpp"
#include "pivot/agent.h"
#include "process.h"
#include "spans.h"

namespace minidfs {
namespace {

using Clock = std::chrono::steady_clock;

void write_or_warn(const std::string& path, const std::string& contents) {
  if (path.empty()) return;
  if (auto s = write_file_atomically(path, contents); !s) {
    std::fprintf(stderr, "minidfs: %s\n", s.error().message().c_str());
  }
}

void wait_until_stopped() {
  while (!wait_stop_signal(1000)) {
  }
}

}  // namespace

void start_spans(const SpanOptions& spans) {
  if (auto s = configure_spans(spans.freq, spans.file); !s) {
    std::fprintf(stderr, "minidfs: spans: %s\n", s.error().message().c_str());
  }
}

void start_agent(const std::string& proc_name, const std::string& host) {
#ifdef MINIDFS_BARE  // bare.h: the no-pivot baseline
  (void)proc_name, (void)host;
  return;
#endif
  pivot::Status s = pivot::Agent::start({.proc_name = proc_name, .host = host});
  if (!s) std::fprintf(stderr, "minidfs: pivot agent not started: %s\n", s.error().message().c_str());
}

int namenode_main(const NameNodeOptions& options, const std::string& host, const ServerFiles& files,
                  const SpanOptions& spans) {
  block_stop_signals();
  start_agent("NameNode", host);
  start_spans(spans);
  NameNode nn(options);
  if (auto s = nn.start(); !s) {
    std::fprintf(stderr, "minidfs namenode: %s\n", s.error().message().c_str());
    return 1;
  }
  std::printf("namenode %s listening on %s\n", host.c_str(), loopback_address(nn.port()).c_str());
  std::fflush(stdout);
  write_or_warn(files.port_file, std::to_string(nn.port()) + "\n");
  wait_until_stopped();
  nn.stop();
  NameNodeStats st = nn.stats();
  nlohmann::json j = {{"host", host},
                      {"get_block_locations", st.get_block_locations},
                      {"by_src", st.by_src},
                      {"by_client", st.by_client},
                      {"errors", st.errors}};
  write_or_warn(files.stats_file, j.dump(1) + "\n");
  std::printf("namenode %s: get_block_locations=%lld errors=%lld\n", host.c_str(),
              static_cast<long long>(st.get_block_locations), static_cast<long long>(st.errors));
  pivot::flush_traces();
  pivot::Agent::stop();
  return 0;
}

int datanode_main(const DataNodeOptions& options, const ServerFiles& files, const SpanOptions& spans) {
  block_stop_signals();
  std::string host = datanode_host(options.index);
  start_agent("DataNode", host);
  start_spans(spans);
  DataNode dn(options);
  if (auto s = dn.start(); !s) {
    std::fprintf(stderr, "minidfs datanode %s: %s\n", host.c_str(), s.error().message().c_str());
    return 1;
  }
  std::printf("datanode %s listening on %s\n", host.c_str(), loopback_address(dn.port()).c_str());
  std::fflush(stdout);
  write_or_warn(files.port_file, std::to_string(dn.port()) + "\n");
  wait_until_stopped();
  dn.stop();
  DataNodeStats st = dn.stats();
  nlohmann::json j = {{"host", host},
                      {"reads", st.reads},
                      {"bytes", st.bytes},
                      {"bytes_by_src", st.bytes_by_src},
                      {"reads_by_src", st.reads_by_src},
                      {"errors", st.errors}};
  write_or_warn(files.stats_file, j.dump(1) + "\n");
  std::printf("datanode %s: reads=%lld bytes=%lld errors=%lld\n", host.c_str(),
              static_cast<long long>(st.reads), static_cast<long long>(st.bytes),
              static_cast<long long>(st.errors));
  pivot::flush_traces();
  pivot::Agent::stop();
  return 0;
}

int client_main(const ClientOptions& options, const ClientRun& run, const SpanOptions& spans) {
  block_stop_signals();
  start_agent(options.proc_name, options.host);
  start_spans(spans);
  Client client(options);
  truth::ClientRecord record;
  record.index = options.index;
  record.host = options.host;
  record.proc_name = options.proc_name;
  record.seed = options.image.seed;

  write_or_warn(run.ready_file, "ready\n");
  bool stopped = false;
  if (!run.go_file.empty()) {
    while (!file_exists(run.go_file) && !(stopped = wait_stop_signal(5))) {
    }
  }
  if (!stopped && run.start_delay_ms > 0) stopped = wait_stop_signal(static_cast<int>(run.start_delay_ms));

  auto start = Clock::now();
  int64_t bytes = 0;
  std::vector<int64_t> latency_ns;  // of each op that completed, for the performance script
  for (int64_t seq = 0; !stopped; ++seq) {
    if (run.ops > 0 && seq >= run.ops) break;
    auto elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (run.duration_s > 0 && elapsed >= run.duration_s) break;
    if (run.rate > 0) {
      double wait_s = static_cast<double>(seq) / run.rate - elapsed;
      if (run.duration_s > 0) wait_s = std::min(wait_s, run.duration_s - elapsed);
      if (wait_s > 0 && wait_stop_signal(static_cast<int>(wait_s * 1000))) break;
      if (run.duration_s > 0 && std::chrono::duration<double>(Clock::now() - start).count() >= run.duration_s)
        break;
    }
    if (stop_requested()) break;
    auto op_start = Clock::now();
    auto op = client.run_op(seq);
    auto op_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - op_start).count();
    if (!op) {
      record.complete = false;
      record.error = "op " + std::to_string(seq) + ": " + op.error().message();
      std::fprintf(stderr, "minidfs client %s: %s\n", options.host.c_str(), record.error.c_str());
      break;
    }
    for (const auto& r : op->reads) bytes += r.bytes;
    latency_ns.push_back(op_ns);
    record.ops.push_back(std::move(*op));
  }
  double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();

  if (!run.truth_file.empty()) {
    if (auto s = truth::write_file(record, run.truth_file); !s) {
      std::fprintf(stderr, "minidfs client %s: %s\n", options.host.c_str(), s.error().message().c_str());
      record.complete = false;
    }
  }
  write_or_warn(run.stats_file, nlohmann::json{{"host", options.host},
                                               {"procName", options.proc_name},
                                               {"ops", record.ops.size()},
                                               {"bytes", bytes},
                                               {"seconds", elapsed_s},
                                               {"latency_ns", latency_ns}}
                                        .dump() +
                                    "\n");
  std::printf("client %s (%s): ops=%zu bytes=%lld%s\n", options.host.c_str(), options.proc_name.c_str(),
              record.ops.size(), static_cast<long long>(bytes), record.complete ? "" : " FAILED");
  std::fflush(stdout);
  write_or_warn(run.done_file, record.complete ? "ok\n" : "failed\n");
  if (run.stay && record.complete) wait_until_stopped();
  pivot::flush_traces();
  pivot::Agent::stop();
  return record.complete ? 0 : 1;
}

}  // namespace minidfs
