// Tracepoint costs: dormant (no advice) and active (OBSERVE + EMIT SUM by
// group), the paths design section 11 sets targets for. Compare each to
// BM_Baseline_EmptyCall of the same run (bench/baseline.cc).
#include <benchmark/benchmark.h>

#include "pivot/pivot.h"

namespace {

// Installs `query` in `session`, or marks the benchmark failed.
bool install(benchmark::State& state, pivot::Session& session, const char* query) {
  auto q = session.install(query);
  if (!q) state.SkipWithError(q.error().message().c_str());
  return q.has_value();
}

[[gnu::noinline]] void dormant_site(int64_t delta) { PIVOT_TRACEPOINT("Bench.dormant", delta); }
[[gnu::noinline]] void active_site(int64_t delta) { PIVOT_TRACEPOINT("Bench.active", delta); }
[[gnu::noinline]] void packing_site(int64_t delta) { PIVOT_TRACEPOINT("Bench.pack", delta); }

// The site inline in the loop: what a dormant tracepoint adds to its caller.
// The export is loop-invariant: a variable the loop also modifies would be
// kept in memory (the advice lambda captures it by reference), and the
// benchmark would measure that store-to-load chain rather than the site.
void BM_Tracepoint_Dormant(benchmark::State& state) {
  int64_t delta = state.range(0);
  for (auto _ : state) {
    PIVOT_TRACEPOINT("Bench.dormantInline", delta);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Tracepoint_Dormant)->Arg(4096);

// A noinline function holding only a dormant site: compare to the empty call.
void BM_Tracepoint_DormantInCall(benchmark::State& state) {
  int64_t i = 0;
  for (auto _ : state) dormant_site(++i);
}
BENCHMARK(BM_Tracepoint_DormantInCall);

// Q1's shape: From incr In X GroupBy incr.host Select incr.host, SUM(incr.delta)
void BM_Tracepoint_ActiveSumByGroup(benchmark::State& state) {
  pivot::Session session;
  if (!install(state, session, "From a In Bench.active GroupBy a.host Select a.host, SUM(a.delta)")) return;
  int64_t i = 0;
  for (auto _ : state) active_site(++i);
}
BENCHMARK(BM_Tracepoint_ActiveSumByGroup);

// The same, grouped by an integer export, which keeps strings off the path.
void BM_Tracepoint_ActiveSumByIntGroup(benchmark::State& state) {
  pivot::Session session;
  if (!install(state, session, "From a In Bench.active GroupBy a.delta % 8 Select a.delta % 8, SUM(a.delta)"))
    return;
  int64_t i = 0;
  for (auto _ : state) active_site(++i);
}
BENCHMARK(BM_Tracepoint_ActiveSumByIntGroup);

// PACK at one site, then UNPACK + EMIT at another, in one execution.
void BM_Tracepoint_PackThenUnpackEmit(benchmark::State& state) {
  pivot::Session session;
  if (!install(state, session,
               "From a In Bench.active Join p In MostRecent(Bench.pack) On p -> a GroupBy p.delta % 4 "
               "Select p.delta % 4, SUM(a.delta)"))
    return;
  pivot::baggage::Scope scope{pivot::Baggage()};
  int64_t i = 0;
  for (auto _ : state) {
    packing_site(++i);
    active_site(i);
  }
}
BENCHMARK(BM_Tracepoint_PackThenUnpackEmit);

}  // namespace
