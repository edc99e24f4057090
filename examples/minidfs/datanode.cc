#include "datanode.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <thread>

#include "pivot/baggage.h"
#include "pivot/tracepoint.h"
#include "spans.h"

namespace minidfs {
namespace {

bool parse_i64(std::string_view text, int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

DataNode::DataNode(DataNodeOptions options)
    : options_(std::move(options)),
      host_(datanode_host(options_.index)),
      image_(FsImage::generate(options_.image)),
      pool_(std::make_unique<ThreadPool>(std::max(1, options_.threads))),
      server_([this](Connection& c, const Frame& f) { handle(c, f); }) {}

pivot::Status DataNode::start() {
  if (auto s = server_.start(options_.port); !s) return s;
  if (options_.namenode.empty()) return pivot::Status::Ok();
  return register_with_namenode();
}

void DataNode::stop() {
  server_.stop();  // joins connection threads, which wait for their reads
}

DataNodeStats DataNode::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

pivot::Status DataNode::register_with_namenode() {
  RpcChannel nn(options_.namenode);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    pivot::baggage::Scope scope{pivot::Baggage()};  // not part of any client request
    Frame request = make_request("RegisterDatanode");
    request.set("host", host_);
    request.set("port", std::to_string(port()));
    request.set("rid", "register/" + host_);
    auto r = nn.call(std::move(request));
    if (r) return pivot::Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return pivot::Error("register with namenode " + options_.namenode + ": " + r.error().message());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void DataNode::handle(Connection& conn, const Frame& request) {
  pivot::baggage::Scope scope{received_baggage(request)};
  std::string op(request.get("op"));
  PIVOT_TRACEPOINT("ReceiveRequest", op);
  if (op == "ReadBlock") {
    // The pool thread runs under a fork of this request's baggage and writes
    // the reply itself; this connection reads its next request afterwards.
    pool_->submit(pivot::baggage::wrap([&] { read_block(conn, request); })).wait();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.errors;
  }
  Frame response = make_error_response("unknown op \"" + op.substr(0, 64) + "\"");
  PIVOT_TRACEPOINT("SendResponse", op);
  send_baggage(response, request);
  (void)conn.send(response);
}

std::string DataNode::check_read(const Frame& request, int64_t& block, int64_t& offset,
                                 int64_t& length) const {
  if (!parse_i64(request.get("block"), block)) return "bad block";
  offset = 0;
  if (request.has("offset") && !parse_i64(request.get("offset"), offset)) return "bad offset";
  if (!parse_i64(request.get("length"), length)) return "bad length";
  const FileInfo* file = image_.file_of_block(block);
  if (file == nullptr || file->path != request.get("src")) {
    return "block " + std::to_string(block) + " is not part of \"" +
           std::string(request.get("src")).substr(0, 256) + "\"";
  }
  if (std::find(file->replicas.begin(), file->replicas.end(), host_) == file->replicas.end()) {
    return "block " + std::to_string(block) + " is not on " + host_;
  }
  int64_t block_length = 0;
  for (const BlockInfo& b : file->blocks) {
    if (b.id == block) block_length = b.length;
  }
  if (offset < 0 || offset >= block_length) return "offset out of range";
  if (length <= 0) return "length must be positive";
  length = std::min(length, block_length - offset);
  return "";
}

int64_t DataNode::send_block(Connection& conn, int64_t block, int64_t offset, int64_t length) {
  int64_t sent = 0;
  Frame packet;
  packet.kind = FrameKind::kData;
  while (sent < length) {
    int64_t n = std::min(options_.packet_bytes, length - sent);
    packet.body.resize(static_cast<size_t>(n));
    block_bytes(block, offset + sent, packet.body.data(), packet.body.size());
    if (!conn.send(packet).ok()) break;
    sent += n;
  }
  return sent;
}

void DataNode::read_block(Connection& conn, const Frame& request) {
  int64_t block = 0, offset = 0, length = 0;
  std::string src(request.get("src"));
  std::string op(request.get("op"));
  pivot::Trace<RequestSpan> span(RequestSpan{"minidfs.op", request.get("rid")}, "DataNode.ReadBlock");
  Frame response;
  if (std::string error = check_read(request, block, offset, length); !error.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.errors;
    response = make_error_response(error);
  } else {
    PIVOT_TRACEPOINT("DN.DataTransferProtocol", op, block, src);
    int64_t delta = send_block(conn, block, offset, length);  // bytes actually sent
    bool ok = delta == length;
    PIVOT_TRACEPOINT("DataNodeMetrics.incrBytesRead", PIVOT_EXPORT_UNIT("delta", delta, "bytes"));
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.reads;
      stats_.bytes += delta;
      stats_.bytes_by_src[src] += delta;
      ++stats_.reads_by_src[src];
    }
    response = ok ? make_ok_response() : make_error_response("send failed");
    response.set("bytes", std::to_string(delta));
  }
  PIVOT_TRACEPOINT("SendResponse", op);
  send_baggage(response, request);
  (void)conn.send(response);
}

}  // namespace minidfs
