// The parser of pivot's query language (docs/query-language.md): query text
// in, a Program of tracepoint definitions and queries out, or an Error that
// points at the offending token.
//
//   pivot::Result<Program> p = parse(
//       "From incr In DataNodeMetrics.incrBytesRead\n"
//       "Join cl In First(ClientProtocols) On cl -> incr\n"
//       "GroupBy cl.procName\n"
//       "Select cl.procName, SUM(incr.delta)");
//   if (!p) { std::cerr << p.error().message() << "\n"; return; }
//   p->queries[0].joins[0].mode == JoinMode::kFirst;
//
// An error message reads "<line>:<col>: <what is wrong>", then the source
// line, then a caret under the column (see error.h); Error::line() and
// Error::column() give the position.
//
// The parser checks syntax only: names of tracepoints, exports, variables and
// earlier queries are the binder's to resolve. It never throws, and bounds
// its input (kMaxQueryBytes) and the nesting of expressions (kMaxExprDepth),
// so hostile text cannot exhaust the stack.
//
// Thread safety: parse() is a pure function; call it from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pivot/result.h"
#include "query/ast.h"

namespace pivot::query {

// Operators, aggregates and parentheses nest at most this deep in one expression.
inline constexpr int kMaxExprDepth = 200;
// Longer query text is refused.
inline constexpr size_t kMaxQueryBytes = size_t{1} << 20;
// FirstN(source, N) and MostRecentN(source, N) keep 1 to this many tuples.
inline constexpr int64_t kMaxJoinCount = 1000000;
// Limit N keeps 1 to this many rows.
inline constexpr int64_t kMaxLimit = 10000000;
// LHIST(x, min, max, step) has at most this many buckets between min and max.
inline constexpr int64_t kMaxLhistBuckets = 1000;
// Tracepoint exports name arguments arg0 to this.
inline constexpr int kMaxArgIndex = 255;

pivot::Result<Program> parse(std::string_view text);

}  // namespace pivot::query
