#include "serve/limits.h"

namespace pivot::serve {

const char* limit_name(Limit l) {
  switch (l) {
    case Limit::kBodySize: return "body_size";
    case Limit::kQueries: return "queries";
    case Limit::kSseClients: return "sse_clients";
    case Limit::kSseSlowClient: return "sse_slow_client";
    case Limit::kWindowIntervals: return "window_intervals";
    case Limit::kWindowBytes: return "window_bytes";
    case Limit::kEvents: return "events";
    case Limit::kCount: break;
  }
  return "unknown";
}

}  // namespace pivot::serve
