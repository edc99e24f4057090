#include "transport/local.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pivot::transport {
namespace {

// A reader keeps this much buffer between frames; more is freed.
constexpr size_t kKeptCapacity = 64u << 10;

Error errno_error(const std::string& what) { return Error(what + ": " + std::strerror(errno)); }

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return Error("socket path too long (" + std::to_string(path.size()) + " bytes, at most " +
                 std::to_string(sizeof addr.sun_path - 1) + "): " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

std::string default_runtime_dir() {
  const char* env = std::getenv("PIVOT_RUNTIME_DIR");
  if (env != nullptr && *env != '\0') return env;
  return "/tmp/pivot-" + std::to_string(getuid());
}

Status check_runtime_dir(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status();
    return errno_error("cannot use the runtime directory " + dir);
  }
  const std::string refusing = "refusing the runtime directory " + dir + ": ";
  const std::string advice =
      "; set PIVOT_RUNTIME_DIR to a directory only you can use (pivot creates it, mode 0700, if it "
      "does not exist)";
  if (!S_ISDIR(st.st_mode)) return Error(refusing + "it is not a directory" + advice);
  if (st.st_uid != geteuid()) {
    return Error(refusing + "it belongs to uid " + std::to_string(st.st_uid) + ", not to you (uid " +
                 std::to_string(geteuid()) + ")" + advice);
  }
  if ((st.st_mode & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Error(refusing + "group or others may use it (mode " + mode + ")" + advice);
  }
  return Status();
}

Status ensure_runtime_dir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("cannot create " + dir);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return errno_error("cannot stat " + dir);
  return check_runtime_dir(dir);
}

bool remove_own_socket(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) return false;
  return unlink(path.c_str()) == 0;
}

std::string socket_path(const std::string& dir, pid_t pid) {
  return dir + "/" + std::to_string(pid) + ".sock";
}

Result<int> listen_unix(const std::string& path) {
  auto addr = unix_address(path);
  if (!addr) return addr.error();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error("socket");
  remove_own_socket(path);  // a process of ours with this pid is gone
  if (bind(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
    Error e = errno == EADDRINUSE
                  ? Error("cannot bind " + path + ": something that is not a socket of yours is there")
                  : errno_error("cannot bind " + path);
    close(fd);
    return e;
  }
  if (chmod(path.c_str(), 0600) != 0 || listen(fd, 16) != 0) {
    Error e = errno_error("cannot listen on " + path);
    close(fd);
    unlink(path.c_str());
    return e;
  }
  return fd;
}

Result<int> connect_unix(const std::string& path) {
  auto addr = unix_address(path);
  if (!addr) return addr.error();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error("socket");
  if (connect(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
    Error e = errno_error("cannot connect to " + path);
    close(fd);
    return e;
  }
  return fd;
}

Result<int> try_connect_unix(const std::string& path, bool* would_block) {
  *would_block = false;
  auto addr = unix_address(path);
  if (!addr) return addr.error();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error("socket");
  if (connect(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
    // A unix socket connects at once or not at all: EAGAIN is a full backlog.
    *would_block = errno == EAGAIN || errno == EINPROGRESS;
    Error e = errno_error("cannot connect to " + path);
    close(fd);
    return e;
  }
  return fd;
}

int64_t peer_uid(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
  return cred.uid;
}

std::vector<AgentSocket> discover(const std::string& dir) {
  std::vector<AgentSocket> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".sock") != 0) continue;
    std::string digits = name.substr(0, name.size() - 5);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit) || digits.size() > 9)
      continue;
    pid_t pid = static_cast<pid_t>(std::stol(digits));
    std::string path = dir + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;  // not an agent's
    if (kill(pid, 0) != 0 && errno == ESRCH) {
      remove_own_socket(path);  // the process is gone: a stale socket (if it is ours)
      continue;
    }
    out.push_back({pid, path});
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const AgentSocket& a, const AgentSocket& b) { return a.pid < b.pid; });
  return out;
}

std::string frame(std::string_view payload) {
  std::string out;
  out.reserve(4 + payload.size());
  uint32_t n = static_cast<uint32_t>(payload.size());
  out += static_cast<char>(n >> 24);
  out += static_cast<char>(n >> 16);
  out += static_cast<char>(n >> 8);
  out += static_cast<char>(n);
  out += payload;
  return out;
}

Result<bool> FrameReader::next(std::string* out) {
  if (buffered() < 4) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + start_);
  size_t n = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | size_t{p[3]};
  if (n > max_frame_) {
    return Error("frame of " + std::to_string(n) + " bytes is over the limit of " +
                 std::to_string(max_frame_));
  }
  if (buffered() < 4 + n) {
    buffer_.reserve(start_ + 4 + n);  // exactly: appending would double it
    return false;
  }
  out->assign(buffer_, start_ + 4, n);
  start_ += 4 + n;
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
    if (buffer_.capacity() > kKeptCapacity) std::string().swap(buffer_);  // give a large frame's memory back
  } else if (start_ > 65536 && start_ * 2 > buffer_.size()) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  return true;
}

Status write_frame(int fd, std::string_view payload) {
  std::string bytes = frame(payload);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write");
    }
    done += static_cast<size_t>(n);
  }
  return Status();
}

Status write_all_for(int fd, std::string_view bytes, int timeout_ms) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return errno_error("write");
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return Error("timed out writing");
  }
  return Status();
}

Result<std::string> read_frame(int fd, FrameReader& reader, int timeout_ms) {
  std::string out;
  for (;;) {
    auto got = reader.next(&out);
    if (!got) return got.error();
    if (*got) return out;
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_error("poll");
    if (r == 0) return Error("timed out");
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read");
    if (n == 0) return Error("connection closed");
    reader.feed(buf, static_cast<size_t>(n));
  }
}

}  // namespace pivot::transport
