// pivot::Session: the in-process frontend. Install queries into this
// process, read their results, explain them. For tests, embedding, and
// single-process tools; a multi-process system uses pivot::Agent and the
// `pivot` CLI instead.
//
//   pivot::Session session;
//   auto q = session.install(
//       "From incr In DataNodeMetrics.incrBytesRead\n"
//       "Join cl In First(ClientProtocols) On cl -> incr\n"
//       "GroupBy cl.procName\n"
//       "Select cl.procName, SUM(incr.delta)");
//   if (!q) { std::cerr << q.error().message(); return; }
//   ... run the workload ...
//   std::cout << session.results(*q).to_json();
//   session.uninstall(*q);
//
// Query text may hold several queries (named ones can be sources of later
// ones); results(q) answers the last, results(q, name) a named one.
// results() is cumulative and includes every event that completed before
// the call. A destroyed Session uninstalls its queries.
//
// Nothing a query does can take more than a bounded share of the process:
// a text that composes into an over-large query is refused at install, a
// grouping query keeps at most InstallOptions::max_groups groups (the
// result then says incomplete and how many events it dropped), and after
// uninstall the memory a query used is given back.
//
// Thread safety: all methods may be called from any thread. Installing and
// uninstalling wait for a grace period (microseconds): never call them from
// inside a tracepoint's advice (they are not reachable from there anyway).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/result.h"
#include "pivot/result_table.h"
#include "pivot/value.h"

namespace pivot {

// Limits of one install (docs/architecture.md, "Limits").
struct InstallOptions {
  // The most groups each query of the text holds per interval in this
  // process, and in its running total; events that would start another
  // group are dropped and counted (ResultTable::dropped). 1 to 10000000.
  uint32_t max_groups = 10'000;
};

struct QueryId {
  uint64_t value = 0;
  friend bool operator==(QueryId a, QueryId b) { return a.value == b.value; }
};

struct ExportInfo {
  std::string name;
  ValueType type = ValueType::kNull;
  bool is_list = false;
  Unit unit = Unit::kNone;  // PIVOT_EXPORT_UNIT's; builtin `timestamp` is kEpochNanoseconds
};

struct TracepointInfo {
  std::string name;
  std::vector<ExportInfo> exports;  // the site's own, then the builtins
  int sites = 0;                    // how many code locations fire it
};

class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  [[nodiscard]] Result<QueryId> install(std::string_view text);
  [[nodiscard]] Result<QueryId> install(std::string_view text, const InstallOptions& options);
  Status uninstall(QueryId q);

  ResultTable results(QueryId q);
  Result<ResultTable> results(QueryId q, std::string_view query_name);

  // The advice the text compiles to, one line per advice program; then,
  // for the text's Tracepoint definitions, one line per function they
  // resolve to here, saying where each export is read from and whether that
  // came from debug information or the symbol table's rules:
  //   "t @ shop::price(double, int) (/srv/app): debug info (/srv/app); n = arg1 (rdi, int)"
  Result<std::string> explain(std::string_view text) const;

  // Every tracepoint of this process, sorted by name.
  static std::vector<TracepointInfo> tracepoints();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pivot
