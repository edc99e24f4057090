#include "rpc.h"

#include <sys/socket.h>

#include <exception>

namespace minidfs {

pivot::Baggage received_baggage(const Frame& frame) {
  std::string_view bytes = frame.get(kBaggageKey);
  if (bytes.empty()) return pivot::Baggage();
  pivot::Result<pivot::Baggage> b = pivot::baggage::decode_binary(bytes);
  return b ? std::move(*b) : pivot::Baggage();  // hostile bytes: served without baggage
}

void send_baggage(Frame& response, const Frame& request) {
  thread_local std::string buffer;  // kept: encoding allocates nothing once it has grown
  pivot::baggage::encode_binary_into(buffer);
  // The encoding is canonical: equal bytes are equal baggage.
  if (!buffer.empty() && buffer != request.get(kBaggageKey)) response.set(kBaggageKey, buffer);
}

pivot::Result<Frame> RpcChannel::call(Frame request, const DataCallback& on_data) {
  if (!socket_.valid()) {
    auto s = connect_to(address_);
    if (!s) return s.error();
    socket_ = std::move(*s);
  }
  request.kind = FrameKind::kRequest;
  bool carried = false;
#ifndef MINIDFS_BARE  // bare.h: the no-pivot baseline carries no baggage
  // The kept buffer itself travels as the header's value and comes back
  // after the write: no copy, no allocation.
  pivot::baggage::encode_binary_into(sent_);
  if (!sent_.empty()) {
    if (request.has(kBaggageKey)) {
      request.set(kBaggageKey, sent_);
    } else {
      request.headers.emplace_back(kBaggageKey, std::move(sent_));
      carried = true;
    }
  }
#endif
  pivot::Status written = write_frame(socket_.fd(), request);
  if (carried) sent_ = std::move(request.headers.back().second);
  if (!written) {
    socket_.reset();
    return pivot::Error("call " + std::string(request.get("op")) + " on " + address_ + ": " +
                        written.error().message());
  }
  for (;;) {
    auto f = read_frame(socket_.fd());
    if (!f || !*f) {
      socket_.reset();
      std::string why = f ? "connection closed" : f.error().message();
      return pivot::Error("call " + std::string(request.get("op")) + " on " + address_ + ": " + why);
    }
    Frame& frame = **f;
    if (frame.kind == FrameKind::kData) {
      if (!on_data) continue;
      if (auto s = on_data(frame.body); !s) {
        socket_.reset();  // the rest of the stream is unread
        return s.error();
      }
      continue;
    }
    if (frame.kind != FrameKind::kResponse) {
      socket_.reset();
      return pivot::Error("call " + std::string(request.get("op")) + " on " + address_ +
                          ": unexpected request frame");
    }
    // What the server did is now part of this execution's causal history.
    // No baggage in the reply: the server holds nothing this thread lacks.
#ifndef MINIDFS_BARE
    if (frame.has(kBaggageKey)) pivot::baggage::join(received_baggage(frame));
#endif
    if (frame.get("status") != "ok") {
      return pivot::Error(std::string(request.get("op")) + " on " + address_ +
                          " failed: " + std::string(frame.get("message")));
    }
    return std::move(frame);
  }
}

pivot::Status RpcServer::start(uint16_t port) {
  auto listener = listen_loopback(port);
  if (!listener) return listener.error();
  auto bound = local_port(*listener);
  if (!bound) return bound.error();
  listener_ = std::move(*listener);
  port_ = *bound;
  acceptor_ = std::thread([this] { accept_loop(); });
  return pivot::Status::Ok();
}

void RpcServer::stop() {
  if (stopping_.exchange(true)) return;
  if (listener_.valid()) ::shutdown(listener_.fd(), SHUT_RDWR);  // wakes accept()
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : conns_) ::shutdown(c->socket.fd(), SHUT_RDWR);  // wakes reads
  }
  reap(true);
  listener_.reset();
}

void RpcServer::accept_loop() {
  while (!stopping_.load()) {
    auto s = accept_connection(listener_);
    if (!s) return;  // shut down (or the listener failed)
    reap(false);
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.load()) return;
    if (conns_.size() >= max_connections_) {
      (void)write_frame(s->fd(), make_error_response("too many connections"), 1000);
      continue;  // closes it
    }
    auto conn = std::make_unique<Conn>();
    conn->socket = std::move(*s);
    Conn* raw = conn.get();
    conns_.push_back(std::move(conn));
    raw->thread = std::thread([this, raw] { serve(raw); });
  }
}

void RpcServer::serve(Conn* conn) {
  Connection c(conn->socket.fd());
  for (;;) {
    // Idle connections may wait forever; stop() shuts them down.
    auto f = read_frame(conn->socket.fd(), -1);
    if (!f) {
      (void)c.send(make_error_response(f.error().message()));
      break;
    }
    if (!*f) break;  // the client hung up
    if ((*f)->kind != FrameKind::kRequest) {
      (void)c.send(make_error_response("bad frame: expected a request"));
      break;
    }
    try {
      handler_(c, **f);
    } catch (const std::exception& e) {
      (void)c.send(make_error_response(std::string("internal error: ") + e.what()));
      break;
    }
  }
  ::shutdown(conn->socket.fd(), SHUT_RDWR);
  conn->done.store(true);
}

void RpcServer::reap(bool all) {
  std::list<std::unique_ptr<Conn>> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (all || (*it)->done.load()) {
        finished.push_back(std::move(*it));
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) {
    if (c->thread.joinable()) c->thread.join();
  }
}

}  // namespace minidfs
