// The LTTng-UST tracepoint provider peers_bench measures: one event with one
// 64-bit integer field, the shape of pivot's DataNodeMetrics.incrBytesRead.
// lttng_provider.c instantiates the probes; everything else includes this
// header to call lttng_ust_tracepoint(pivot_bench, incr_bytes_read, delta).
// Without the pre-2.13 names: their `tracepoint(...)` macro would clash with
// pivot's own identifiers.
#ifndef LTTNG_UST_COMPAT_API_VERSION
#define LTTNG_UST_COMPAT_API_VERSION 1
#endif

#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER pivot_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "lttng_provider.h"

#if !defined(PIVOT_BENCH_LTTNG_PROVIDER_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define PIVOT_BENCH_LTTNG_PROVIDER_H

#include <lttng/tracepoint.h>
#include <stdint.h>

LTTNG_UST_TRACEPOINT_EVENT(pivot_bench, incr_bytes_read, LTTNG_UST_TP_ARGS(int64_t, delta),
                           LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(int64_t, delta, delta)))

#endif

#include <lttng/tracepoint-event.h>
