// The canonical text of query expressions: result column names and `explain`
// output use it, and parsing it gives back the same expression.
//
//   auto program = parse("From i In Incr Select SUM(i.delta * 2), AVERAGE(i.x)");
//   to_string(*program->queries[0].select[0].expr);  // "SUM(i.delta * 2)"
//   to_string(*program->queries[0].select[1].expr);  // "AVG(i.x)"
//
// The canonical form: fields `var.field`, Let names bare, binary operators
// with single spaces (`a + b`, `a == b`, `a And b`), unary `Not a` and `-a`,
// parentheses only where precedence requires them, aggregates upper case
// (AVERAGE prints as AVG, a bare COUNT as `COUNT`, QUANTILE(x, 0.99) as
// P99(x), as do P50 and P90), strings in double quotes
// with JSON escapes, ints in decimal, doubles as Value::to_string prints them
// (2.0 stays "2.0"), and true, false, null in lower case.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "query/ast.h"

namespace pivot::query {

std::string to_string(const Expr& e);

// "+", "==", "And", "Not", "-" (kNeg), ...
std::string_view op_spelling(Op op);
// "COUNT", "SUM", "MIN", "MAX", "AVG", "HIST", "LHIST", "QUANTILE"; "COUNT"
// for COUNT(DISTINCT).
std::string_view agg_name(AggFn fn);
// "P50", "P90" or "P99" for the quantiles they stand for, else "": how
// QUANTILE(x, q) prints when it has a shorthand.
std::string_view quantile_shorthand(double q);

}  // namespace pivot::query
