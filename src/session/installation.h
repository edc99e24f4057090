// Installation: one query text installed in this process, from advice to
// per-thread aggregation. pivot::Session and pivot::Agent are both built on
// it: the session keeps running totals; the agent ships interval deltas.
//
//   auto in = Installation::create(text, catalog, uid);  // all advice or none
//   std::vector<aggregate::Partial> deltas = (*in)->collect();
//   ... merged into totals, then derive(in->plans(), totals) ...
//   in->reset();  // destroying it removes the advice (after a grace period)
//
// Each query of the text holds at most `max_groups` groups per interval in
// this process (aggregate::EmitShape::group_cap); what does not fit is
// counted as dropped. Destroying the installation frees its partials and
// returns the free memory to the system (release_free_memory), so the host
// goes back to its resting size when a query ends.
//
// Thread safety: collect() may run concurrently with the traced threads; the
// object itself is used from one thread at a time.
#pragma once

#include <atomic>
#include <memory>
#include <string_view>
#include <vector>

#include "advice/interpreter.h"
#include "aggregate/collector.h"
#include "hook/hook.h"
#include "pivot/result.h"
#include "pivot/result_table.h"
#include "planner/planner.h"

namespace pivot::session {

// What to do with a Tracepoint definition whose function this process
// does not have: an error (one process, as pivot::Session), or install the
// rest of the text without it (an agent in a fleet of different programs,
// where other processes have it and the text's other advice is needed here).
enum class MissingFunctions { kError, kSkip };

class Installation {
 public:
  static Result<std::unique_ptr<Installation>> create(std::string_view text, const planner::Catalog& catalog,
                                                      uint64_t uid,
                                                      MissingFunctions missing = MissingFunctions::kError,
                                                      uint32_t max_groups = aggregate::kDefaultMaxGroups);
  ~Installation();
  Installation(const Installation&) = delete;
  Installation& operator=(const Installation&) = delete;

  const std::vector<planner::QueryPlan>& plans() const { return plans_; }
  // One line per function hooked for the text's Tracepoint definitions.
  std::vector<std::string> hooked() const;
  // One line per definition skipped (MissingFunctions::kSkip): "t: no function matches ...".
  const std::vector<std::string>& skipped() const { return skipped_; }
  // What each query emitted since the previous call, in plans() order.
  std::vector<aggregate::Partial> collect();

 private:
  Installation() = default;

  std::atomic<bool> enabled_{false};
  std::vector<planner::QueryPlan> plans_;
  std::vector<std::unique_ptr<aggregate::Collector>> collectors_;
  std::vector<advice::ProgramPtr> programs_;
  std::unique_ptr<hook::Probes> probes_;  // the text's Tracepoint definitions, hooked
  std::vector<std::string> skipped_;
};

// For each Tracepoint definition of `text`, one line per function it
// resolves to in this process, saying where each export is read from and
// how that was found (hook::describe), or one line saying why it resolves to
// none here ("t: no function matches ..."). Nothing is hooked; the queries
// of the text are not compiled (they may name other processes' tracepoints).
Result<std::vector<std::string>> describe_definitions(std::string_view text);

// Returns the allocator's free memory to the system (malloc_trim on glibc).
void release_free_memory();

// Evaluates the queries over aggregating queries' rows (QueryPlan::source)
// from their sources' partials, partials[i] being plans[i]'s: each is
// replaced by its program run over the source's rows as its result table
// has them (after its OrderBy and Limit), in plan order so that a chain of
// them works. What made the source incomplete (dropped events, an
// overflowed baggage or sum) carries over to it.
void derive(const std::vector<planner::QueryPlan>& plans,
            const std::vector<std::unique_ptr<aggregate::Partial>>& partials);

// The result table of one query from its accumulated partial aggregate,
// ordered by its OrderBy and cut to its Limit (unless `limit` is false).
// A query over an aggregating query's rows must be derive()d first.
ResultTable to_table(const planner::QueryPlan& plan, const aggregate::Partial& partial, bool limit = true);

}  // namespace pivot::session
