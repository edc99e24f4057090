// The unit of a query's values (pivot::Unit), for display only: a table
// prints a duration as `10.09 ms` and a byte count as `1.20 MiB`; nothing is
// converted and JSON and CSV keep the raw numbers. The binder works out
// each Select item's unit from its exports' units (catalog.h) with these
// rules; a unit that the rules do not define is dropped, never guessed.
// Internal to the planner.
#pragma once

#include "pivot/value.h"
#include "query/ast.h"

namespace pivot::planner {

// `a op b`: + and - keep a shared unit (ns + ns, bytes - bytes) and the
// unit of a side whose other side has none (`d + 1000` is in ns, as d);
// the difference of two times is a duration, and a time plus or minus a
// duration is a time. *, / and % lose the unit (`delta / 1024` is no
// longer in bytes), and so do comparisons and And/Or.
Unit binary_unit(query::Op op, Unit a, Unit b);

// The unit of aggregate `fn` over values in unit `arg`: COUNT has none;
// SUM, MIN, MAX and AVG keep it (but a SUM of times is not a time), and so
// do the buckets of HIST and LHIST. An aggregate added later says here what
// it keeps (a quantile keeps its argument's unit; a count of distinct
// values has none).
Unit aggregate_unit(query::AggFn fn, Unit arg);

}  // namespace pivot::planner
