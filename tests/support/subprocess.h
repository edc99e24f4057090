// Child processes for integration tests: spawn with pipes, talk line by
// line with timeouts, signal, wait. Header-only; Linux.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace pivot::testing {

class Subprocess {
 public:
  // argv[0] is the program path; env entries "K=V" are added to ours.
  Subprocess(std::vector<std::string> argv, std::vector<std::string> env = {}) {
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      for (const auto& e : env) putenv(strdup(e.c_str()));
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
  }
  ~Subprocess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      wait();
    }
    for (int fd : {in_, out_, err_}) {
      if (fd >= 0) close(fd);
    }
  }

  pid_t pid() const { return pid_; }
  int stdout_fd() const { return out_; }  // the read end of its stdout
  void write(const std::string& s) { (void)!::write(in_, s.data(), s.size()); }
  void close_stdin() {
    close(in_);
    in_ = -1;
  }
  // As a reader that goes away does (`pivot ... | head -1`).
  void close_stdout() {
    close(out_);
    out_ = -1;
  }
  // The next line of stdout (or stderr), without '\n'; nullopt on EOF or
  // timeout.
  std::optional<std::string> line(int timeout_ms = 10000) { return read_line(out_, out_buf_, timeout_ms); }
  std::optional<std::string> err_line(int timeout_ms = 10000) {
    return read_line(err_, err_buf_, timeout_ms);
  }
  // Reads stderr lines until one contains `needle`; all lines read are kept.
  bool wait_err(const std::string& needle, int timeout_ms = 10000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < end) {
      auto l = err_line(static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now())
              .count()));
      if (!l) return false;
      err_lines_.push_back(*l);
      if (l->find(needle) != std::string::npos) return true;
    }
    return false;
  }
  // Everything left on stdout until EOF.
  std::vector<std::string> rest(int timeout_ms = 10000) {
    std::vector<std::string> out;
    while (auto l = line(timeout_ms)) out.push_back(*l);
    return out;
  }
  std::vector<std::string> rest_err(int timeout_ms = 10000) {
    std::vector<std::string> out = err_lines_;
    while (auto l = err_line(timeout_ms)) out.push_back(*l);
    return out;
  }
  void signal(int sig) { kill(pid_, sig); }
  // The exit status if the process ends within timeout_ms; nullopt (and
  // it is left running) if not.
  std::optional<int> wait_for(int timeout_ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!exited_) {
      if (waitpid(pid_, &status_, WNOHANG) == pid_) {
        exited_ = true;
        break;
      }
      if (std::chrono::steady_clock::now() >= end) return std::nullopt;
      usleep(10'000);
    }
    return status_;
  }
  // Exit status (as from waitpid), once.
  int wait() {
    if (!exited_) {
      waitpid(pid_, &status_, 0);
      exited_ = true;
    }
    return status_;
  }

 private:
  static std::optional<std::string> read_line(int fd, std::string& buf, int timeout_ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      size_t nl = buf.find('\n');
      if (nl != std::string::npos) {
        std::string l = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        return l;
      }
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now())
              .count());
      if (left <= 0) return std::nullopt;
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, left) <= 0) return std::nullopt;
      char tmp[4096];
      ssize_t n = ::read(fd, tmp, sizeof tmp);
      if (n <= 0) {
        if (buf.empty()) return std::nullopt;
        std::string l = std::move(buf);
        buf.clear();
        return l;
      }
      buf.append(tmp, static_cast<size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string out_buf_, err_buf_;
  std::vector<std::string> err_lines_;
  int status_ = 0;
  bool exited_ = false;
};

}  // namespace pivot::testing
