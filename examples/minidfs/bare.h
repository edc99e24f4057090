// minidfs without pivot on its request paths: the baseline that
// scripts/perf.sh measures every other mode against (docs/performance.md,
// "End to end"). The minidfs_bare target compiles every minidfs source with
// `-include bare.h`, which
//
//   - compiles PIVOT_TRACEPOINT out (the statement and its arguments vanish),
//   - defines MINIDFS_BARE, with which start_agent() starts no agent and
//     RpcChannel::call sends no baggage header and joins none.
//
// What stays: the servers' decode of the absent header and encode of empty
// baggage (no allocation, a few ns per RPC) and pivot::Trace spans at
// frequency 0, which sample nothing. Result/Error are plain value types.
#pragma once

#include "pivot/tracepoint.h"  // first, so its include guard keeps the definition below

#undef PIVOT_TRACEPOINT
#define PIVOT_TRACEPOINT(...) \
  do {                        \
  } while (0)

#define MINIDFS_BARE 1
