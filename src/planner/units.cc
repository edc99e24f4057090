#include "planner/units.h"

namespace pivot::planner {

Unit binary_unit(query::Op op, Unit a, Unit b) {
  if (op != query::Op::kAdd && op != query::Op::kSub) return Unit::kNone;
  if (a == Unit::kNone) return b;
  if (b == Unit::kNone) return a;
  if (a == b && a != Unit::kEpochNanoseconds) return a;
  // Of two times only the difference means something: how long lay between them.
  if (a == b) return op == query::Op::kSub ? Unit::kNanoseconds : Unit::kNone;
  // time ± duration, and duration + time, is a time.
  if (a == Unit::kEpochNanoseconds && b == Unit::kNanoseconds) return a;
  if (op == query::Op::kAdd && a == Unit::kNanoseconds && b == Unit::kEpochNanoseconds) return b;
  return Unit::kNone;
}

Unit aggregate_unit(query::AggFn fn, Unit arg) {
  switch (fn) {
    case query::AggFn::kCount:
    case query::AggFn::kCountDistinct: return Unit::kNone;
    case query::AggFn::kSum: return arg == Unit::kEpochNanoseconds ? Unit::kNone : arg;
    case query::AggFn::kMin:
    case query::AggFn::kMax:
    case query::AggFn::kAvg:
    case query::AggFn::kHist:
    case query::AggFn::kLhist:
    case query::AggFn::kQuantile: return arg;
  }
  return Unit::kNone;
}

}  // namespace pivot::planner
