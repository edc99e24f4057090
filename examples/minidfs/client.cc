#include "client.h"

#include <cstring>

#include "nlohmann/json.hpp"
#include "pivot/baggage.h"
#include "pivot/tracepoint.h"
#include "spans.h"

namespace minidfs {

Client::Client(ClientOptions options)
    : options_(std::move(options)),
      image_(FsImage::generate(options_.image)),
      seed_(mix_seed(options_.image.seed, "client", static_cast<uint64_t>(options_.index))),
      namenode_(options_.namenode) {}

RpcChannel& Client::datanode(const std::string& address) {
  auto& channel = datanodes_[address];
  if (!channel) channel = std::make_unique<RpcChannel>(address);
  return *channel;
}

pivot::Result<truth::Op> Client::run_op(int64_t seq) {
  // Everything this op draws comes from its own stream: op k is the same
  // whatever happened before it.
  Rng rng(mix_seed(seed_, "op", static_cast<uint64_t>(seq)));
  truth::Op record;
  record.seq = seq;
  record.op = rng.below(10) < 7 ? "read" : "pread";
  record.src = image_.files()[rng.below(image_.files().size())].path;
  const std::string& op = record.op;
  const std::string& src = record.src;

  // One op is one causal request: it starts with empty baggage.
  pivot::baggage::Scope request{pivot::Baggage()};
  rid_ = options_.host + "/" + std::to_string(seq);
  pivot::Trace<RequestSpan> span(RequestSpan{"minidfs.op", rid_},
                                 op == "read" ? "Client.read" : "Client.pread");
  PIVOT_TRACEPOINT("ClientProtocols", PIVOT_EXPORT("procName", options_.proc_name), op, src);
  PIVOT_TRACEPOINT("StressTest.DoNextOp", op, src);

  auto locations = get_block_locations(src, seq);
  if (!locations) return locations.error();
  record.replicas = locations->replicas;
  if (locations->blocks.empty() || locations->replicas.empty())
    return pivot::Error(src + ": no blocks or replicas");

  std::vector<truth::Read> plan;
  if (op == "read") {
    for (const BlockInfo& b : locations->blocks) plan.push_back({b.id, "", 0, b.length, 0});
  } else {
    const BlockInfo& b = locations->blocks[rng.below(locations->blocks.size())];
    int64_t offset = static_cast<int64_t>(rng.below(static_cast<uint64_t>(b.length)));
    int64_t length = 1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(b.length - offset)));
    plan.push_back({b.id, "", offset, length, 0});
  }
  for (truth::Read& read : plan) {
    size_t choice = options_.fixed_replica_order ? 0 : rng.below(locations->replicas.size());
    read.datanode = locations->replicas[choice];
    auto address = locations->addresses.find(read.datanode);
    if (address == locations->addresses.end()) return pivot::Error("no address for " + read.datanode);
    auto bytes = read_block(address->second, src, read);
    if (!bytes) return bytes.error();
    read.bytes = *bytes;
    record.reads.push_back(read);
  }
  return record;
}

pivot::Result<Client::Locations> Client::get_block_locations(const std::string& src, int64_t seq) {
  Frame request = make_request("GetBlockLocations");
  request.set("src", src);
  request.set("client", options_.host);
  request.set("seq", std::to_string(seq));
  request.set("rid", rid_);
  auto response = namenode_.call(std::move(request));
  if (!response) return response.error();
  auto body = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  try {
    Locations out;
    for (const auto& b : body.at("blocks"))
      out.blocks.push_back({b.at(0).get<int64_t>(), b.at(1).get<int64_t>()});
    out.replicas = body.at("replicas").get<std::vector<std::string>>();
    out.addresses = body.at("addresses").get<std::map<std::string, std::string>>();
    for (const BlockInfo& b : out.blocks) {
      if (b.length <= 0) return pivot::Error("GetBlockLocations: bad block length");
    }
    return out;
  } catch (const std::exception& e) {
    return pivot::Error(std::string("GetBlockLocations: bad response: ") + e.what());
  }
}

pivot::Result<int64_t> Client::read_block(const std::string& address, const std::string& src,
                                          const truth::Read& read) {
  Frame request = make_request("ReadBlock");
  request.set("block", std::to_string(read.block));
  request.set("src", src);
  request.set("offset", std::to_string(read.offset));
  request.set("length", std::to_string(read.length));
  request.set("rid", rid_);
  int64_t received = 0;
  std::string expected;
  auto on_data = [&](std::string_view chunk) -> pivot::Status {
    if (received + static_cast<int64_t>(chunk.size()) > read.length)
      return pivot::Error("ReadBlock: too many bytes");
    expected.resize(chunk.size());
    block_bytes(read.block, read.offset + received, expected.data(), expected.size());
    if (std::memcmp(expected.data(), chunk.data(), chunk.size()) != 0) {
      return pivot::Error("ReadBlock: corrupt data from " + address);
    }
    received += static_cast<int64_t>(chunk.size());
    return pivot::Status::Ok();
  };
  auto response = datanode(address).call(std::move(request), on_data);
  if (!response) return response.error();
  if (response->get("bytes") != std::to_string(received)) {
    return pivot::Error("ReadBlock: received " + std::to_string(received) + " bytes, datanode says " +
                        std::string(response->get("bytes")));
  }
  return received;
}

}  // namespace minidfs
