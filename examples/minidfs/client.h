// A minidfs client: a seeded stress workload, as HDFS's StressTest runs it.
//
// Each op reads one file: "read" reads every block whole, "pread" reads one
// range of one block. An op is one causal request:
//
//   pivot::baggage::Scope request{pivot::Baggage()};   // fresh, empty baggage
//   ClientProtocols(procName, op, src); StressTest.DoNextOp(op, src);
//   GetBlockLocations(src) at the namenode       (baggage there and back)
//   ReadBlock(block, src, offset, length) at the chosen datanode, per block
//
// Replica choice: uniformly random among the replicas (seeded), or with
// fixed_replica_order the first one, as HDFS did before HDFS-6268.
// Ops are a pure function of (seed, client index, op seq) and the namenode's
// answers, so the same seed gives the same run. Received bytes are checked
// against the block contents; a mismatch fails the op.
//
// Thread safety: one thread per Client.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "fs_image.h"
#include "rpc.h"
#include "truth.h"

namespace minidfs {

struct ClientOptions {
  FsImageOptions image;
  int index = 1;
  std::string host = "client1";
  std::string proc_name = "MapReduce";
  std::string namenode;  // "ip:port"
  bool fixed_replica_order = false;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  // Runs op number seq and returns what happened.
  pivot::Result<truth::Op> run_op(int64_t seq);
  const ClientOptions& options() const { return options_; }

 private:
  struct Locations {
    std::vector<BlockInfo> blocks;
    std::vector<std::string> replicas;
    std::map<std::string, std::string> addresses;
  };
  pivot::Result<Locations> get_block_locations(const std::string& src, int64_t seq);
  pivot::Result<int64_t> read_block(const std::string& address, const std::string& src,
                                    const truth::Read& read);
  RpcChannel& datanode(const std::string& address);

  ClientOptions options_;
  FsImage image_;
  uint64_t seed_;
  RpcChannel namenode_;
  std::map<std::string, std::unique_ptr<RpcChannel>> datanodes_;  // by address
  std::string rid_;  // the current op's request id, "<host>/<seq>" (spans.h)
};

}  // namespace minidfs
