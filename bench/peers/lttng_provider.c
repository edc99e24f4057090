// Instantiates the probes of lttng_provider.h (compiled as C, as LTTng-UST
// documents), and defines the tracepoint once for the whole binary.
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "lttng_provider.h"
