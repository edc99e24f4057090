// The managed queries of `pivot serve`, by name, and their state file.
//
//   QueryManager m(make_link, limits, &counters, &hub, state_path);
//   m.restore();                       // the state file's queries, installing in the background
//   auto q = m.add(spec, &http_status); // installs; fails with the install's error
//   m.remove("seed");                  // flushes and uninstalls; the final total
//
// Every change is written to the state file before it is answered, so a
// serve that restarts has what its operators last saw.
//
// Thread safety: every method may be called from any thread. The map's lock
// is never held while a query installs or flushes.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "serve/managed_query.h"

namespace pivot::serve {

class QueryManager {
 public:
  // otlp, if not null, gets every query's intervals as OTLP metrics.
  QueryManager(LinkFactory make_link, const ServeLimits& limits, LimitCounters* counters, EventHub* hub,
               std::string state_path, otlp::HttpExporter* otlp = nullptr);
  ~QueryManager();

  // Starts the state file's queries; each retries until agents take it.
  // Returns how many there were.
  Result<size_t> restore();
  // Installs a new query and waits for the outcome (at most install_wait_ms;
  // a query still installing then is kept and reported "starting"). On
  // failure *http_status says why: 400 bad spec, 409 name taken, 422 the
  // install failed (query text, no agents), 429 too many queries.
  Result<std::shared_ptr<ManagedQuery>> add(const QuerySpec& spec, int* http_status);
  std::shared_ptr<ManagedQuery> find(const std::string& name) const;
  std::vector<std::shared_ptr<ManagedQuery>> all() const;
  // Stops and forgets it; its final status. Null when there is none.
  std::unique_ptr<QueryStatus> remove(const std::string& name);
  // Pauses or resumes it, and remembers that; false when there is no such query.
  bool set_paused(const std::string& name, bool paused);
  // Stops every worker (the agents drop the queries) but keeps the state
  // file: serve is stopping and will restore them when it starts again.
  void shutdown();
  const std::string& state_path() const { return state_path_; }
  // The last failure to write the state file, "" when the last write worked.
  std::string save_error() const;

  static constexpr int kInstallWaitMs = 15'000;  // an install takes at most 10 s (frontend/link.h)

 private:
  void save();

  const LinkFactory make_link_;
  const ServeLimits limits_;
  LimitCounters* const counters_;
  EventHub* const hub_;
  otlp::HttpExporter* const otlp_;
  const std::string state_path_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<ManagedQuery>> queries_;
  mutable std::mutex save_mu_;  // one writer of the state file at a time
  std::string save_error_;
};

}  // namespace pivot::serve
