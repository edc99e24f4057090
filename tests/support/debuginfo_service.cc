// A program built like a service (-O2 -g, tests/CMakeLists.txt) that never
// linked pivot, for debuginfo_cli_test.cc: the code of
// debuginfo_subject.inc (namespace svc, in debuginfo_svc.cc: calls from here
// are calls, as between a service's files), driven from stdin, one command a
// line, each answered with "ok":
//   run N   for k = 1..N: Counter::add(k, 2), Store::put(k odd ? "odd" : "even", k),
//           orders(k, 2.0, k) and scale_both(k, 2k)
//   exit    exits
#include <iostream>

#define DEBUGINFO_NS svc
// clang-format off: the namespace must be defined before the header
#include "debuginfo_subject.h"
// clang-format on

int main() {
  std::cout << "ready" << std::endl;
  svc::Counter counter;
  svc::Store store;
  std::string cmd;
  double sink = 0;
  while (std::cin >> cmd) {
    if (cmd == "run") {
      int64_t n = 0;
      std::cin >> n;
      for (int64_t k = 1; k <= n; ++k) {
        counter.add(k, 2);
        store.put(k % 2 ? "odd" : "even", k);
        sink += svc::orders(k, 2.0, k) + static_cast<double>(svc::scale_both(k, 2 * k));
      }
    } else if (cmd == "exit") {
      break;
    }
    std::cout << "ok" << std::endl;
  }
  return sink < 0 ? 1 : 0;
}
