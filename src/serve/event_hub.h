// The fan-out behind /api/stream: managed queries publish their new
// intervals (and changes of state) here, and each connected Server-Sent
// Events client takes them from its own queue.
//
//   auto sub = hub.subscribe("seed");     // null when max_sse_clients are connected
//   while (auto text = hub.next(*sub, 15000)) send(*text);   // "" on a quiet 15 s
//   hub.unsubscribe(sub);
//
// Bounded: at most max_sse_clients subscribers, each at most sse_backlog
// messages and sse_backlog_bytes behind; a client further behind is cut
// off (counted), so one slow browser never holds serve's memory.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "serve/limits.h"

namespace pivot::serve {

class EventHub {
 public:
  struct Subscriber {
    std::string query;  // "" for every query
    std::deque<std::string> queue;
    size_t queued_bytes = 0;
    bool cut_off = false;
  };

  EventHub(const ServeLimits& limits, LimitCounters* counters) : limits_(limits), counters_(counters) {}

  // A new subscriber to `query`'s messages ("" for all), or null when the
  // limit of clients is reached (counted).
  std::shared_ptr<Subscriber> subscribe(const std::string& query);
  void unsubscribe(const std::shared_ptr<Subscriber>& s);
  // One SSE message (`event: TYPE`, `data: JSON`) to the subscribers of `query`.
  void publish(const std::string& query, const std::string& type, const std::string& json);
  // The next message, as SSE text; "" after timeout_ms without one (send a
  // keep-alive); nullopt when the subscriber is cut off or the hub closed.
  std::optional<std::string> next(Subscriber& s, int timeout_ms);
  // Ends every stream: serve is stopping.
  void close();
  size_t clients() const;

 private:
  const ServeLimits limits_;
  LimitCounters* counters_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Subscriber>> subs_;
  bool closed_ = false;
};

}  // namespace pivot::serve
