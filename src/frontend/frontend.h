// The frontend: finds the agents of a system, installs a query into all of
// them, and merges their interval reports into one answer. The `pivot` CLI
// is a thin shell around it; tests drive it directly.
//
//   auto link = make_link(transport, transport::default_runtime_dir());  // link.h
//   Frontend fe(std::move(*link));
//   auto q = fe.start(text, {.interval_ms = 1000});
//   while (running) { Snapshot s = fe.next_interval(); print(s.total); }
//   Snapshot last = fe.finish();  // flushes every agent, then uninstalls
//
// The transport is a Link (local unix sockets or NATS); what the frontend
// does is the same on both. An agent that goes away mid-query is reported in
// Snapshot::events and the others go on; agents that appear later get the
// query too, and so do agents that lost it (a lease that lapsed while the
// network was down). Nothing waits for a slow agent: an interval ends on
// time with what has arrived. Missing reports (a gap in an agent's report
// sequence, a NATS outage) are reported as events, never silently skipped.
//
// Thread safety: use from one thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "aggregate/partial.h"
#include "frontend/link.h"
#include "pivot/result.h"
#include "pivot/result_table.h"
#include "planner/catalog.h"
#include "planner/planner.h"

namespace pivot::frontend {

struct QueryOptions {
  int64_t interval_ms = 1000;
  int64_t lease_ms = 0;  // 0: three intervals, and at least the install timeout (10 s) plus one
  std::string show;      // the named query of the text whose results snapshots carry; "" for the last
  // Groups each query holds per agent and interval, and in the merged
  // interval and total tables here; the agents get it in the install.
  uint32_t max_groups = aggregate::kDefaultMaxGroups;
  // How long an agent may go without answering the install or making
  // progress on it (Link::install).
  int64_t install_timeout_ms = kInstallTimeoutMs;
};

struct Snapshot {
  int64_t time_ms = 0;  // wall clock
  int agents = 0;       // agents with the query installed
  ResultTable interval;
  ResultTable total;
  // With a Limit, the interval's every row (for the live view's rates of
  // the total's rows, which may be outside the interval's first N); else empty.
  ResultTable interval_all;
  std::vector<std::string> events;  // "agent 42 (DataNode@dn1) lost: ..."
  int64_t lost_reports = 0;         // reports known missing (gaps in agents' sequences) since the last one
  bool final = false;               // from finish(): the last answer
};

// An agent none of whose reports has come for this long is reported silent
// (it may be stopped, swapped out or cut off); its rows are missing until
// it is heard from again. Two intervals, and at least two seconds: short
// intervals on a loaded machine are often late by a few hundred ms.
inline int64_t silent_after_ms(int64_t interval_ms) { return std::max<int64_t>(2 * interval_ms, 2000); }

class Frontend {
 public:
  // On the local transport, agents in runtime_dir.
  explicit Frontend(std::string runtime_dir);
  explicit Frontend(std::unique_ptr<Link> link);
  ~Frontend();
  Frontend(const Frontend&) = delete;
  Frontend& operator=(const Frontend&) = delete;

  // Every reachable agent, sorted by pid; unreachable ones are skipped with
  // a note in *notes.
  std::vector<AgentInfo> agents(std::vector<std::string>* notes = nullptr);
  std::string where() const { return link_->where(); }
  // The union of all agents' tracepoints.
  planner::Catalog catalog();
  // The advice the text compiles to against the agents' catalog; then, when
  // the text defines tracepoints, what each agent resolves them to: one line
  // per function (where each export is read from, and whether debug
  // information or the symbol table said so), under the agents it holds for.
  Result<std::string> explain(std::string_view text);
  // The functions `pattern` names in every agent's process (hook/functions.h),
  // as each agent answered the wire's `functions` question; agents that did
  // not answer are in *notes.
  std::vector<Link::Answer> functions(const std::string& pattern, int64_t limit,
                                      std::vector<std::string>* notes = nullptr);

  // Compiles against the agents' catalog and installs everywhere. Agents
  // that refuse it are reported as errors; an error is returned only when
  // the text does not compile or no agent accepted it.
  Result<std::vector<std::string>> start(std::string_view text, QueryOptions options);
  // next_interval() returns early once *flag is true (a Ctrl-C handler's).
  void set_interrupt(const std::atomic<bool>* flag) { interrupt_ = flag; }
  // next_interval() returns early at this time (steady clock, ms; 0: never),
  // however long the interval: `--duration` ends the query on time.
  void set_stop_at(int64_t steady_ms) { stop_at_ = steady_ms; }
  // How long start() took to install the query on the agents it found
  // (after discovering them), in ms.
  int64_t install_ms() const { return install_ms_; }
  // Agents that have the query installed and are still connected.
  int installed_agents() const;
  // The compiled query whose results snapshots carry (the last of the text
  // or --show's); null before start(). `pivot serve` reads its columns.
  const planner::QueryPlan* shown_query() const {
    return plan_.queries.empty() ? nullptr : &plan_.queries[shown_];
  }
  // Waits for the end of the current interval and returns what arrived.
  Snapshot next_interval();
  // Asks every agent for its last report, waits for them (at most
  // timeout_ms), uninstalls, and returns the final answer.
  Snapshot finish(int timeout_ms = 3000);

 private:
  struct Peer;
  wire::Json install_message(const planner::Catalog& extra) const;
  // Installs on `agents` (with `again`: agents that still have it confirm
  // it); returns the errors.
  std::vector<std::string> install(const std::vector<AgentInfo>& agents, bool everyone, bool again = false);
  // Uninstalls from every peer and from `also`, and forgets the query.
  void abandon(const std::vector<AgentInfo>& also);
  Peer* find(const std::string& key);
  void pump(int64_t deadline_ms, bool until_finals);
  void on_event(const LinkEvent& e);
  void handle(const std::string& key, const std::string& payload);
  void handle_message(const std::string& key, const std::string& payload);
  void lose(Peer& p, const std::string& why);
  void check_silent();
  Snapshot snapshot(bool reset_interval);

  std::unique_ptr<Link> link_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::set<std::string> tried_;  // agents asked to install, whatever they answered
  planner::Catalog catalog_;     // the merged catalog the query was compiled with
  std::vector<std::string> events_;
  // The running query.
  std::string id_;
  std::string text_;
  QueryOptions options_;
  planner::Plan plan_;
  size_t shown_ = 0;  // the query of plan_ that snapshots carry
  std::vector<std::unique_ptr<aggregate::Partial>> interval_, total_;
  std::vector<std::unique_ptr<aggregate::Partial>> report_;  // per query: each report part decodes here
  int64_t next_tick_ = 0;
  int64_t install_ms_ = 0;
  std::vector<AgentInfo> timed_out_;  // agents whose install did not answer in time (start())
  std::string timed_out_why_;         // the link's words for the first of them
  const std::atomic<bool>* interrupt_ = nullptr;
  int64_t stop_at_ = 0;
  int64_t pumped_until_ = 0;  // when pump() last returned
  int64_t lost_reports_ = 0;
};

}  // namespace pivot::frontend
