// The local transport: unix domain sockets in a runtime directory, one per
// agent, named <pid>.sock, like jcmd's or dotnet-counters' discovery.
//
// The directory is created mode 0700 and must belong to the user; sockets
// are mode 0600, and an agent also checks each peer's uid (SO_PEERCRED), so
// only the same user can query a process.
//
// Messages are framed: a 4-byte big-endian length, then that many bytes.
// Frames over kMaxFrame are refused (the connection is then closed: there is
// no way to find the next frame).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/result.h"

namespace pivot::transport {

inline constexpr size_t kMaxFrame = 16u << 20;

// $PIVOT_RUNTIME_DIR, else /tmp/pivot-$UID.
std::string default_runtime_dir();
// Creates the directory (0700) if needed and checks it is ours and private.
Status ensure_runtime_dir(const std::string& dir);
std::string socket_path(const std::string& dir, pid_t pid);

// A listening socket at `path` (an old file there is replaced), mode 0600,
// non-blocking.
Result<int> listen_unix(const std::string& path);
// A connected, blocking socket.
Result<int> connect_unix(const std::string& path);
// The uid of the process at the other end of a unix socket, or -1.
int64_t peer_uid(int fd);

struct AgentSocket {
  pid_t pid;
  std::string path;
};
// The agents' sockets in `dir`, sorted by pid. Sockets of processes that no
// longer exist are removed.
std::vector<AgentSocket> discover(const std::string& dir);

// "<4-byte length><payload>".
std::string frame(std::string_view payload);

// Splits a byte stream into frames.
class FrameReader {
 public:
  void feed(const char* data, size_t n) { buffer_.append(data, n); }
  // True and the payload in *out when a whole frame is buffered; false when
  // more bytes are needed; an Error when the next frame is too big.
  Result<bool> next(std::string* out);
  size_t buffered() const { return buffer_.size() - start_; }

 private:
  std::string buffer_;
  size_t start_ = 0;
};

// Blocking helpers for frontends: write a whole frame; read one frame,
// waiting at most timeout_ms (-1: forever). A closed peer is an Error.
Status write_frame(int fd, std::string_view payload);
// Writes all of `bytes` to a (possibly non-blocking) socket, waiting at most
// timeout_ms in total for it to drain.
Status write_all_for(int fd, std::string_view bytes, int timeout_ms);
Result<std::string> read_frame(int fd, FrameReader& reader, int timeout_ms);

}  // namespace pivot::transport
