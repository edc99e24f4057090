// The query compiler: query text -> advice programs, one per tracepoint.
//
//   auto plan = compile(text, local_catalog(), /*uid=*/42);
//   plan->explain();   // "A1 @ ClientProtocols: OBSERVE procName; PACK-FIRST q1.cl(procName)\n..."
//
// Binding checks names and types against the catalog and reports errors with
// line:column and a caret. Planning always optimizes:
//   - each Where conjunct and Let runs at the earliest tracepoint whose
//     advice has all the variables it reads (filter push-down);
//   - advice observes and packs only the fields needed downstream
//     (projection push-down);
//   - First/MostRecent/FirstN/MostRecentN are applied when packing;
//   - when a joined variable only feeds group keys and aggregates, its advice
//     packs partial aggregates instead of tuples (pre-aggregation in PACK).
//
// One file per job, run in this order by compile() (planner.cc):
//   compose.h          named queries inlined as their sources' tracepoints
//                      (an aggregating source's rows become a tracepoint
//                      of their own, with its outputs as exports)
//   binder.h           names, types and the join tree
//   placement.h        filters and Lets to the earliest advice
//   pre_aggregation.h  which child of the root packs partial aggregates
//   projection.h       what each advice observes and each bag carries
//   codegen.h          the advice programs (registers.h allocates registers)
// The three middle passes only decide (advice_plan.h); codegen.h builds,
// and explain.cc prints the finished programs back.
//
// `uid` makes the baggage bags of this compilation distinct from those of
// any other install of the same text.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "advice/program.h"
#include "aggregate/partial.h"
#include "hook/hook.h"
#include "pivot/result.h"
#include "planner/catalog.h"

namespace pivot::planner {

struct QueryPlan {
  std::string label;  // name, or q<N>
  // Emit.collector and Program::enabled are left null for the installer.
  std::vector<std::shared_ptr<advice::Program>> programs;
  aggregate::EmitShape shape;
  std::vector<std::string> columns;
  std::vector<uint32_t> column_index;  // result column i = Partial row[column_index[i]]
  std::vector<Unit> units;             // per result column (planner/units.h)
  // OrderBy and Limit, applied to each merged table (session::to_table).
  struct OrderKey {
    uint32_t column;  // result column
    bool desc;
  };
  std::vector<OrderKey> order;
  int64_t limit = 0;  // 0: every row
  // A query over the rows of an aggregating query (FlatQuery::from_query):
  // that query's index in Plan::queries, else -1. Its one program is not
  // advice and is never installed: the frontend runs it over each merged
  // table of the source (session::derive), OBSERVE i reading the source's
  // result column source_columns[i].
  int source = -1;
  std::vector<uint32_t> source_columns;
};

// A tracepoint the text defines (Tracepoint NAME = Entry(...)).
struct DefinedProbe {
  std::string name;      // as the text names it
  hook::ProbeSpec spec;  // spec.tracepoint: the sites' name, unique to this compilation
};

struct Plan {
  std::vector<QueryPlan> queries;
  std::vector<DefinedProbe> probes;
  // Every query's programs, one line each ending in '\n', printed from the
  // programs themselves (explain.cc).
  std::string explain() const;
};

// Types the exports of a defined tracepoint (one per spec.exports), e.g. by
// resolving it in this process (hook::make_probe). Without one, types come
// from hook::declared_types(), as a frontend that has no process must.
using ProbeTyper = std::function<Result<std::vector<ValueType>>(const hook::ProbeSpec&)>;

Result<Plan> compile(std::string_view text, const Catalog& catalog, uint64_t uid,
                     const ProbeTyper& typer = {});

}  // namespace pivot::planner
