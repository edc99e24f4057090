// The local transport: unix domain sockets in a runtime directory, one per
// agent, named <pid>.sock, like jcmd's or dotnet-counters' discovery.
//
// The directory is treated like ~/.ssh: created mode 0700 when missing; an
// existing one that is not the user's, or that group or others may use, is
// refused (never chmod'ed: PIVOT_RUNTIME_DIR=/tmp must not lock other users
// out of /tmp). Sockets are mode 0600, an agent also checks each peer's uid
// (SO_PEERCRED), so only the same user can query a process, and only
// sockets that belong to the user are ever removed.
//
// Messages are framed: a 4-byte big-endian length, then that many bytes.
// Frames over the reader's limit (kMaxFrame, or kMaxRequestFrame for what
// an agent reads) are refused (the connection is then closed: there is no
// way to find the next frame).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/result.h"

namespace pivot::transport {

// What a frontend reads (reports).
inline constexpr size_t kMaxFrame = 16u << 20;
// What an agent reads (installs: a query text and a catalog). Small, since
// every connection to an agent may hold one partial frame.
inline constexpr size_t kMaxRequestFrame = 1u << 20;

// $PIVOT_RUNTIME_DIR, else /tmp/pivot-$UID.
std::string default_runtime_dir();
// Creates the directory (0700) if it is missing; an existing one must be a
// directory of the user's that group and others cannot use, or this is an
// Error that says why (it is never changed).
Status ensure_runtime_dir(const std::string& dir);
// The same check for a frontend, which creates nothing: a missing directory
// is fine (there are no agents).
Status check_runtime_dir(const std::string& dir);
std::string socket_path(const std::string& dir, pid_t pid);
// Removes `path` if it is a socket that belongs to the user (lstat: a
// symbolic link is not followed); true when it did.
bool remove_own_socket(const std::string& path);

// A listening socket at `path` (an old socket of the user's there is
// replaced; anything else is an Error), mode 0600, non-blocking.
Result<int> listen_unix(const std::string& path);
// A connected, blocking socket.
Result<int> connect_unix(const std::string& path);
// Connects a non-blocking socket without waiting: the fd, or an Error; a
// full backlog (the agent is not accepting) sets *would_block, so the caller
// may try again until its own deadline.
Result<int> try_connect_unix(const std::string& path, bool* would_block);
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

// Splits a byte stream into frames. It holds at most one frame (and what
// came with it) and gives memory back once a large frame is consumed.
class FrameReader {
 public:
  explicit FrameReader(size_t max_frame = kMaxFrame) : max_frame_(max_frame) {}
  void feed(const char* data, size_t n) { buffer_.append(data, n); }
  // True and the payload in *out when a whole frame is buffered; false when
  // more bytes are needed; an Error when the next frame is too big.
  Result<bool> next(std::string* out);
  size_t buffered() const { return buffer_.size() - start_; }
  // Bytes allocated for the buffer.
  size_t capacity() const { return buffer_.capacity(); }

 private:
  std::string buffer_;
  size_t start_ = 0;
  size_t max_frame_;
};

// Blocking helpers for frontends: write a whole frame; read one frame,
// waiting at most timeout_ms (-1: forever). A closed peer is an Error.
Status write_frame(int fd, std::string_view payload);
// Writes all of `bytes` to a (possibly non-blocking) socket, waiting at most
// timeout_ms in total for it to drain.
Status write_all_for(int fd, std::string_view bytes, int timeout_ms);
Result<std::string> read_frame(int fd, FrameReader& reader, int timeout_ms);

}  // namespace pivot::transport
