// minidfs sockets: TCP over loopback, and frames (frame.h) on them.
//
//   auto server = minidfs::listen_loopback(0);   // any free port
//   auto port = minidfs::local_port(*server);
//   auto conn = minidfs::connect_to("127.0.0.1:" + std::to_string(*port));
//   minidfs::write_frame(conn->fd(), frame);
//   auto f = minidfs::read_frame(conn->fd());   // Result<std::optional<Frame>>
//
// read_frame() waits as long as asked for a frame to begin, then gives the
// rest of it a bounded time, so a peer that stalls mid-frame cannot hold a
// thread forever. Writes never raise SIGPIPE.
//
// Thread safety: a Socket is a move-only owner of one descriptor; use one
// from one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "frame.h"
#include "pivot/result.h"

namespace minidfs {

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(o.release()) {}
  Socket& operator=(Socket&& o) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { reset(); }

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

inline constexpr int kIoTimeoutMs = 10'000;

// Listens on 127.0.0.1:port (0: a free port chosen by the kernel).
pivot::Result<Socket> listen_loopback(uint16_t port);
pivot::Result<uint16_t> local_port(const Socket& s);
// Accepts one connection; fails with errno text (EINVAL after shutdown()).
pivot::Result<Socket> accept_connection(const Socket& listener);
// Connects to "host:port" (an IPv4 literal; "localhost" means 127.0.0.1).
pivot::Result<Socket> connect_to(std::string_view address, int timeout_ms = kIoTimeoutMs);
std::string loopback_address(uint16_t port);

pivot::Status write_frame(int fd, const Frame& frame, int timeout_ms = kIoTimeoutMs);
// One frame, or nullopt when the peer closed cleanly before a frame began.
// idle_timeout_ms: how long to wait for the first byte (-1: forever).
pivot::Result<std::optional<Frame>> read_frame(int fd, int idle_timeout_ms = kIoTimeoutMs,
                                               int frame_timeout_ms = kIoTimeoutMs);

}  // namespace minidfs
