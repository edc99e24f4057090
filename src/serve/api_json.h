// The JSON bodies of serve's API (docs/serve.md shows one of each).
//
// Thread safety: pure functions of their arguments.
#pragma once

#include <string>

#include "pivot/result.h"
#include "serve/agent_cache.h"
#include "serve/managed_query.h"
#include "wire/protocol.h"

namespace pivot::serve {

// {"error":{"message":..., "line":L, "column":C}}; line and column are 0
// when the error points nowhere in a query text.
wire::Json error_json(const Error& e);
// A query as /api/queries lists it; with_total adds "total" (a ResultTable's JSON).
wire::Json query_json(const QueryStatus& s, bool with_total);
wire::Json columns_json(const std::vector<frontend::Column>& columns);
// {"updated":ms, "agents":[{...}], "notes":[...]}
wire::Json agents_json(const AgentCache::View& v);
// {"updated":ms, "tracepoints":[{"name", "exports":[...], "processes":[...]}]}
wire::Json tracepoints_json(const AgentCache::View& v);

}  // namespace pivot::serve
