// Peers in the same run, on the same machine (design section 11): an
// LTTng-UST tracepoint, dormant and enabled, and a USDT probe guarded by its
// semaphore, dormant, each next to the pivot site of the same shape. The
// naive RTBkit-style span baseline is in trace_bench, next to pivot's spans.
//
// Built only when the peers' Debian packages are found at configure time
// (liblttng-ust-dev, systemtap-sdt-dev); the benchmarks of a missing peer
// are simply absent. BM_Lttng_Enabled needs a session with the event
// enabled before the process starts (scripts/perf.sh starts one):
//
//   lttng-sessiond --daemonize
//   lttng create pivotbench --snapshot      # flight recorder: in-memory ring buffers
//   lttng enable-event -u 'pivot_bench:*' && lttng start
//
// and reports an error (not a figure) when the event is not enabled.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "pivot/pivot.h"

#ifdef PIVOT_BENCH_HAVE_LTTNG
#include "lttng_provider.h"
#endif

#ifdef PIVOT_BENCH_HAVE_USDT
// A USDT probe with a semaphore, as dtrace -h generates it: the probe's
// argument setup runs only while a tracer (bpftrace, SystemTap) has raised
// the semaphore.
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
extern "C" {
__extension__ unsigned short pivot_bench_incr_bytes_read_semaphore __attribute__((unused))
__attribute__((section(".probes")));
}
#define PIVOT_BENCH_USDT_INCR(delta)                                \
  do {                                                              \
    if (__builtin_expect(pivot_bench_incr_bytes_read_semaphore, 0)) \
      STAP_PROBE1(pivot_bench, incr_bytes_read, delta);             \
  } while (0)
#endif

namespace {

// pivot, the same shapes as tracepoint_bench's, so this binary's ratios
// compare like with like. The export is loop-invariant in every dormant
// benchmark (see tracepoint_bench.cc).
void BM_Pivot_Dormant(benchmark::State& state) {
  int64_t delta = state.range(0);
  for (auto _ : state) {
    PIVOT_TRACEPOINT("PeersBench.dormant", delta);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Pivot_Dormant)->Arg(4096);

[[gnu::noinline]] void pivot_active_site(int64_t delta) { PIVOT_TRACEPOINT("PeersBench.active", delta); }

// OBSERVE + EMIT SUM grouped by host: pivot's enabled site, aggregated in
// process. (LTTng's enabled site below writes a record to a ring buffer.)
void BM_Pivot_Active(benchmark::State& state) {
  pivot::Session session;
  auto q = session.install("From a In PeersBench.active GroupBy a.host Select a.host, SUM(a.delta)");
  if (!q) return state.SkipWithError(q.error().message().c_str());
  int64_t i = 0;
  for (auto _ : state) pivot_active_site(++i);
}
BENCHMARK(BM_Pivot_Active);

#ifdef PIVOT_BENCH_HAVE_LTTNG
void BM_Lttng_Dormant(benchmark::State& state) {
  if (lttng_ust_tracepoint_enabled(pivot_bench, incr_bytes_read))
    return state.SkipWithError("pivot_bench:incr_bytes_read is enabled; run without an LTTng session");
  int64_t delta = state.range(0);
  for (auto _ : state) {
    lttng_ust_tracepoint(pivot_bench, incr_bytes_read, delta);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Lttng_Dormant)->Arg(4096);

[[gnu::noinline]] void lttng_active_site(int64_t delta) {
  lttng_ust_tracepoint(pivot_bench, incr_bytes_read, delta);
}

void BM_Lttng_Enabled(benchmark::State& state) {
  if (!lttng_ust_tracepoint_enabled(pivot_bench, incr_bytes_read))
    return state.SkipWithError("pivot_bench:incr_bytes_read is not enabled: start an LTTng session first");
  int64_t i = 0;
  for (auto _ : state) lttng_active_site(++i);
}
BENCHMARK(BM_Lttng_Enabled);
#endif

#ifdef PIVOT_BENCH_HAVE_USDT
void BM_Usdt_Dormant(benchmark::State& state) {
  int64_t delta = state.range(0);
  for (auto _ : state) {
    PIVOT_BENCH_USDT_INCR(delta);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Usdt_Dormant)->Arg(4096);
#endif

}  // namespace
