// Aggregation off the traced threads: merging partial aggregates with many
// groups, and what one reporting interval costs the agent and the frontend
// for one query (design section 5: EMIT goes to per-thread partials, the
// agent merges them every interval and reports). Results and method:
// docs/performance.md.
//
// The Arg is the number of groups; items_per_second counts groups, so the
// per-group cost is 1 / items_per_second.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "aggregate/partial.h"
#include "pivot/pivot.h"
#include "planner/catalog.h"
#include "session/installation.h"
#include "wire/protocol.h"

namespace {

using pivot::Value;
using pivot::aggregate::AggFn;
using pivot::aggregate::EmitShape;
using pivot::aggregate::Partial;

// Q8's shape: GroupBy host, file; SUM. Keys are ("dnN", "/data/file-NNNNN").
// The group cap is raised past the largest Arg, so every group is merged.
const EmitShape kShape{.keys = 2, .aggs = {AggFn::kSum}, .group_cap = pivot::aggregate::kMaxMaxGroups};

Partial partial_with_groups(int64_t groups) {
  Partial p(&kShape);
  for (int64_t g = 0; g < groups; ++g) {
    const Value keys[] = {Value("dn" + std::to_string(g % 8)), Value("/data/file-" + std::to_string(g))};
    const Value inputs[] = {Value(int64_t{4096})};
    p.add_values(keys, inputs);
  }
  return p;
}

// One partial into another holding the same groups: the agent's merge of a
// thread's interval into the process's, and the frontend's of an agent's.
void BM_Partial_MergeSameGroups(benchmark::State& state) {
  const Partial from = partial_with_groups(state.range(0));
  Partial into = partial_with_groups(state.range(0));
  for (auto _ : state) {
    into.merge(from);
    benchmark::DoNotOptimize(into);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Partial_MergeSameGroups)->RangeMultiplier(16)->Range(1, 1 << 16);

// What a partial's big tables cost the kernel before anything is copied:
// map (map_pages, as TableAllocator does past kDirectMapBytes), write one
// byte a 4 KiB page, unmap. Arg: KiB. Per page: 1 / items_per_second. The
// 8 MiB case gets transparent huge pages where the kernel has them
// (map_pages asks from 2 MiB on); the 512 KiB case cannot.
void BM_TablePages_MapTouchUnmap(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0)) << 10;
  for (auto _ : state) {
    auto* p = static_cast<char*>(pivot::aggregate::map_pages(bytes));
    for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
    benchmark::DoNotOptimize(p);
    pivot::aggregate::unmap_pages(p, bytes);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(bytes / 4096));
}
BENCHMARK(BM_TablePages_MapTouchUnmap)->Arg(512)->Arg(8 << 10)->Unit(benchmark::kMicrosecond);

// Into a new partial: every group is new and every table allocated (the
// frontend's first interval).
void BM_Partial_MergeIntoEmpty(benchmark::State& state) {
  const Partial from = partial_with_groups(state.range(0));
  for (auto _ : state) {
    Partial into(&kShape);
    into.merge(from);
    benchmark::DoNotOptimize(into);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Partial_MergeIntoEmpty)->RangeMultiplier(16)->Range(1, 1 << 16);

// Into a partial emptied with reset(), which keeps its tables' room: the
// frontend's interval partial every interval after its first (the agent
// merges into its biggest thread partial instead: Collector::collect).
void BM_Partial_MergeIntoReset(benchmark::State& state) {
  const Partial from = partial_with_groups(state.range(0));
  Partial into(&kShape);
  into.merge(from);
  for (auto _ : state) {
    into.reset();
    into.merge(from);
    benchmark::DoNotOptimize(into);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Partial_MergeIntoReset)->RangeMultiplier(16)->Range(1, 1 << 16);

[[gnu::noinline]] void report_site(int64_t file) { PIVOT_TRACEPOINT("AggregateBench.read", file); }

// One reporting interval of one query in the agent: take every thread's
// partial, wait out the readers (synchronize), merge, and serialize the
// report as the agent sends it. The groups are emitted (untimed) before
// each interval, by the benchmark thread.
void BM_AgentReport(benchmark::State& state) {
  auto in = pivot::session::Installation::create(
      "From r In AggregateBench.read GroupBy r.host, r.file Select r.host, r.file, SUM(r.file)",
      pivot::planner::local_catalog(), /*uid=*/7);
  if (!in) return state.SkipWithError(in.error().message().c_str());
  size_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (int64_t g = 0; g < state.range(0); ++g) report_site(g);
    state.ResumeTiming();
    pivot::wire::Json parts = pivot::wire::Json::array();
    for (const Partial& p : (*in)->collect()) parts.push_back(pivot::wire::to_json(p));
    pivot::wire::Json m = {{"type", "report"}, {"queries", std::move(parts)}};
    std::string text = m.dump();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["report_bytes"] = static_cast<double>(bytes);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_AgentReport)->RangeMultiplier(16)->Range(1, 1 << 12)->Unit(benchmark::kMicrosecond);

// The frontend's side of the same interval: parse an agent's report and merge
// it into the running total.
void BM_FrontendMergeReport(benchmark::State& state) {
  const std::string text = pivot::wire::to_json(partial_with_groups(state.range(0))).dump();
  Partial total = partial_with_groups(state.range(0));
  for (auto _ : state) {
    auto j = pivot::wire::Json::parse(text);
    if (auto s = pivot::wire::merge_from_json(j, total); !s)
      return state.SkipWithError(s.error().message().c_str());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_FrontendMergeReport)->RangeMultiplier(16)->Range(1, 1 << 12)->Unit(benchmark::kMicrosecond);

// The frontend's CPU for one interval of a fleet: 100 agents each report the
// same 10,000 groups (Q8's shape, the group cap raised to hold them), and the
// frontend decodes each report and merges it into the interval's and the
// query's totals, as Frontend does. Per group: 1 / items_per_second. The
// second Arg is the report format: 0 JSON groups (older agents), 1 binary
// (what a frontend asks for).
void BM_FrontendInterval_100Agents(benchmark::State& state) {
  constexpr int kAgents = 100;
  const int64_t groups = state.range(0);
  const auto format =
      state.range(1) == 1 ? pivot::wire::ReportFormat::kBinary : pivot::wire::ReportFormat::kJson;
  std::vector<std::string> reports;
  for (int a = 0; a < kAgents; ++a) {
    pivot::wire::Json m = pivot::wire::message("report");
    m["queries"] = pivot::wire::Json::array({pivot::wire::to_json(partial_with_groups(groups), format)});
    reports.push_back(pivot::wire::encode(m));
  }
  // As Frontend, the interval's partial and the one each report decodes
  // into live as long as the query (reset, not made anew, per interval and
  // per report).
  Partial total = partial_with_groups(groups);
  Partial interval(&kShape), report(&kShape);
  for (auto _ : state) {
    interval.reset();
    for (const std::string& frame : reports) {
      auto m = pivot::wire::parse_message(frame);
      if (!m) return state.SkipWithError(m.error().message().c_str());
      if (auto s = pivot::wire::partial_from_json((*m)["queries"][0], report); !s)
        return state.SkipWithError(s.error().message().c_str());
      interval.merge(report);
      total.merge(report);
    }
    benchmark::DoNotOptimize(interval);
  }
  state.SetItemsProcessed(state.iterations() * kAgents * groups);
}
BENCHMARK(BM_FrontendInterval_100Agents)->Args({10'000, 0})->Args({10'000, 1})->Unit(benchmark::kMillisecond);

}  // namespace
