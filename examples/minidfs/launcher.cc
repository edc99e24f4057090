#include "launcher.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <thread>

#include "nlohmann/json.hpp"
#include "process.h"

namespace minidfs {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

enum class Role { kNameNode, kDataNode, kClient };

struct Child {
  Role role;
  std::string name;  // its host: nn, dn1, client1
  std::string proc_name;
  pid_t pid = 0;
  bool exited = false;
  int status = 0;
  std::string address;     // servers
  std::string truth_file;  // clients
};

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

class Cluster {
 public:
  explicit Cluster(ClusterOptions options) : o_(std::move(options)) {}

  int run() {
    block_stop_signals();
    if (auto s = prepare(); !s) return fail(s.error().message());
    if (auto s = start_all(); !s) {
      shutdown();
      return fail(s.error().message());
    }
    write_ready();
    int rc = supervise();
    if (!shutdown()) rc = 1;
    say("minidfs: stopped");
    if (rc == 0 && temporary_run_dir_ && !o_.keep_run_dir) {
      std::error_code ec;
      fs::remove_all(o_.run_dir, ec);
    } else if (rc != 0) {
      std::fprintf(stderr, "minidfs: logs are in %s\n", o_.run_dir.c_str());
    }
    return rc;
  }

 private:
  int fail(const std::string& message) {
    std::fprintf(stderr, "minidfs: %s\n", message.c_str());
    if (!o_.run_dir.empty()) std::fprintf(stderr, "minidfs: logs are in %s\n", o_.run_dir.c_str());
    return 1;
  }

  pivot::Status prepare() {
    if (o_.image.datanodes < 1) return pivot::Error("--datanodes must be at least 1");
    if (o_.clients < 0) return pivot::Error("--clients must not be negative");
    if (o_.proc_names.empty()) return pivot::Error("--proc-names must name at least one application");
    exe_ = self_executable();
    if (exe_.empty()) return pivot::Error("cannot find this executable (/proc/self/exe)");
    std::error_code ec;
    if (o_.run_dir.empty()) {
      std::string tmpl = (fs::temp_directory_path() / "minidfs-XXXXXX").string();
      if (::mkdtemp(tmpl.data()) == nullptr) return pivot::Error("mkdtemp failed");
      o_.run_dir = tmpl;
      temporary_run_dir_ = true;
    }
    fs::create_directories(o_.run_dir, ec);
    if (ec) return pivot::Error("cannot create " + o_.run_dir + ": " + ec.message());
    for (const std::string& dir : {o_.truth_dir, o_.span_dir}) {
      if (dir.empty()) continue;
      fs::create_directories(dir, ec);
      if (ec) return pivot::Error("cannot create " + dir + ": " + ec.message());
    }
    if (!o_.runtime_dir.empty() && !fs::exists(o_.runtime_dir)) {
      fs::create_directories(o_.runtime_dir, ec);
      ::chmod(o_.runtime_dir.c_str(), 0700);
    }
    // Files of an earlier run in the same directory would fake readiness.
    for (const auto& entry : fs::directory_iterator(o_.run_dir, ec)) {
      auto ext = entry.path().extension();
      if (ext == ".port" || ext == ".ready" || ext == ".done") fs::remove(entry.path(), ec);
    }
    say("minidfs: run dir " + o_.run_dir);
    return pivot::Status::Ok();
  }

  std::string path(const std::string& name) const { return (fs::path(o_.run_dir) / name).string(); }

  std::vector<std::string> image_flags() const {
    return {"--seed",        std::to_string(o_.image.seed),
            "--files",       std::to_string(o_.image.files),
            "--datanodes",   std::to_string(o_.image.datanodes),
            "--replication", std::to_string(o_.image.replication),
            "--block-size",  std::to_string(o_.image.block_size),
            "--max-blocks",  std::to_string(o_.image.max_blocks)};
  }

  pivot::Status spawn(Child child, std::vector<std::string> args) {
    ChildSpec spec;
    spec.argv = {exe_};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = {"PIVOT_HOST=" + child.name, "PIVOT_PROCNAME=" + child.proc_name};
    if (!o_.runtime_dir.empty()) spec.env.push_back("PIVOT_RUNTIME_DIR=" + o_.runtime_dir);
    if (o_.span_freq > 0 || !o_.span_dir.empty()) {
      spec.argv.insert(spec.argv.end(), {"--span-freq", std::to_string(o_.span_freq > 0 ? o_.span_freq : 1)});
    }
    if (!o_.span_dir.empty()) {
      spec.argv.insert(spec.argv.end(),
                       {"--span-file", (fs::path(o_.span_dir) / (child.name + ".spans.jsonl")).string()});
    }
    spec.log_path = path(child.name + ".log");
    auto pid = spawn_child(spec);
    if (!pid) return pid.error();
    child.pid = *pid;
    children_.push_back(std::move(child));
    return pivot::Status::Ok();
  }

  pivot::Status start_all() {
    // Namenode.
    std::vector<std::string> args = {"namenode",
                                     "--port-file",
                                     path("nn.port"),
                                     "--stats-file",
                                     path("nn.stats.json"),
                                     "--host",
                                     std::string(kNameNodeHost)};
    for (auto& f : image_flags()) args.push_back(f);
    if (o_.fixed_replica_order) args.push_back("--fixed-replica-order");
    if (auto s = spawn({Role::kNameNode, std::string(kNameNodeHost), "NameNode"}, args); !s) return s;
    if (auto s = wait_ports(Role::kNameNode); !s) return s;
    std::string nn_address = children_[0].address;
    say("minidfs: namenode " + children_[0].name + " at " + nn_address + " (pid " +
        std::to_string(children_[0].pid) + ")");

    // Datanodes: each registers with the namenode before it writes its port.
    for (int i = 1; i <= o_.image.datanodes; ++i) {
      std::string host = datanode_host(i);
      std::vector<std::string> a = {"datanode",
                                    "--index",
                                    std::to_string(i),
                                    "--namenode",
                                    nn_address,
                                    "--port-file",
                                    path(host + ".port"),
                                    "--stats-file",
                                    path(host + ".stats.json"),
                                    "--threads",
                                    std::to_string(o_.datanode_threads)};
      for (auto& f : image_flags()) a.push_back(f);
      if (auto s = spawn({Role::kDataNode, host, "DataNode"}, a); !s) return s;
    }
    if (auto s = wait_ports(Role::kDataNode); !s) return s;
    for (const Child& c : children_) {
      if (c.role == Role::kDataNode) {
        say("minidfs: datanode " + c.name + " at " + c.address + " (pid " + std::to_string(c.pid) + ")");
      }
    }

    // Clients.
    for (int i = 1; i <= o_.clients; ++i) {
      std::string host = "client" + std::to_string(i);
      std::string proc = o_.proc_names[static_cast<size_t>(i - 1) % o_.proc_names.size()];
      std::vector<std::string> a = {"client",
                                    "--index",
                                    std::to_string(i),
                                    "--host",
                                    host,
                                    "--proc-name",
                                    proc,
                                    "--namenode",
                                    nn_address,
                                    "--ops",
                                    std::to_string(o_.ops),
                                    "--duration",
                                    std::to_string(o_.duration_s),
                                    "--rate",
                                    std::to_string(o_.rate),
                                    "--start-delay-ms",
                                    std::to_string(o_.start_delay_ms),
                                    "--ready-file",
                                    path(host + ".ready"),
                                    "--done-file",
                                    path(host + ".done"),
                                    "--stats-file",
                                    path(host + ".stats.json")};
      for (auto& f : image_flags()) a.push_back(f);
      std::string truth;
      if (!o_.truth_dir.empty()) {
        truth = (fs::path(o_.truth_dir) / (host + ".json")).string();
        a.insert(a.end(), {"--truth-file", truth});
      }
      if (!o_.go_file.empty()) a.insert(a.end(), {"--go-file", o_.go_file});
      if (o_.fixed_replica_order) a.push_back("--fixed-replica-order");
      if (o_.stay) a.push_back("--stay");
      Child c{Role::kClient, host, proc};
      c.truth_file = truth;
      if (auto s = spawn(c, a); !s) return s;
    }
    auto all_ready = [&] {
      for (const Child& c : children_) {
        if (c.role == Role::kClient && !file_exists(path(c.name + ".ready"))) return false;
      }
      return true;
    };
    if (auto s = wait_until(all_ready, "clients to get ready"); !s) return s;
    for (const Child& c : children_) {
      if (c.role == Role::kClient) {
        say("minidfs: client " + c.name + " (" + c.proc_name + ", pid " + std::to_string(c.pid) + ")");
      }
    }
    return pivot::Status::Ok();
  }

  pivot::Status wait_ports(Role role) {
    auto ready = [&] {
      for (Child& c : children_) {
        if (c.role != role || !c.address.empty()) continue;
        std::string port = read_text_file(path(c.name + ".port"));
        while (!port.empty() && (port.back() == '\n' || port.back() == ' ')) port.pop_back();
        if (port.empty()) return false;
        c.address = "127.0.0.1:" + port;
      }
      return true;
    };
    return wait_until(ready,
                      role == Role::kNameNode ? "the namenode to listen" : "the datanodes to register");
  }

  // Polls pred; fails if a child exits, a stop signal arrives or time runs out.
  pivot::Status wait_until(const std::function<bool()>& pred, const std::string& what) {
    auto deadline = Clock::now() + std::chrono::milliseconds(o_.startup_timeout_ms);
    while (!pred()) {
      reap();
      for (const Child& c : children_) {
        // A client with few ops may finish before the others are ready.
        bool finished = c.role == Role::kClient && WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0 &&
                        file_exists(path(c.name + ".done"));
        if (c.exited && !finished) {
          return pivot::Error(c.name + " exited (" + describe_status(c.status) + ") while waiting for " +
                              what + "; see " + path(c.name + ".log"));
        }
      }
      if (wait_stop_signal(10)) return pivot::Error("stopped while waiting for " + what);
      if (Clock::now() > deadline) return pivot::Error("timed out waiting for " + what);
    }
    return pivot::Status::Ok();
  }

  void reap() {
    for (Child& c : children_) {
      if (c.exited) continue;
      int status = 0;
      if (::waitpid(c.pid, &status, WNOHANG) == c.pid) {
        c.exited = true;
        c.status = status;
      }
    }
  }

  void write_ready() {
    nlohmann::json j = {{"run_dir", o_.run_dir},
                        {"runtime_dir", o_.runtime_dir},
                        {"truth_dir", o_.truth_dir},
                        {"go_file", o_.go_file}};
    nlohmann::json dns = nlohmann::json::array(), clients = nlohmann::json::array();
    for (const Child& c : children_) {
      nlohmann::json e = {{"host", c.name}, {"procName", c.proc_name}, {"pid", c.pid}};
      if (c.role == Role::kNameNode)
        j["namenode"] = {{"host", c.name}, {"address", c.address}, {"pid", c.pid}};
      if (c.role == Role::kDataNode)
        dns.push_back({{"host", c.name}, {"address", c.address}, {"pid", c.pid}});
      if (c.role == Role::kClient) {
        e["truth_file"] = c.truth_file;
        clients.push_back(e);
      }
    }
    j["datanodes"] = dns;
    j["clients"] = clients;
    if (!o_.ready_file.empty()) {
      if (auto s = write_file_atomically(o_.ready_file, j.dump(1) + "\n"); !s) {
        std::fprintf(stderr, "minidfs: %s\n", s.error().message().c_str());
      }
    }
    say("ready");
  }

  // Runs until the clients finish (without --stay) or a stop signal. Returns
  // the exit status so far.
  int supervise() {
    bool announced = false;
    for (;;) {
      if (wait_stop_signal(20)) return 0;
      reap();
      bool all_done = true;
      for (const Child& c : children_) {
        bool done = c.role == Role::kClient && file_exists(path(c.name + ".done"));
        if (c.exited &&
            (c.role != Role::kClient || !done || !WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0)) {
          std::fprintf(stderr, "minidfs: %s exited unexpectedly (%s); see %s\n", c.name.c_str(),
                       describe_status(c.status).c_str(), path(c.name + ".log").c_str());
          return 1;
        }
        if (c.role == Role::kClient && !done) all_done = false;
      }
      if (all_done && !announced) {
        announced = true;
        int rc = 0;
        for (const Child& c : children_) {
          if (c.role == Role::kClient && read_text_file(path(c.name + ".done")) != "ok\n") rc = 1;
        }
        if (!o_.done_file.empty()) (void)write_file_atomically(o_.done_file, rc == 0 ? "ok\n" : "failed\n");
        say("done");
        if (rc != 0 || !o_.stay) return rc;
      }
    }
  }

  // Stops clients, then datanodes, then the namenode. False if one of them
  // did not stop cleanly.
  bool shutdown() {
    bool clean = true;
    for (Role role : {Role::kClient, Role::kDataNode, Role::kNameNode}) {
      for (Child& c : children_) {
        if (c.role == role && !c.exited) ::kill(c.pid, SIGTERM);
      }
      auto deadline = Clock::now() + std::chrono::seconds(10);
      for (;;) {
        reap();
        bool alive = false;
        for (const Child& c : children_) alive = alive || (c.role == role && !c.exited);
        if (!alive) break;
        if (Clock::now() > deadline) {
          for (Child& c : children_) {
            if (c.role == role && !c.exited) ::kill(c.pid, SIGKILL);
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      for (const Child& c : children_) {
        if (c.role == role && !(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0)) {
          std::fprintf(stderr, "minidfs: %s ended with %s; see %s\n", c.name.c_str(),
                       describe_status(c.status).c_str(), path(c.name + ".log").c_str());
          clean = false;
        }
      }
    }
    return clean;
  }

  ClusterOptions o_;
  std::string exe_;
  bool temporary_run_dir_ = false;
  std::vector<Child> children_;
};

}  // namespace

int run_cluster(ClusterOptions options) { return Cluster(std::move(options)).run(); }

}  // namespace minidfs
