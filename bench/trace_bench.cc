// Spans (pivot::Trace<T>) against design section 11's targets: sampled span
// begin+end, unsampled span, nested spans, and the naive RTBkit-style span
// they replace. Results and method: docs/performance.md, "Spans".
//
// The traced type is RTBkit's shape: do_probe returns
// tuple<const char*, std::string, int>, so each span also pays for copying
// a short (SSO) id, as RTBkit users did. The sampled benchmarks use the
// discard sink: trees go through the per-thread ring to the background
// writer, which drops them, so the figure is what the traced thread pays.
#include <benchmark/benchmark.h>

#include <string>
#include <tuple>
#include <vector>

#include "core/clock.h"
#include "naive_rtbkit_span.h"
#include "pivot/trace.h"
#include "pivot/trace_context.h"

namespace {

struct Auction {
  std::string id;
  int freq;
};
std::tuple<const char*, std::string, int> do_probe(const Auction& a) { return {"Auction", a.id, a.freq}; }

// The same, but the probe returns a view of the id (no copy).
struct AuctionView {
  std::string id;
  int freq;
};
std::tuple<const char*, std::string_view, int> do_probe(const AuctionView& a) {
  return {"Auction", a.id, a.freq};
}

// CityHash64("auction-2") % 4 == 0 and CityHash64("auction-0") % 4 != 0
// (spans_test.cc lists the sampled ids).
const Auction kSampled{"auction-2", 1};
const Auction kUnsampled{"auction-0", 4};

class SinkScope {
 public:
  explicit SinkScope(pivot::TraceSink sink) { pivot::set_trace_sink(std::move(sink)); }
  ~SinkScope() {
    pivot::flush_traces();
    pivot::set_trace_sink(pivot::discard_sink());
  }
};

// The share of trees the traced thread found the ring full for (the writer
// thread did not keep up), as a counter.
class DropCounter {
 public:
  explicit DropCounter(benchmark::State& state)
      : state_(state), before_(pivot::trace_stats().trees_dropped) {}
  ~DropCounter() {
    double dropped = static_cast<double>(pivot::trace_stats().trees_dropped - before_);
    state_.counters["dropped"] = dropped / static_cast<double>(state_.iterations());
  }

 private:
  benchmark::State& state_;
  uint64_t before_;
};

void BM_Span_Sampled(benchmark::State& state) {
  SinkScope sink(pivot::discard_sink());
  DropCounter drops(state);
  for (auto _ : state) {
    pivot::Trace<Auction> t(kSampled, "Router::bid");
  }
}
BENCHMARK(BM_Span_Sampled);

// The traced thread's cost when the writer keeps up, as it does at any rate
// short of millions of trees a second per thread: every 256 spans (30 KiB of
// records, just under the half-full ring that wakes the writer) the timer
// stops while the writer drains what they queued. The ring's lines were last
// read on the writer's core, as in a process whose writer drains between
// bursts. BM_Span_Sampled, which never lets the writer catch up, measures the
// two threads fighting over the ring's lines instead, and moves with how
// often the writer wins (see its `dropped`).
void BM_Span_Sampled_WriterKeepsUp(benchmark::State& state) {
  SinkScope sink(pivot::discard_sink());
  DropCounter drops(state);
  int queued = 0;
  for (auto _ : state) {
    { pivot::Trace<Auction> t(kSampled, "Router::bid"); }
    if (++queued == 256) {
      state.PauseTiming();
      pivot::flush_traces();
      queued = 0;
      state.ResumeTiming();
    }
  }
}
BENCHMARK(BM_Span_Sampled_WriterKeepsUp);

// The same under a W3C trace context: the tree records the trace, and the
// span is the thread's current span while open.
void BM_Span_Sampled_W3cTrace(benchmark::State& state) {
  SinkScope sink(pivot::discard_sink());
  DropCounter drops(state);
  pivot::trace_context::Scope trace(
      *pivot::TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  for (auto _ : state) {
    pivot::Trace<Auction> t(kSampled, "Router::bid");
  }
}
BENCHMARK(BM_Span_Sampled_W3cTrace);

void BM_Span_Sampled_ViewProbe(benchmark::State& state) {
  SinkScope sink(pivot::discard_sink());
  const AuctionView a{"auction-2", 1};
  DropCounter drops(state);
  for (auto _ : state) {
    pivot::Trace<AuctionView> t(a, "Router::bid");
  }
}
BENCHMARK(BM_Span_Sampled_ViewProbe);

// RTBkit's way: the sink is a std::function called on the traced thread.
void BM_Span_Sampled_CallbackSink(benchmark::State& state) {
  SinkScope sink(pivot::callback_sink([](const pivot::ProbeCtx&, const std::vector<pivot::Span>& spans) {
    benchmark::DoNotOptimize(spans.data());
  }));
  for (auto _ : state) {
    pivot::Trace<Auction> t(kSampled, "Router::bid");
  }
}
BENCHMARK(BM_Span_Sampled_CallbackSink);

void BM_Span_Unsampled(benchmark::State& state) {
  SinkScope sink(pivot::discard_sink());
  for (auto _ : state) {
    pivot::Trace<Auction> t(kUnsampled, "Router::bid");
  }
}
BENCHMARK(BM_Span_Unsampled);

void BM_Span_Unsampled_ViewProbe(benchmark::State& state) {
  SinkScope sink(pivot::discard_sink());
  const AuctionView a{"auction-0", 4};
  for (auto _ : state) {
    pivot::Trace<AuctionView> t(a, "Router::bid");
  }
}
BENCHMARK(BM_Span_Unsampled_ViewProbe);

// A different id every time: no cached decision, so each span hashes its
// id and divides (the worst case for an unsampled span).
void BM_Span_Unsampled_NewIdEachTime(benchmark::State& state) {
  SinkScope sink(pivot::discard_sink());
  const AuctionView ids[2] = {{"auction-0", 4}, {"auction-1", 4}};
  size_t i = 0;
  for (auto _ : state) {
    pivot::Trace<AuctionView> t(ids[i++ & 1], "Router::bid");
  }
}
BENCHMARK(BM_Span_Unsampled_NewIdEachTime);

void BM_Span_Nested3_Sampled(benchmark::State& state) {
  SinkScope sink(pivot::discard_sink());
  DropCounter drops(state);
  for (auto _ : state) {
    pivot::Trace<Auction> a(kSampled, "Router::bid");
    pivot::Trace<Auction> b(kSampled, "Agent::price");
    pivot::Trace<Auction> c(kSampled, "Model::score");
  }
}
BENCHMARK(BM_Span_Nested3_Sampled);

void BM_Span_Nested3_Unsampled(benchmark::State& state) {
  SinkScope sink(pivot::discard_sink());
  for (auto _ : state) {
    pivot::Trace<Auction> a(kUnsampled, "Router::bid");
    pivot::Trace<Auction> b(kUnsampled, "Agent::price");
    pivot::Trace<Auction> c(kUnsampled, "Model::score");
  }
}
BENCHMARK(BM_Span_Nested3_Unsampled);

void BM_NaiveRtbkitSpan_Sampled(benchmark::State& state) {
  for (auto _ : state) {
    naive::Trace<Auction> t(kSampled, "Router::bid");
  }
}
BENCHMARK(BM_NaiveRtbkitSpan_Sampled);

void BM_NaiveRtbkitSpan_Unsampled(benchmark::State& state) {
  for (auto _ : state) {
    naive::Trace<Auction> t(kUnsampled, "Router::bid");
  }
}
BENCHMARK(BM_NaiveRtbkitSpan_Unsampled);

void BM_NaiveRtbkitSpan_Nested3_Sampled(benchmark::State& state) {
  for (auto _ : state) {
    naive::Trace<Auction> a(kSampled, "Router::bid");
    naive::Trace<Auction> b(kSampled, "Agent::price");
    naive::Trace<Auction> c(kSampled, "Model::score");
  }
}
BENCHMARK(BM_NaiveRtbkitSpan_Nested3_Sampled);

// The floor under any timed span: two timestamps.
void BM_Clock_TwoTscReads(benchmark::State& state) {
  for (auto _ : state) {
    uint64_t a = pivot::internal::tsc_now();
    benchmark::DoNotOptimize(a);
    uint64_t b = pivot::internal::tsc_now();
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(BM_Clock_TwoTscReads);

void BM_Clock_NowNs(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(pivot::internal::now_ns());
}
BENCHMARK(BM_Clock_NowNs);

void BM_Clock_SteadyClockNow(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::chrono::steady_clock::now());
}
BENCHMARK(BM_Clock_SteadyClockNow);

// One span per call, out of line, for callgrind's instruction counts
// (valgrind --tool=callgrind --toggle-collect='*one_*_span*'; see
// docs/performance.md).
[[gnu::noinline]] void one_sampled_span() { pivot::Trace<Auction> t(kSampled, "Router::bid"); }
[[gnu::noinline]] void one_unsampled_span() { pivot::Trace<Auction> t(kUnsampled, "Router::bid"); }
[[gnu::noinline]] void one_unsampled_view_span() {
  static const AuctionView a{"auction-0", 4};
  pivot::Trace<AuctionView> t(a, "Router::bid");
}
[[gnu::noinline]] void one_naive_sampled_span() { naive::Trace<Auction> t(kSampled, "Router::bid"); }
// A sampled span whose tree goes to a SinkCb, RTBkit's way: the one path
// that builds pivot::Span, RTBkit's members included. (A tag of its own, of
// the same length: GCC would fold an identical one_sampled_span into it.)
[[gnu::noinline]] void one_callback_span() { pivot::Trace<Auction> t(kSampled, "Router::Bid"); }

void BM_Callgrind_SampledSpan(benchmark::State& state) {
  SinkScope sink(pivot::discard_sink());
  for (auto _ : state) one_sampled_span();
}
BENCHMARK(BM_Callgrind_SampledSpan);

void BM_Callgrind_UnsampledSpan(benchmark::State& state) {
  SinkScope sink(pivot::discard_sink());
  for (auto _ : state) one_unsampled_span();
}
BENCHMARK(BM_Callgrind_UnsampledSpan);

void BM_Callgrind_UnsampledViewSpan(benchmark::State& state) {
  SinkScope sink(pivot::discard_sink());
  for (auto _ : state) one_unsampled_view_span();
}
BENCHMARK(BM_Callgrind_UnsampledViewSpan);

void BM_Callgrind_CallbackSpan(benchmark::State& state) {
  SinkScope sink(pivot::callback_sink([](const pivot::ProbeCtx&, const std::vector<pivot::Span>& spans) {
    benchmark::DoNotOptimize(spans.data());
  }));
  for (auto _ : state) one_callback_span();
}
BENCHMARK(BM_Callgrind_CallbackSpan);

void BM_Callgrind_NaiveSampledSpan(benchmark::State& state) {
  for (auto _ : state) one_naive_sampled_span();
}
BENCHMARK(BM_Callgrind_NaiveSampledSpan);

}  // namespace
