#include "net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

namespace minidfs {
namespace {

using Clock = std::chrono::steady_clock;

pivot::Error errno_error(const std::string& what) { return pivot::Error(what + ": " + std::strerror(errno)); }

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits until fd is ready for `events`; timeout_ms < 0 waits forever.
pivot::Status wait_fd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, timeout_ms);
    if (n > 0) return pivot::Status::Ok();
    if (n == 0) return pivot::Error("timed out");
    if (errno != EINTR) return errno_error("poll");
  }
}

// Reads exactly out.size() bytes. Returns the number read before a clean
// EOF (less than asked) or an error.
pivot::Result<size_t> read_exact(int fd, char* out, size_t n, Clock::time_point deadline) {
  size_t got = 0;
  while (got < n) {
    if (auto s = wait_fd(fd, POLLIN, remaining_ms(deadline)); !s) return s.error();
    ssize_t r = ::recv(fd, out + got, n - got, 0);
    if (r == 0) return got;
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno_error("recv");
    }
    got += static_cast<size_t>(r);
  }
  return got;
}

}  // namespace

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.release();
  }
  return *this;
}

void Socket::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

pivot::Result<Socket> listen_loopback(uint16_t port) {
  Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return errno_error("socket");
  int one = 1;
  ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return errno_error("bind");
  if (::listen(s.fd(), 128) != 0) return errno_error("listen");
  return s;
}

pivot::Result<uint16_t> local_port(const Socket& s) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return errno_error("getsockname");
  return static_cast<uint16_t>(ntohs(addr.sin_port));
}

pivot::Result<Socket> accept_connection(const Socket& listener) {
  for (;;) {
    int fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return Socket(fd);
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    return errno_error("accept");
  }
}

pivot::Result<Socket> connect_to(std::string_view address, int timeout_ms) {
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return pivot::Error("bad address \"" + std::string(address) + "\"");
  std::string host(address.substr(0, colon));
  if (host == "localhost") host = "127.0.0.1";
  std::string_view port_text = address.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535 ||
      ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return pivot::Error("bad address \"" + std::string(address) + "\"");
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return errno_error("socket");
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(s.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // bounds connect() too
  if (::connect(s.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return errno_error("connect to " + std::string(address));
  }
  int one = 1;
  ::setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

std::string loopback_address(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

pivot::Status write_frame(int fd, const Frame& frame, int timeout_ms) {
  auto bytes = encode_frame(frame);
  if (!bytes) return bytes.error();
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t sent = 0;
  while (sent < bytes->size()) {
    ssize_t n = ::send(fd, bytes->data() + sent, bytes->size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (auto s = wait_fd(fd, POLLOUT, remaining_ms(deadline)); !s)
        return pivot::Error("send: " + s.error().message());
      continue;
    }
    return errno_error("send");
  }
  return pivot::Status::Ok();
}

pivot::Result<std::optional<Frame>> read_frame(int fd, int idle_timeout_ms, int frame_timeout_ms) {
  char prefix[kFramePrefixBytes];
  // The frame's deadline starts once its first byte is here; until then the
  // idle timeout applies.
  if (auto s = wait_fd(fd, POLLIN, idle_timeout_ms); !s) return s.error();
  auto deadline = Clock::now() + std::chrono::milliseconds(frame_timeout_ms);
  auto got = read_exact(fd, prefix, sizeof prefix, deadline);
  if (!got) return got.error();
  if (*got == 0) return std::optional<Frame>();
  if (*got < sizeof prefix) return pivot::Error("bad frame: connection closed mid-frame");
  auto p = decode_prefix(std::string_view(prefix, sizeof prefix));
  if (!p) return p.error();
  std::string bytes(prefix, sizeof prefix);
  bytes.resize(kFramePrefixBytes + p->header_bytes + p->body_bytes);
  size_t rest = bytes.size() - kFramePrefixBytes;
  if (rest > 0) {
    auto more = read_exact(fd, bytes.data() + kFramePrefixBytes, rest, deadline);
    if (!more) return more.error();
    if (*more < rest) return pivot::Error("bad frame: connection closed mid-frame");
  }
  auto f = decode_frame(bytes);
  if (!f) return f.error();
  return std::optional<Frame>(std::move(*f));
}

}  // namespace minidfs
