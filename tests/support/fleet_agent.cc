// The lightweight process of the fleet scale test (fleet_scale_test.cc): an
// agent and one tracepoint, nothing else. Commands on stdin, one per line:
//   fire N   fire "Fleet.work" N times and print "observed COUNT SUM", what
//            this process has fired so far (its own ground truth)
//   exit     stop the agent and exit
#include <unistd.h>

#include <iostream>
#include <string>

#include "pivot/agent.h"
#include "pivot/tracepoint.h"

namespace {

void work(int64_t value) { PIVOT_TRACEPOINT("Fleet.work", value); }

}  // namespace

int main() {
  if (auto s = pivot::Agent::start(); !s) {
    std::cerr << "fleet_agent: " << s.error().message() << "\n";
    return 1;
  }
  std::cout << "ready" << std::endl;
  int64_t count = 0, sum = 0;
  std::string cmd;
  while (std::cin >> cmd) {
    if (cmd == "fire") {
      int64_t n = 0;
      std::cin >> n;
      for (int64_t i = 0; i < n; ++i) {
        int64_t value = (getpid() * 31 + i) % 1000;
        work(value);
        ++count;
        sum += value;
      }
      std::cout << "observed " << count << " " << sum << std::endl;
    } else if (cmd == "exit") {
      break;
    }
  }
  pivot::Agent::stop();
  return 0;
}
