// minidfs ground truth: what each client did, and from it the exact answer
// every paper query (Q1-Q8, /work/shared/paper-queries.md) must give.
//
// Each client writes one JSON file (format "minidfs-truth/1") when it stops:
//
//   {"format":"minidfs-truth/1", "index":1, "host":"client1", "procName":"MapReduce",
//    "seed":42, "complete":true, "error":"",
//    "ops":[{"seq":0, "op":"read", "src":"/data/file-03",
//            "replicas":["dn2","dn1","dn3"],                 // as the namenode returned them
//            "reads":[{"block":1073741825, "datanode":"dn2",
//                      "offset":0, "length":65536, "bytes":65536}, ...]}, ...]}
//
// "ops" lists the operations that completed; "complete" is false when one
// failed ("error" says why; its events may have partly happened).
//
// Events of one op (one causal request; the client starts it under a fresh,
// empty baggage, and baggage travels with every RPC and back):
//   client:   ClientProtocols(procName, op, src), StressTest.DoNextOp(op, src)
//   namenode: ReceiveRequest("GetBlockLocations"), NN.GetBlockLocations(src, replicas),
//             SendResponse("GetBlockLocations")
//   then for each read, in order, on its datanode:
//             ReceiveRequest("ReadBlock"), DN.DataTransferProtocol("ReadBlock", block, src),
//             DataNodeMetrics.incrBytesRead(bytes), SendResponse("ReadBlock")
// host is the client's host on client events, "nn" on the namenode, the
// datanode's host ("dn1", ...) on its events.
// Outside any op: each datanode's RegisterDatanode call at start-up
// (ReceiveRequest/SendResponse on the namenode, before the cluster is
// ready), and the SpanBegin/SpanEnd tracepoints of spans.h.
//
// Expected answers, as pivot prints them (columns named as in its output,
// rows sorted by value):
//
//   auto records = minidfs::truth::load_dir("/tmp/run/truth");
//   auto table = minidfs::truth::expected(*records, "Q2");   // Result<pivot::ResultTable>
//   table->to_json();  // {"columns":["cl.procName","SUM(incr.delta)"],"rows":[["FSread",1234],...]}
//
// or from a shell: `minidfs truth --dir /tmp/run/truth --query Q2`.
//
// Besides Q1-Q8: "RR" counts ReceiveRequest per host and op
// (From r In ReceiveRequest GroupBy r.host, r.op Select r.host, r.op, COUNT);
// the latency query L has one row per RPC, rpc_count() of them.
//
// Thread safety: plain values and free functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "pivot/result.h"
#include "pivot/result_table.h"

namespace minidfs::truth {

inline constexpr std::string_view kFormat = "minidfs-truth/1";

struct Read {
  int64_t block = 0;
  std::string datanode;
  int64_t offset = 0;
  int64_t length = 0;  // as requested
  int64_t bytes = 0;   // as received
};

struct Op {
  int64_t seq = 0;
  std::string op;
  std::string src;
  std::vector<std::string> replicas;
  std::vector<Read> reads;
};

struct ClientRecord {
  int index = 0;
  std::string host;
  std::string proc_name;
  uint64_t seed = 0;
  bool complete = true;
  std::string error;
  std::vector<Op> ops;
};

nlohmann::json to_json(const ClientRecord& record);
pivot::Result<ClientRecord> from_json(const nlohmann::json& j);
// Writes atomically (a temporary file, then rename).
pivot::Status write_file(const ClientRecord& record, const std::string& path);
pivot::Result<ClientRecord> read_file(const std::string& path);
// Every *.json file in dir, ordered by client index. Fails on a record that
// is not complete unless allow_incomplete.
pivot::Result<std::vector<ClientRecord>> load_dir(const std::string& dir, bool allow_incomplete = false);

// "Q1".."Q8", "RR".
std::vector<std::string> query_ids();
// The query's text, as in paper-queries.md.
pivot::Result<std::string> query_text(std::string_view id);
// The answer pivot must give for the query over exactly these records.
pivot::Result<pivot::ResultTable> expected(const std::vector<ClientRecord>& records, std::string_view id);
// Number of RPCs (one GetBlockLocations per op plus one ReadBlock per read):
// the rows of the latency query L.
int64_t rpc_count(const std::vector<ClientRecord>& records);

// Totals for consistency checks: {"ops":N, "reads":N, "bytes":N,
// "datanodes":{"dn1":{"reads":N,"bytes":N,"bytes_by_src":{...}}}, "files":{src: ops}}.
nlohmann::json summary(const std::vector<ClientRecord>& records);

}  // namespace minidfs::truth
