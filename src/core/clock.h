// Wall-clock time for tracepoints and spans, fast.
//
//   int64_t ns = pivot::internal::now_ns();        // ns since the Unix epoch
//
//   uint64_t t1 = pivot::internal::tsc_now();      // hot path: raw ticks
//   ...
//   int64_t ns1 = pivot::internal::ticks_to_ns(t1);  // later, off the hot path
//
// On x86-64 with an invariant TSC (cpuid 0x80000007 EDX bit 8) ticks are
// rdtsc values and nanoseconds come from a multiplier calibrated against
// CLOCK_REALTIME. The calibration is re-anchored every 200 ms by whichever
// caller notices it is due (three clock_gettime calls), and slews: the new
// line starts where the old one was and meets CLOCK_REALTIME at the next
// anchor, so now_ns() stays continuous while following NTP's rate changes.
// A step of the system clock of more than 1 ms is followed, as
// CLOCK_REALTIME itself would. Without a usable TSC (or with
// PIVOT_CLOCK=realtime in the environment) ticks are CLOCK_REALTIME
// nanoseconds and conversion is the identity.
//
// now_ns() never goes backwards on one thread (except after a system clock
// step back of more than 1 ms). ticks_to_ns() of two ticks t1 <= t2 read on
// any threads gives ns1 <= ns2 when converted with the same calibration,
// which is how spans convert theirs.
//
// Thread safety: every function may be called from any thread. The first
// call in a process spends about 1 ms calibrating.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace pivot::internal {

// Nanoseconds since the Unix epoch, as CLOCK_REALTIME, within a few
// microseconds of it.
int64_t now_ns() noexcept;

// How the clock reads time.
enum class TickSource : int { kUnknown = 0, kTsc = 1, kRealtime = 2 };

extern constinit std::atomic<int> g_tick_source;
uint64_t tsc_now_slow() noexcept;

// Raw ticks: rdtsc, or CLOCK_REALTIME ns without a usable TSC. Only
// differences and ticks_to_ns() give them meaning.
inline uint64_t tsc_now() noexcept {
#if defined(__x86_64__)
  if (g_tick_source.load(std::memory_order_relaxed) == static_cast<int>(TickSource::kTsc)) [[likely]] {
    return __builtin_ia32_rdtsc();
  }
#endif
  return tsc_now_slow();
}

// Milliseconds for timers and reports (agents, frontends): a monotonic
// clock, and the wall clock since the Unix epoch.
inline int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Wall-clock ns for ticks from tsc_now() of this process.
int64_t ticks_to_ns(uint64_t ticks) noexcept;

class TscClock;
// The clock behind ticks_to_ns(), once made (it is made before
// g_tick_source says kTsc); null before.
extern constinit std::atomic<TscClock*> g_tsc_clock;

// ticks_to_ns(t2) - ticks_to_ns(t1) for TSC ticks t1 <= t2, into *out,
// without ever re-anchoring or waiting: false when ticks_to_ns would
// re-anchor first (t2 is past the line's end), a re-anchor is being
// published, or the clock is not the TSC's. Integer code only, inline:
// the hook stub's fast path runs it (tracepoint/gpr_code.h).
[[gnu::always_inline]] inline bool tsc_ticks_between_ns(uint64_t t1, uint64_t t2, int64_t* out) noexcept;

// The source in use (decided on first use).
TickSource tick_source() noexcept;

// The calibrated clock behind the functions above; tests make their own to
// check both sources.
class TscClock {
 public:
  // kTsc calibrates for about 1 ms (it requires an x86-64 TSC).
  explicit TscClock(TickSource source);
  TscClock(const TscClock&) = delete;
  TscClock& operator=(const TscClock&) = delete;

  TickSource source() const { return source_; }
  uint64_t ticks() const noexcept;
  int64_t to_ns(uint64_t ticks) noexcept;
  int64_t now_ns() noexcept { return to_ns(ticks()); }

  // to_ns(t2) - to_ns(t1) on the current line, or false (see
  // tsc_ticks_between_ns, which calls it).
  [[gnu::always_inline]] bool between_ns(uint64_t t1, uint64_t t2, int64_t* out) const noexcept {
    Line l;
    if (!try_read_line(&l) || t2 >= l.next_tsc) return false;
    // The line's base_ns is in both terms: it cancels.
    *out = line_ns(l.base_tsc, 0, l.mult, t2) - line_ns(l.base_tsc, 0, l.mult, t1);
    return true;
  }

  // The current multiplier, nanoseconds per tick.
  double ns_per_tick() const noexcept;
  // Re-anchors now, whatever the schedule says (tests).
  void recalibrate_now() noexcept;

 private:
  struct Line {
    uint64_t base_tsc;
    int64_t base_ns;
    uint64_t mult;  // ns per tick, 32.32 fixed point
    uint64_t next_tsc;
  };
  // The line's ns at tick t (ticks before its anchor included).
  [[gnu::always_inline]] static int64_t line_ns(uint64_t base_tsc, int64_t base_ns, uint64_t mult,
                                                uint64_t t) noexcept {
    auto delta = static_cast<int64_t>(t - base_tsc);
    return base_ns + static_cast<int64_t>((static_cast<__int128>(delta) * mult) >> 32);
  }
  // The current line, or false while one is being published (the
  // seqlock's reader; read_line retries it).
  [[gnu::always_inline]] bool try_read_line(Line* l) const noexcept {
    uint32_t seq = seq_.load(std::memory_order_acquire);
    if ((seq & 1) != 0) return false;
    *l = Line{base_tsc_.load(std::memory_order_relaxed), base_ns_.load(std::memory_order_relaxed),
              mult_.load(std::memory_order_relaxed), next_tsc_.load(std::memory_order_relaxed)};
    std::atomic_thread_fence(std::memory_order_acquire);
    return seq_.load(std::memory_order_relaxed) == seq;
  }
  Line read_line() const noexcept;
  void publish(const Line& line) noexcept;
  void recalibrate(bool forced) noexcept;

  TickSource source_;
  // Seqlock-protected line, all atomics so that readers never race.
  std::atomic<uint32_t> seq_{0};
  std::atomic<uint64_t> base_tsc_{0};
  std::atomic<int64_t> base_ns_{0};
  std::atomic<uint64_t> mult_{0};
  std::atomic<uint64_t> next_tsc_{0};
  // Recalibration: one thread at a time, chosen by busy_.
  std::atomic<bool> busy_{false};
  uint64_t sample_tsc_ = 0;  // the last (tsc, realtime) sample, for the rate
  int64_t sample_ns_ = 0;
  double rate_ = 0;  // measured ns per tick
  int recalibrations_ = 0;
};

inline bool tsc_ticks_between_ns(uint64_t t1, uint64_t t2, int64_t* out) noexcept {
  if (g_tick_source.load(std::memory_order_relaxed) != static_cast<int>(TickSource::kTsc)) return false;
  const TscClock* clock = g_tsc_clock.load(std::memory_order_acquire);
  return clock != nullptr && clock->between_ns(t1, t2, out);
}

}  // namespace pivot::internal
