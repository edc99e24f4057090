// One query that `pivot serve` runs for its operators: a worker thread that
// owns a Frontend (which is single-threaded) and publishes each interval to
// a bounded window, to the stream clients and to /metrics.
//
//   ManagedQuery q(spec, make_link, limits, &counters, &hub);
//   q.start(/*retry=*/false);
//   q.wait_settled(15000);   // kRunning, or kFailed with error() at line:column
//   q.status();              // a copy of everything handlers show
//   q.stop();                // flushes the agents, uninstalls, final total
//
// The total is the query's since it last started (install, resume, or a
// restart of serve): agents aggregate from their install on. Pausing
// uninstalls the advice from every agent (no cost left in the system) and
// keeps the window; resuming installs it again.
//
// Thread safety: status(), window() and the counters may be called from any
// thread and never wait on agents; start/pause/resume/stop are serialised
// among themselves and wait for the worker (at most an install, 10 s, or a
// final flush, 2 s).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "frontend/columns.h"
#include "frontend/frontend.h"
#include "otlp/http_exporter.h"
#include "pivot/result_table.h"
#include "serve/event_hub.h"
#include "serve/limits.h"
#include "serve/link_factory.h"
#include "serve/query_spec.h"

namespace pivot::serve {

enum class QueryState {
  kStarting,  // the worker is installing
  kRunning,
  kRetrying,  // the install failed (no agents yet?); tried again every few seconds
  kFailed,    // the install failed and will not be tried again
  kPaused,
  kStopped,
};
// "starting", "running", "retrying", "failed", "paused", "stopped".
const char* state_name(QueryState s);

struct QueryEvent {
  int64_t time_ms = 0;
  std::string text;
};

// What the API and /metrics show of a query, copied out under its lock.
struct QueryStatus {
  QuerySpec spec;
  QueryState state = QueryState::kStarting;
  Error error;                            // of the last failed install (line:column for query text)
  std::vector<std::string> notes;         // what the last install said (agents that refused, skipped)
  std::vector<frontend::Column> columns;  // empty until the query compiled
  ResultTable total;
  int agents = 0;
  int64_t started_ms = 0;  // wall clock of the last successful install
  int64_t install_ms = 0;
  int64_t intervals = 0;          // since started_ms
  int64_t lost_reports = 0;       // since started_ms
  std::deque<QueryEvent> events;  // the most recent max_events
  size_t window_intervals = 0;
  size_t window_bytes = 0;
};

class ManagedQuery {
 public:
  // otlp, if not null, gets each interval's total as OTLP metrics.
  ManagedQuery(QuerySpec spec, LinkFactory make_link, const ServeLimits& limits, LimitCounters* counters,
               EventHub* hub, otlp::HttpExporter* otlp = nullptr);
  ~ManagedQuery();
  ManagedQuery(const ManagedQuery&) = delete;
  ManagedQuery& operator=(const ManagedQuery&) = delete;

  const std::string& name() const { return name_; }
  // Starts the worker (unless the spec is paused). With `retry`, a failed
  // install is tried again every kRetryMs until it works or stop().
  void start(bool retry);
  // Waits until the first install has succeeded or failed, at most timeout_ms.
  QueryState wait_settled(int timeout_ms);
  void pause();
  void resume();
  // Stops for good: the final total (after the agents' last reports).
  QueryStatus stop();
  // Tells the worker to stop without waiting for it: stopping many queries
  // at once then takes one flush, not one per query. stop() still waits.
  void request_stop();

  QueryStatus status() const;
  QuerySpec spec() const;
  // The window's intervals newer than since_ms, oldest first, each a JSON
  // object: {"time","agents","interval":TABLE,"lost","events","incomplete","dropped"}.
  std::vector<std::string> window(int64_t since_ms) const;

  static constexpr int kRetryMs = 3000;
  static constexpr int kFinishMs = 2000;

 private:
  void run(bool retry);
  void set_state(QueryState s, const Error* error = nullptr);
  // Tells the stream clients (mu_ not held).
  void publish_state(QueryState s, const Error* error);
  void on_installed(frontend::Frontend& fe, std::vector<std::string> notes);
  void publish(const frontend::Snapshot& s);
  void evict_window(int64_t now_ms);  // mu_ held
  void stop_worker();                 // control_mu_ held

  const std::string name_;
  const LinkFactory make_link_;
  const ServeLimits limits_;
  LimitCounters* const counters_;
  otlp::HttpExporter* const otlp_;
  EventHub* const hub_;

  std::mutex control_mu_;  // start/pause/resume/stop
  std::thread worker_;
  std::atomic<bool> stop_{false};
  std::condition_variable stop_cv_;  // wakes a retry wait

  mutable std::mutex mu_;  // everything below
  std::condition_variable settled_cv_;
  bool settled_ = false;
  QueryStatus status_;
  struct Record {
    int64_t time_ms;
    std::string json;
  };
  std::deque<Record> window_;
};

}  // namespace pivot::serve
