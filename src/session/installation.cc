#include "session/installation.h"

#include <algorithm>

#include "advice/rows.h"
#include "core/sanitizers.h"
#include "query/parser.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if PIVOT_ASAN
// In the runtimes of both compilers; GCC ships no header declaring it
// (clang's is sanitizer/allocator_interface.h).
extern "C" void __sanitizer_purge_allocator();
#endif

namespace pivot::session {

Result<std::vector<std::string>> describe_definitions(std::string_view text) {
  auto program = query::parse(text);
  if (!program) return program.error();
  std::vector<std::string> lines;
  for (const query::TracepointDef& def : program->tracepoints) {
    hook::ProbeSpec spec;
    spec.tracepoint = def.name;
    spec.at_return = def.at_return;
    spec.pattern = def.symbol;
    for (const query::TracepointExport& e : def.exports) spec.exports.push_back({e.name, e.ref});
    auto probe = hook::make_probe(spec, hook::symbols());
    if (!probe) {
      lines.push_back(def.name + ": " + probe.error().message());
      continue;
    }
    for (std::string& line : hook::describe(*probe)) lines.push_back(std::move(line));
  }
  return lines;
}

Result<std::unique_ptr<Installation>> Installation::create(std::string_view text,
                                                           const planner::Catalog& catalog, uint64_t uid,
                                                           MissingFunctions missing, uint32_t max_groups) {
  if (max_groups < 1 || max_groups > aggregate::kMaxMaxGroups) {
    return Error("max_groups must be 1 to " + std::to_string(aggregate::kMaxMaxGroups) + ", not " +
                 std::to_string(max_groups));
  }
  // Defined tracepoints are resolved in this process while compiling, and
  // hooked before any advice goes in.
  std::vector<hook::Probe> probes;
  std::vector<std::string> skipped;
  auto typer = [&](const hook::ProbeSpec& spec) -> Result<std::vector<ValueType>> {
    auto probe = hook::make_probe(spec, hook::symbols());
    if (!probe && missing == MissingFunctions::kSkip &&
        probe.error().message().compare(0, hook::kNoMatch.size(), hook::kNoMatch) == 0) {
      skipped.push_back(spec.tracepoint.substr(0, spec.tracepoint.find('#')) + ": " +
                        probe.error().message());
      return hook::declared_types(spec);
    }
    if (!probe) return probe.error();
    std::vector<ValueType> types = probe->types;
    probes.push_back(std::move(*probe));
    return types;
  };
  auto plan = planner::compile(text, catalog, uid, typer);
  if (!plan) return plan.error();
  std::unique_ptr<Installation> in(new Installation);
  if (!probes.empty()) {
    auto attached = hook::Probes::attach(std::move(probes));
    if (!attached) return attached.error();
    in->probes_ = std::move(*attached);
  }
  in->skipped_ = std::move(skipped);
  for (planner::QueryPlan& qp : plan->queries) {
    qp.shape.group_cap = aggregate::group_cap_for(qp.shape, max_groups);
    auto collector = aggregate::Collector::create(qp.shape);
    if (!collector) return collector.error();
    // A query over an aggregating query's rows has no advice to install
    // (derive runs it); its collector stays empty.
    if (qp.source < 0) {
      for (auto& prog : qp.programs) {
        prog->enabled = &in->enabled_;
        if (prog->emit) prog->emit->collector = collector->get();
        in->programs_.push_back(prog);
      }
    }
    in->collectors_.push_back(std::move(*collector));
    in->plans_.push_back(std::move(qp));
  }
  advice::install_programs(in->programs_);
  in->enabled_.store(true, std::memory_order_release);  // every program of the text at once
  return in;
}

Installation::~Installation() {
  enabled_.store(false, std::memory_order_relaxed);
  if (!programs_.empty()) advice::remove_programs(programs_);  // waits until no thread runs them
  probes_.reset();                                             // unhooks, then waits again
  collectors_.clear();  // frees every thread's partial of the text's queries
  programs_.clear();
  plans_.clear();
  release_free_memory();
}

void release_free_memory() {
  // A partial's tables are mapped and unmapped by themselves (partial.h),
  // so a query's groups leave no memory in the host's malloc arenas. What
  // does is small: strings too long for a Value's own buffer, the advice,
  // an agent's JSON. glibc keeps such freed chunks in the arena of the
  // thread that allocated them and returns only the main heap's top by
  // itself; malloc_trim gives back the free pages of every arena. It takes
  // each arena's lock briefly, so it runs only here, when a query ends,
  // never per event or per interval.
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
#if PIVOT_ASAN
  // Under AddressSanitizer freed memory waits in its quarantine (256 MB by
  // default) and its allocator keeps free pages; a host built with it would
  // stay at a query's peak. Purging drains the quarantine and gives the
  // pages back, as malloc_trim does for glibc.
  __sanitizer_purge_allocator();
#endif
}

std::vector<std::string> Installation::hooked() const {
  return probes_ ? probes_->describe() : std::vector<std::string>{};
}

std::vector<aggregate::Partial> Installation::collect() {
  std::vector<aggregate::Partial> out;
  out.reserve(collectors_.size());
  for (auto& c : collectors_) out.push_back(c->collect());
  return out;
}

namespace {

// OrderBy sorts stably, so rows equal on every key keep their order by value
// (Partial::rows); Limit keeps the first N.
void order_and_limit(const planner::QueryPlan& plan, std::vector<std::vector<Value>>& rows, bool limit) {
  if (!plan.order.empty()) {
    std::stable_sort(rows.begin(), rows.end(), [&](const std::vector<Value>& a, const std::vector<Value>& b) {
      for (const auto& key : plan.order) {
        int c = compare(a[key.column], b[key.column]);
        if (c != 0) return key.desc ? c > 0 : c < 0;
      }
      return false;
    });
  }
  if (limit && plan.limit > 0 && rows.size() > static_cast<size_t>(plan.limit))
    rows.resize(static_cast<size_t>(plan.limit));
}

// The COUNT(DISTINCT) columns that some group counted by HyperLogLog.
std::vector<std::string> estimated_columns(const planner::QueryPlan& plan,
                                           const aggregate::Partial& partial) {
  std::vector<std::string> out;
  if (plan.shape.raw) return out;
  for (uint32_t i = 0; i < plan.column_index.size() && i < plan.columns.size(); ++i) {
    const uint32_t at = plan.column_index[i];
    if (at < plan.shape.keys || at - plan.shape.keys >= plan.shape.aggs.size()) continue;
    const size_t agg = at - plan.shape.keys;
    if (plan.shape.aggs[agg] != aggregate::AggFn::kCountDistinct) continue;
    for (size_t g = 0; g < partial.groups().size(); ++g) {
      const aggregate::DistinctCount* d = partial.states(g)[agg].box.get<aggregate::DistinctCount>();
      if (d != nullptr && !d->exact()) {
        out.push_back(plan.columns[i]);
        break;
      }
    }
  }
  return out;
}

}  // namespace

void derive(const std::vector<planner::QueryPlan>& plans,
            const std::vector<std::unique_ptr<aggregate::Partial>>& partials) {
  for (size_t i = 0; i < plans.size() && i < partials.size(); ++i) {
    const planner::QueryPlan& plan = plans[i];
    if (plan.source < 0) continue;
    const aggregate::Partial& in = *partials[plan.source];
    aggregate::Partial& out = *partials[i];
    out.clear();
    advice::run_on_rows(*plan.programs.front(), plan.source_columns, to_table(plans[plan.source], in).rows,
                        out);
    out.add_dropped(in.dropped());
    if (in.incomplete()) out.mark_incomplete();
    if (in.overflow()) out.mark_overflow();
  }
}

ResultTable to_table(const planner::QueryPlan& plan, const aggregate::Partial& partial, bool limit) {
  ResultTable t;
  t.columns = plan.columns;
  t.units = plan.units;
  for (const auto& row : partial.rows()) {
    std::vector<Value> out;
    for (uint32_t i : plan.column_index) out.push_back(i < row.size() ? row[i] : Value());
    t.rows.push_back(std::move(out));
  }
  order_and_limit(plan, t.rows, limit);
  for (uint32_t i = 0; i < plan.column_index.size(); ++i) {
    uint32_t at = plan.column_index[i];
    if (!plan.shape.raw && at >= plan.shape.keys && at - plan.shape.keys < plan.shape.aggs.size() &&
        aggregate::is_distribution(plan.shape.aggs[at - plan.shape.keys])) {
      t.distribution_columns.push_back(i);
    }
  }
  t.dropped = partial.dropped();
  t.incomplete = partial.incomplete() || t.dropped > 0;
  if (!plan.shape.raw) t.max_groups = plan.shape.group_cap;
  t.overflow = partial.overflow();
  t.estimated = estimated_columns(plan, partial);
  return t;
}

}  // namespace pivot::session
