#include "core/fork.h"

#include <pthread.h>

#include <atomic>

namespace pivot::internal {
namespace {

constexpr int kCount = static_cast<int>(ForkOrder::kCount);
constinit std::atomic<bool> g_added[kCount] = {};
constinit ForkHandler g_handlers[kCount] = {};
// The handlers whose prepare ran for the fork under way (one at a time: this
// is set under their locks), so that one added meanwhile is not given back
// locks it never took.
constinit bool g_prepared[kCount] = {};

void prepare() noexcept {
  for (int i = 0; i < kCount; ++i) {
    if (!g_added[i].load(std::memory_order_acquire)) continue;
    g_handlers[i].prepare();
    g_prepared[i] = true;
  }
}

template <void (*ForkHandler::*after)() noexcept>
void release() noexcept {
  for (int i = kCount - 1; i >= 0; --i) {
    if (!g_prepared[i]) continue;
    g_prepared[i] = false;
    (g_handlers[i].*after)();
  }
}

void parent() noexcept { release<&ForkHandler::parent>(); }
void child() noexcept { release<&ForkHandler::child>(); }

}  // namespace

bool add_fork_handler(ForkOrder order, ForkHandler handler) noexcept {
  static const bool registered = pthread_atfork(&prepare, &parent, &child) == 0;
  int i = static_cast<int>(order);
  g_handlers[i] = handler;
  g_added[i].store(true, std::memory_order_release);
  return registered;
}

}  // namespace pivot::internal
