// A program that knows nothing of pivot, for the LD_PRELOAD tests. It reads
// commands from stdin, one per line, and answers each with "ok":
//   serve N    calls plain::serve(i, client) for i = 1..N, client "odd" or
//              "even" by i's parity
//   exit       exits
#include <cstdint>
#include <iostream>
#include <string>

// Keeps calls to a function real calls: no inlining, and under GCC no
// cloning either (noclone; clang has no such attribute). Not noipa: GCC's
// interprocedural register allocation stays on, as in the code users hook.
#if defined(__clang__)
#define OPAQUE_FN [[gnu::noinline]]
#else
#define OPAQUE_FN [[gnu::noinline, gnu::noclone]]
#endif

namespace plain {

int64_t g_total = 0;
size_t g_last_client = 0;

// noinline (and GCC's noclone): calls stay real calls.
OPAQUE_FN int64_t serve(int64_t bytes, const std::string& client) {
  g_total += bytes;
  g_last_client = client.size();
  return g_total;
}

}  // namespace plain

int main() {
  std::cout << "ready" << std::endl;
  std::string cmd;
  while (std::cin >> cmd) {
    if (cmd == "serve") {
      int64_t n = 0;
      std::cin >> n;
      for (int64_t i = 1; i <= n; ++i) plain::serve(i, i % 2 ? "odd" : "even");
    } else if (cmd == "exit") {
      break;
    }
    std::cout << "ok" << std::endl;
  }
  return 0;
}
