// `pivot serve`: runs serve::Server until SIGINT or SIGTERM.
#include <signal.h>

#include <iostream>
#include <thread>

#include "remote.h"
#include "transport/local.h"

namespace pivot::cli {

namespace {

// "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:80" -> host, port.
Result<std::pair<std::string, int>> parse_listen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Error("--listen must be HOST:PORT, e.g. 127.0.0.1:9464");
  std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535) return Error("--listen: bad port '" + port + "'");
  return std::make_pair(host, static_cast<int>(p));
}

}  // namespace

int cmd_serve(serve::ServeOptions options, const std::string& listen) {
  auto where = parse_listen(listen);
  if (!where) {
    std::cerr << "pivot: " << where.error().message() << "\n";
    return 2;  // a bad --listen is a usage error
  }
  options.host = where->first;
  options.port = where->second;
  if (options.state_path.empty()) {
    // Beside the agents' sockets: a directory only this user can use.
    if (auto s = transport::ensure_runtime_dir(options.runtime_dir); !s) {
      std::cerr << "pivot: " << s.error().message() << "\n";
      return 1;
    }
    options.state_path = options.runtime_dir + "/serve-state.json";
  }
  // Signals go to one thread that waits for them; every other thread,
  // started after this, has them blocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto server = serve::Server::open(options);
  if (!server) {
    std::cerr << "pivot: " << server.error().message() << "\n";
    return 1;
  }
  std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  std::cerr << "pivot serve: listening on http://" << host << ":" << (*server)->port() << " ("
            << options.transport << "); " << (*server)->restored() << " queries restored from "
            << options.state_path << std::endl;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    (*server)->stop();
  });
  (*server)->run();
  // run() also ends if the socket fails: wake the waiter then.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  server->reset();  // stops the queries: the agents drop them; the state file keeps them
  std::cerr << "pivot serve: stopped" << std::endl;
  return 0;
}

}  // namespace pivot::cli
