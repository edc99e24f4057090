#include "namenode.h"

#include <algorithm>
#include <charconv>

#include "nlohmann/json.hpp"
#include "pivot/baggage.h"
#include "pivot/tracepoint.h"
#include "spans.h"

namespace minidfs {
namespace {

bool parse_u64(std::string_view text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

NameNode::NameNode(NameNodeOptions options)
    : options_(std::move(options)),
      image_(FsImage::generate(options_.image)),
      server_([this](Connection& c, const Frame& f) { handle(c, f); }) {}

pivot::Status NameNode::start() { return server_.start(options_.port); }

NameNodeStats NameNode::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::vector<std::string> NameNode::replica_order(const FileInfo& file, std::string_view client,
                                                 uint64_t seq) const {
  std::vector<std::string> replicas = file.replicas;
  if (options_.fixed_replica_order) {
    std::sort(replicas.begin(), replicas.end(), [](const std::string& a, const std::string& b) {
      return datanode_index(a) < datanode_index(b);
    });
    return replicas;
  }
  Rng rng(mix_seed(options_.image.seed, file.path + "|" + std::string(client), seq));
  for (size_t k = replicas.size(); k > 1; --k) std::swap(replicas[k - 1], replicas[rng.below(k)]);
  return replicas;
}

void NameNode::handle(Connection& conn, const Frame& request) {
  // The request runs under the caller's baggage: whatever the client packed
  // (say, its procName) is visible to tracepoints here.
  pivot::baggage::Scope scope{received_baggage(request)};
  std::string op(request.get("op"));
  pivot::Trace<RequestSpan> span(RequestSpan{"minidfs.op", request.get("rid")},
                                 "NameNode." + op.substr(0, 64));
  PIVOT_TRACEPOINT("ReceiveRequest", op);
  Frame response;
  if (op == "GetBlockLocations") {
    response = get_block_locations(request);
  } else if (op == "RegisterDatanode") {
    response = register_datanode(request);
  } else {
    response = make_error_response("unknown op \"" + op.substr(0, 64) + "\"");
  }
  if (response.get("status") != "ok") {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.errors;
  }
  PIVOT_TRACEPOINT("SendResponse", op);
  send_baggage(response, request);
  (void)conn.send(response);
}

Frame NameNode::get_block_locations(const Frame& request) {
  std::string src(request.get("src"));
  std::string client(request.get("client"));
  uint64_t seq = 0;
  if (request.has("seq") && !parse_u64(request.get("seq"), seq)) return make_error_response("bad seq");
  const FileInfo* file = image_.find(src);
  if (file == nullptr) return make_error_response("no such file \"" + src.substr(0, 256) + "\"");
  nlohmann::json addresses = nlohmann::json::object();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& host : file->replicas) {
      auto it = addresses_.find(host);
      if (it == addresses_.end()) return make_error_response("datanode " + host + " has not registered");
      addresses[host] = it->second;
    }
  }
  std::vector<std::string> replicas = replica_order(*file, client, seq);
  PIVOT_TRACEPOINT("NN.GetBlockLocations", src, PIVOT_EXPORT("replicas", replicas));
  nlohmann::json blocks = nlohmann::json::array();
  for (const BlockInfo& b : file->blocks) blocks.push_back({b.id, b.length});
  nlohmann::json body = {{"src", src}, {"blocks", blocks}, {"replicas", replicas}, {"addresses", addresses}};
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.get_block_locations;
    ++stats_.by_src[src];
    ++stats_.by_client[client];
  }
  Frame response = make_ok_response();
  response.body = body.dump();
  return response;
}

Frame NameNode::register_datanode(const Frame& request) {
  std::string host(request.get("host"));
  int index = datanode_index(host);
  if (index == 0 || index > options_.image.datanodes) {
    return make_error_response("unknown datanode host \"" + host.substr(0, 64) + "\"");
  }
  uint64_t port = 0;
  if (!parse_u64(request.get("port"), port) || port == 0 || port > 65535)
    return make_error_response("bad port");
  std::lock_guard<std::mutex> lock(mu_);
  addresses_[host] = loopback_address(static_cast<uint16_t>(port));
  return make_ok_response();
}

}  // namespace minidfs
