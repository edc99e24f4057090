// minidfs RPC: request/response over framed TCP, with pivot baggage in a
// header, the way a real RPC layer would carry it.
//
// Baggage on the wire: the "baggage" header holds
// pivot::baggage::encode_binary() (frames carry any bytes, so there is no
// need for the text form). A request has no header when the caller's
// baggage is empty; a response has none when the server's baggage is empty
// or is exactly what the request carried (a server that packed nothing):
// the caller holds all of that already, and joining it would change
// nothing. So a request costs nothing on the wire until a query packs, and
// a reply costs nothing until the server packs.
//
// Client side. RpcChannel::call() puts the calling thread's baggage into
// the request and, when a response carries baggage, joins it back with
// pivot::baggage::join(), so what happened in the server happened-before
// what the caller does next.
//
//   minidfs::RpcChannel nn("127.0.0.1:9000");
//   auto resp = nn.call(minidfs::make_request("GetBlockLocations"));
//
// Server side. RpcServer accepts connections on a loopback port and runs one
// thread per connection that reads request frames and hands each to the
// handler. The handler makes the request's baggage current
// (pivot::baggage::Scope over received_baggage(request)), fires
// ReceiveRequest and SendResponse, puts its baggage into the response
// (send_baggage(response, request)) and writes exactly one response frame
// (data frames may come first). A malformed frame is answered with an
// error response and the connection is closed; the server goes on.
//
// Thread safety: an RpcChannel is used by one thread at a time. RpcServer's
// start() and stop() are called from one thread; the handler runs on many.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "frame.h"
#include "net.h"
#include "pivot/baggage.h"
#include "pivot/result.h"

namespace minidfs {

inline constexpr std::string_view kBaggageKey = "baggage";

// The baggage a frame carries; empty when it has none, or bad bytes.
pivot::Baggage received_baggage(const Frame& frame);
// Puts the current baggage into `response`, unless it is empty or the very
// bytes `request` carried.
void send_baggage(Frame& response, const Frame& request);

class RpcChannel {
 public:
  explicit RpcChannel(std::string address) : address_(std::move(address)) {}

  // Data frames that precede the response go to on_data; an error it returns
  // aborts the call. A response with status "error" becomes an Error (its
  // baggage is still joined).
  using DataCallback = std::function<pivot::Status(std::string_view)>;
  pivot::Result<Frame> call(Frame request, const DataCallback& on_data = nullptr);

  const std::string& address() const { return address_; }

 private:
  std::string address_;
  Socket socket_;     // connected lazily; dropped after any I/O error
  std::string sent_;  // the request's baggage: a kept buffer, so encoding does not allocate
};

// The server end of one connection, handed to the handler.
class Connection {
 public:
  explicit Connection(int fd) : fd_(fd) {}
  pivot::Status send(const Frame& frame) { return write_frame(fd_, frame); }

 private:
  int fd_;
};

class RpcServer {
 public:
  using Handler = std::function<void(Connection&, const Frame&)>;

  explicit RpcServer(Handler handler, size_t max_connections = 256)
      : handler_(std::move(handler)), max_connections_(max_connections) {}
  ~RpcServer() { stop(); }
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Listens on 127.0.0.1:port (0: any free port) and starts accepting.
  pivot::Status start(uint16_t port);
  uint16_t port() const { return port_; }
  // Stops accepting, shuts every connection down and joins their threads.
  void stop();

 private:
  struct Conn {
    Socket socket;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void accept_loop();
  void serve(Conn* conn);
  void reap(bool all);

  Handler handler_;
  size_t max_connections_;
  Socket listener_;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::list<std::unique_ptr<Conn>> conns_;
};

}  // namespace minidfs
