#include "core/clock.h"

#include <time.h>

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace pivot::internal {
namespace {

constexpr int64_t kStepNs = 1'000'000;            // larger errors step, smaller ones slew
constexpr int64_t kCalibrateNs = 1'000'000;       // first measurement window
constexpr int64_t kFirstIntervalNs = 10'000'000;  // first re-anchor
constexpr int64_t kIntervalNs = 200'000'000;      // then every 200 ms
constexpr double kFixedOne = 4294967296.0;        // 2^32

int64_t realtime_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

uint64_t read_tsc() noexcept {
#if defined(__x86_64__)
  return __builtin_ia32_rdtsc();
#else
  return static_cast<uint64_t>(realtime_ns());
#endif
}

struct Sample {
  uint64_t tsc;
  int64_t ns;
};

// A (tsc, realtime) pair read as close together as we can: the best of three
// brackets rdtsc / clock_gettime / rdtsc.
Sample take_sample() noexcept {
  Sample best{0, 0};
  uint64_t best_width = ~uint64_t{0};
  for (int i = 0; i < 3; ++i) {
    uint64_t t0 = read_tsc();
    int64_t ns = realtime_ns();
    uint64_t t1 = read_tsc();
    if (t1 - t0 < best_width) {
      best_width = t1 - t0;
      best = {t0 + (t1 - t0) / 2, ns};
    }
  }
  return best;
}

int64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool has_invariant_tsc() noexcept {
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || (d & (1u << 4)) == 0) return false;  // no TSC at all
  if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000007) return false;
  if (!__get_cpuid(0x80000007, &a, &b, &c, &d)) return false;
  return (d & (1u << 8)) != 0;  // invariant TSC: constant rate, runs in every C-state
#else
  return false;
#endif
}

TickSource choose_source() noexcept {
  const char* env = std::getenv("PIVOT_CLOCK");
  if (env != nullptr && std::strcmp(env, "realtime") == 0) return TickSource::kRealtime;
  return has_invariant_tsc() ? TickSource::kTsc : TickSource::kRealtime;
}

TscClock& global_clock() noexcept {
  // Never destroyed: spans and tracepoints may read the clock during exit.
  static TscClock* clock = [] {
    auto* c = new TscClock(choose_source());
    g_tsc_clock.store(c, std::memory_order_release);
    g_tick_source.store(static_cast<int>(c->source()), std::memory_order_relaxed);
    return c;
  }();
  return *clock;
}

constinit thread_local int64_t t_last_ns = 0;

}  // namespace

constinit std::atomic<int> g_tick_source{0};
constinit std::atomic<TscClock*> g_tsc_clock{nullptr};

TscClock::TscClock(TickSource source) : source_(source) {
  if (source_ != TickSource::kTsc) {
    source_ = TickSource::kRealtime;
    return;
  }
  Sample a = take_sample();
  int64_t start = monotonic_ns();
  while (monotonic_ns() - start < kCalibrateNs) {
  }
  Sample b = take_sample();
  double rate = b.tsc > a.tsc ? static_cast<double>(b.ns - a.ns) / static_cast<double>(b.tsc - a.tsc) : 0;
  if (!(rate > 0.01 && rate < 100)) {  // 10 MHz..100 GHz, else the TSC is not usable
    source_ = TickSource::kRealtime;
    return;
  }
  rate_ = rate;
  sample_tsc_ = b.tsc;
  sample_ns_ = b.ns;
  publish({b.tsc, b.ns, static_cast<uint64_t>(rate * kFixedOne),
           b.tsc + static_cast<uint64_t>(static_cast<double>(kFirstIntervalNs) / rate)});
}

uint64_t TscClock::ticks() const noexcept {
  return source_ == TickSource::kTsc ? read_tsc() : static_cast<uint64_t>(realtime_ns());
}

TscClock::Line TscClock::read_line() const noexcept {
  for (;;) {
    Line l;
    if (try_read_line(&l)) return l;
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
}

void TscClock::publish(const Line& l) noexcept {
  uint32_t s = seq_.load(std::memory_order_relaxed);
  seq_.store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  base_tsc_.store(l.base_tsc, std::memory_order_relaxed);
  base_ns_.store(l.base_ns, std::memory_order_relaxed);
  mult_.store(l.mult, std::memory_order_relaxed);
  next_tsc_.store(l.next_tsc, std::memory_order_relaxed);
  seq_.store(s + 2, std::memory_order_release);
}

int64_t TscClock::to_ns(uint64_t t) noexcept {
  if (source_ != TickSource::kTsc) return static_cast<int64_t>(t);
  Line l = read_line();
  if (t >= l.next_tsc) [[unlikely]] {
    recalibrate(false);
    l = read_line();
  }
  return line_ns(l.base_tsc, l.base_ns, l.mult, t);
}

double TscClock::ns_per_tick() const noexcept {
  if (source_ != TickSource::kTsc) return 1.0;
  return static_cast<double>(read_line().mult) / kFixedOne;
}

void TscClock::recalibrate_now() noexcept {
  if (source_ == TickSource::kTsc) recalibrate(true);
}

// Re-anchors the line at a fresh (tsc, realtime) sample. The rate is measured
// over the window since the previous sample; the new line starts where the
// old one is at the sample (no jump) and is tilted to meet CLOCK_REALTIME at
// the next anchor. Errors over kStepNs (the system clock was set) are
// stepped instead. Losers of the race for busy_ keep using the current line.
void TscClock::recalibrate(bool forced) noexcept {
  if (busy_.exchange(true, std::memory_order_acquire)) return;
  Line cur = read_line();
  if (!forced && read_tsc() < cur.next_tsc) {  // another thread just did it
    busy_.store(false, std::memory_order_release);
    return;
  }
  Sample s = take_sample();
  if (s.tsc > sample_tsc_) {
    double r = static_cast<double>(s.ns - sample_ns_) / static_cast<double>(s.tsc - sample_tsc_);
    // A rate more than 1% off is a clock step inside the window, not drift.
    if (r > rate_ * 0.99 && r < rate_ * 1.01) rate_ = r;
  }
  double interval_ticks = static_cast<double>(recalibrations_ == 0 ? kFirstIntervalNs : kIntervalNs) / rate_;
  int64_t predicted = line_ns(cur.base_tsc, cur.base_ns, cur.mult, s.tsc);
  int64_t err = predicted - s.ns;
  Line next{s.tsc, predicted, 0, s.tsc + static_cast<uint64_t>(interval_ticks)};
  double slope = rate_;
  if (err > kStepNs || err < -kStepNs) {
    next.base_ns = s.ns;
  } else {
    slope -= static_cast<double>(err) / interval_ticks;
  }
  next.mult = static_cast<uint64_t>(slope * kFixedOne);
  publish(next);
  sample_tsc_ = s.tsc;
  sample_ns_ = s.ns;
  ++recalibrations_;
  busy_.store(false, std::memory_order_release);
}

uint64_t tsc_now_slow() noexcept { return global_clock().ticks(); }

int64_t ticks_to_ns(uint64_t ticks) noexcept { return global_clock().to_ns(ticks); }

TickSource tick_source() noexcept { return global_clock().source(); }

int64_t now_ns() noexcept {
  int64_t v = global_clock().now_ns();
  int64_t last = t_last_ns;
  // Never backwards on one thread, unless the system clock was stepped back.
  if (v < last && last - v <= kStepNs) return last;
  t_last_ns = v;
  return v;
}

}  // namespace pivot::internal
