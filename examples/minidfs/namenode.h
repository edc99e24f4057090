// The minidfs namenode: owns the file -> blocks -> replicas map (an FsImage
// generated from the seed) and the addresses datanodes registered with.
//
// RPCs (frame.h headers):
//   RegisterDatanode  host, port            -> ok
//   GetBlockLocations src, client, seq      -> body: JSON {"src", "blocks":[[id,length],...],
//                                              "replicas":[host,...], "addresses":{host:"ip:port"}}
//
// Replica order: by default a shuffle seeded by (seed, src, client, seq), so
// a run is reproducible and clients spread their reads; with
// fixed_replica_order the datanodes come in index order (dn1 before dn2),
// which with clients that pick the first replica reproduces HDFS-6268's skew.
//
// Tracepoints: ReceiveRequest(op) on receipt, NN.GetBlockLocations(src,
// replicas) once the list is known, SendResponse(op) before replying; all
// under the request's baggage.
//
// Thread safety: start()/stop() from one thread; requests are served on one
// thread per connection.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "fs_image.h"
#include "rpc.h"

namespace minidfs {

struct NameNodeOptions {
  FsImageOptions image;
  bool fixed_replica_order = false;
  uint16_t port = 0;
};

struct NameNodeStats {
  int64_t get_block_locations = 0;
  std::map<std::string, int64_t> by_src;     // GetBlockLocations per file
  std::map<std::string, int64_t> by_client;  // GetBlockLocations per client host
  int64_t errors = 0;                        // requests answered with an error
};

class NameNode {
 public:
  explicit NameNode(NameNodeOptions options);
  pivot::Status start();
  uint16_t port() const { return server_.port(); }
  void stop() { server_.stop(); }
  NameNodeStats stats() const;
  // The replica order this namenode returns for a request (exposed for tests).
  std::vector<std::string> replica_order(const FileInfo& file, std::string_view client, uint64_t seq) const;

 private:
  void handle(Connection& conn, const Frame& request);
  Frame get_block_locations(const Frame& request);
  Frame register_datanode(const Frame& request);

  NameNodeOptions options_;
  FsImage image_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> addresses_;  // datanode host -> "ip:port"
  NameNodeStats stats_;
  RpcServer server_;
};

}  // namespace minidfs
