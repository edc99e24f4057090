// A minidfs datanode: holds the blocks the FsImage places on its host and
// serves them.
//
// RPC: ReadBlock  block, src, offset, length
//   -> data frames with the bytes (at most packet_bytes each), then a
//      response with "bytes" (the total sent).
// A read is clipped at the end of the block; a block this datanode does not
// hold, or one that is not part of src, is an error.
//
// Threads: a connection thread receives the request and fires
// ReceiveRequest(op) under the request's baggage, then hands the read to the
// thread pool with pivot::baggage::wrap, so the pool thread runs under a
// fork of that baggage. The pool thread fires
// DN.DataTransferProtocol(op, block, src), streams the bytes, fires
// DataNodeMetrics.incrBytesRead(delta) with the bytes actually sent, then
// SendResponse(op), and replies with its baggage.
//
// On start() the datanode registers its address with the namenode.
//
// Thread safety: start()/stop() from one thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "fs_image.h"
#include "rpc.h"
#include "thread_pool.h"

namespace minidfs {

struct DataNodeOptions {
  FsImageOptions image;
  int index = 1;         // this is datanode_host(index)
  std::string namenode;  // "ip:port"; empty: do not register (tests)
  uint16_t port = 0;
  int threads = 4;
  int64_t packet_bytes = 64 * 1024;
};

struct DataNodeStats {
  int64_t reads = 0;
  int64_t bytes = 0;
  std::map<std::string, int64_t> bytes_by_src;
  std::map<std::string, int64_t> reads_by_src;
  int64_t errors = 0;
};

class DataNode {
 public:
  explicit DataNode(DataNodeOptions options);
  ~DataNode() { stop(); }
  // Listens, then registers with the namenode (retrying for up to 10 s).
  pivot::Status start();
  uint16_t port() const { return server_.port(); }
  const std::string& host() const { return host_; }
  void stop();
  DataNodeStats stats() const;

 private:
  void handle(Connection& conn, const Frame& request);
  void read_block(Connection& conn, const Frame& request);
  // Sends bytes [offset, offset+length) of a block as data frames; returns
  // how many were sent. It has no tracepoint: queries hook it at run time
  // (query H1). Out of line, as a function of its size would be anyway.
  [[gnu::noinline]] int64_t send_block(Connection& conn, int64_t block, int64_t offset, int64_t length);
  // Checks the request; fills block, offset and length or returns why not.
  std::string check_read(const Frame& request, int64_t& block, int64_t& offset, int64_t& length) const;
  pivot::Status register_with_namenode();

  DataNodeOptions options_;
  std::string host_;
  FsImage image_;
  mutable std::mutex mu_;
  DataNodeStats stats_;
  std::unique_ptr<ThreadPool> pool_;
  RpcServer server_;
};

}  // namespace minidfs
