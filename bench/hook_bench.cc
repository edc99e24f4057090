// Functions hooked at run time (Tracepoint NAME = Entry/Return(...)):
// the cost a hook adds to a call, against the same call unhooked and
// against a static PIVOT_TRACEPOINT with the same advice. Compare each to
// BM_Baseline_EmptyCall of the same run (bench/baseline.cc).
#include <benchmark/benchmark.h>

#include "pivot/pivot.h"

// Keeps calls to a function real calls: no inlining, and under GCC no
// cloning either (noclone; clang has no such attribute). Not noipa: GCC's
// interprocedural register allocation stays on, as in the code users hook.
#if defined(__clang__)
#define OPAQUE_FN [[gnu::noinline]]
#else
#define OPAQUE_FN [[gnu::noinline, gnu::noclone]]
#endif

namespace hookbench {

// What gets hooked: a small function with a real prologue, called for real
// (no inlining or cloning; GCC's -fipa-ra on, as in users' code).
OPAQUE_FN int64_t work(int64_t delta) { return delta * 3 + 1; }
OPAQUE_FN int64_t work_static(int64_t delta) {
  PIVOT_TRACEPOINT("HookBench.static", delta);
  return delta * 3 + 1;
}

}  // namespace hookbench

namespace {

bool install(benchmark::State& state, pivot::Session& session, const char* query) {
  auto q = session.install(query);
  if (!q) state.SkipWithError(q.error().message().c_str());
  return q.has_value();
}

void BM_Hook_Unhooked(benchmark::State& state) {
  int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(hookbench::work(++i));
}
BENCHMARK(BM_Hook_Unhooked);

// Design section 11: hooked function entry with OBSERVE+EMIT (SUM by group).
void BM_Hook_EntrySumByGroup(benchmark::State& state) {
  pivot::Session session;
  if (!install(state, session,
               "Tracepoint w = Entry(\"hookbench::work\") Exports delta = arg0\n"
               "From a In w GroupBy a.host Select a.host, SUM(a.delta)"))
    return;
  int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(hookbench::work(++i));
}
BENCHMARK(BM_Hook_EntrySumByGroup);

// The same advice on a static site, for what the hook itself costs.
void BM_Hook_StaticSumByGroup(benchmark::State& state) {
  pivot::Session session;
  if (!install(state, session, "From a In HookBench.static GroupBy a.host Select a.host, SUM(a.delta)"))
    return;
  int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(hookbench::work_static(++i));
}
BENCHMARK(BM_Hook_StaticSumByGroup);

// A hook whose query emits nothing (Where false): entry, stub and dispatch only.
void BM_Hook_EntryFilteredOut(benchmark::State& state) {
  pivot::Session session;
  if (!install(state, session,
               "Tracepoint w = Entry(\"hookbench::work\") Exports delta = arg0\n"
               "From a In w Where a.delta < 0 Select COUNT"))
    return;
  int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(hookbench::work(++i));
}
BENCHMARK(BM_Hook_EntryFilteredOut);

// Return: the stub calls the function and reads the clock twice.
void BM_Hook_ReturnSumDuration(benchmark::State& state) {
  pivot::Session session;
  if (!install(state, session,
               "Tracepoint w = Return(\"hookbench::work\")\n"
               "From a In w GroupBy a.host Select a.host, SUM(a.duration), SUM(a.ret)"))
    return;
  int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(hookbench::work(++i));
}
BENCHMARK(BM_Hook_ReturnSumDuration);

// The same Return without duration: the stub's call through the function,
// without the two clock reads.
void BM_Hook_ReturnSumRet(benchmark::State& state) {
  pivot::Session session;
  if (!install(state, session,
               "Tracepoint w = Return(\"hookbench::work\")\n"
               "From a In w GroupBy a.host Select a.host, SUM(a.ret)"))
    return;
  int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(hookbench::work(++i));
}
BENCHMARK(BM_Hook_ReturnSumRet);

}  // namespace
