// The agents and tracepoints `pivot serve` shows, found again every few
// seconds by a thread of their own: an HTTP request reads the last answer
// and never waits on an agent, however slow or many they are.
//
//   AgentCache cache(make_link, 2000);
//   cache.start();
//   auto view = cache.get();   // never null; empty before the first discovery
//
// Thread safety: get() from any thread; start() and stop() from one.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "frontend/link.h"
#include "serve/link_factory.h"

namespace pivot::serve {

class AgentCache {
 public:
  struct View {
    int64_t updated_ms = 0;  // wall clock of the discovery; 0 before the first
    std::vector<frontend::AgentInfo> agents;
    std::vector<std::string> notes;  // agents that did not answer, a runtime dir that is not there
    planner::Catalog catalog;        // the union of the agents' tracepoints
    std::map<std::string, std::set<std::string>> processes;  // tracepoint -> procNames that have it
  };

  AgentCache(LinkFactory make_link, int64_t refresh_ms)
      : make_link_(std::move(make_link)), refresh_ms_(refresh_ms) {}
  ~AgentCache() { stop(); }

  // Discovers once (so the first requests have an answer), then every refresh_ms.
  void start();
  void stop();
  std::shared_ptr<const View> get() const;

 private:
  void refresh(std::unique_ptr<frontend::Link>& link);

  const LinkFactory make_link_;
  const int64_t refresh_ms_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::shared_ptr<const View> view_ = std::make_shared<View>();
  std::thread thread_;
};

}  // namespace pivot::serve
