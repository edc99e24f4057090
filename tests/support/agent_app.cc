// A small process with a pivot agent, for integration tests. It reads
// commands from stdin, one per line:
//   fire N     fire "App.request" N times (bytes = 1..N), each in its own
//              causal execution after "App.client" packs its procName
//   exit       stop the agent and exit
// and answers each with "ok" on stdout.
#include <iostream>
#include <string>

#include "pivot/agent.h"
#include "pivot/baggage.h"
#include "pivot/tracepoint.h"

namespace {

void client(const std::string& app) { PIVOT_TRACEPOINT("App.client", app); }
void request(int64_t bytes) { PIVOT_TRACEPOINT("App.request", bytes); }

}  // namespace

int main() {
  if (auto s = pivot::Agent::start(); !s) {
    std::cerr << "agent_app: " << s.error().message() << "\n";
    return 1;
  }
  std::cout << "ready" << std::endl;
  std::string cmd;
  while (std::cin >> cmd) {
    if (cmd == "fire") {
      int64_t n = 0;
      std::cin >> n;
      for (int64_t i = 1; i <= n; ++i) {
        pivot::baggage::Scope scope{pivot::Baggage()};
        client("app-" + std::to_string(i % 2));
        request(i);
      }
    } else if (cmd == "exit") {
      break;
    }
    std::cout << "ok" << std::endl;
  }
  pivot::Agent::stop();
  return 0;
}
