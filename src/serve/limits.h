// What bounds `pivot serve`'s memory and work, and how often each bound
// acted. Every limit here is shown: in /api/status (value and hits) and in
// /metrics (pivot_serve_limit_hits_total{limit="..."}), so an operator can
// tell a quiet system from a clipped one.
//
// Thread safety: ServeLimits is a plain value, fixed at start; LimitCounters
// may be bumped and read from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace pivot::serve {

struct ServeLimits {
  int64_t window_ms = 3'600'000;           // intervals older than this leave a query's window
  size_t window_intervals = 3600;          // at most this many intervals per query (1 h of 1 s intervals)
  size_t window_bytes = size_t{16} << 20;  // and at most this much of their JSON per query
  size_t max_queries = 16;                 // managed queries (each holds a connection to every agent)
  size_t max_sse_clients = 8;              // each one holds an HTTP thread while connected
  size_t max_body_bytes = size_t{64} << 10;
  size_t max_events = 100;   // agent events (lost, silent, back) kept per query
  size_t sse_backlog = 256;  // messages a slow stream client may fall behind before it is cut off
  size_t sse_backlog_bytes = size_t{8} << 20;  // and bytes (each interval carries the query's total)
};

enum class Limit {
  kBodySize,         // a request body over max_body_bytes (413)
  kQueries,          // an install past max_queries (429)
  kSseClients,       // a stream past max_sse_clients (503)
  kSseSlowClient,    // a stream client cut off, sse_backlog messages or sse_backlog_bytes behind
  kWindowIntervals,  // an interval evicted before window_ms for window_intervals
  kWindowBytes,      // an interval evicted before window_ms for window_bytes
  kEvents,           // an agent event forgotten for max_events
  kCount
};

// "body_size", "queries", "sse_clients", ...: the `limit` label in /metrics.
const char* limit_name(Limit l);

class LimitCounters {
 public:
  void hit(Limit l) { hits_[static_cast<size_t>(l)].fetch_add(1, std::memory_order_relaxed); }
  uint64_t hits(Limit l) const { return hits_[static_cast<size_t>(l)].load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Limit::kCount)> hits_{};
};

}  // namespace pivot::serve
