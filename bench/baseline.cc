// The two baselines every benchmark binary runs (design section 11): an empty
// loop iteration and a call to an empty noinline function. Figures in
// docs/performance.md are ratios to BM_Baseline_EmptyCall of the same run,
// which makes numbers from noisy shared machines comparable.
#include <benchmark/benchmark.h>

namespace {

[[gnu::noinline]] void empty_function() { asm volatile(""); }

void BM_Baseline_EmptyLoop(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Baseline_EmptyLoop);

void BM_Baseline_EmptyCall(benchmark::State& state) {
  for (auto _ : state) {
    empty_function();
  }
}
BENCHMARK(BM_Baseline_EmptyCall);

}  // namespace
