// The unit rules (units.h), and a hooked function's `duration` as compiled.
#include "planner/units.h"

#include <gtest/gtest.h>

#include "planner/paper_catalog.h"
#include "planner/planner.h"

namespace pivot::planner {
namespace {

using query::AggFn;
using query::Op;

TEST(Units, BinaryOperators) {
  EXPECT_EQ(binary_unit(Op::kAdd, Unit::kNanoseconds, Unit::kNanoseconds), Unit::kNanoseconds);
  EXPECT_EQ(binary_unit(Op::kSub, Unit::kBytes, Unit::kNone), Unit::kBytes);
  EXPECT_EQ(binary_unit(Op::kAdd, Unit::kNone, Unit::kBytes), Unit::kBytes);
  EXPECT_EQ(binary_unit(Op::kAdd, Unit::kNanoseconds, Unit::kBytes), Unit::kNone);
  EXPECT_EQ(binary_unit(Op::kDiv, Unit::kBytes, Unit::kNone), Unit::kNone);
  EXPECT_EQ(binary_unit(Op::kMul, Unit::kNanoseconds, Unit::kNone), Unit::kNone);
  EXPECT_EQ(binary_unit(Op::kMod, Unit::kNanoseconds, Unit::kNanoseconds), Unit::kNone);
  EXPECT_EQ(binary_unit(Op::kLt, Unit::kNanoseconds, Unit::kNanoseconds), Unit::kNone);
  EXPECT_EQ(binary_unit(Op::kSub, Unit::kEpochNanoseconds, Unit::kEpochNanoseconds), Unit::kNanoseconds);
  EXPECT_EQ(binary_unit(Op::kAdd, Unit::kEpochNanoseconds, Unit::kEpochNanoseconds), Unit::kNone);
  EXPECT_EQ(binary_unit(Op::kSub, Unit::kEpochNanoseconds, Unit::kNanoseconds), Unit::kEpochNanoseconds);
  EXPECT_EQ(binary_unit(Op::kAdd, Unit::kNanoseconds, Unit::kEpochNanoseconds), Unit::kEpochNanoseconds);
  EXPECT_EQ(binary_unit(Op::kSub, Unit::kNanoseconds, Unit::kEpochNanoseconds), Unit::kNone);
}

TEST(Units, Aggregates) {
  EXPECT_EQ(aggregate_unit(AggFn::kCount, Unit::kBytes), Unit::kNone);
  EXPECT_EQ(aggregate_unit(AggFn::kSum, Unit::kBytes), Unit::kBytes);
  EXPECT_EQ(aggregate_unit(AggFn::kSum, Unit::kEpochNanoseconds), Unit::kNone);
  EXPECT_EQ(aggregate_unit(AggFn::kAvg, Unit::kNanoseconds), Unit::kNanoseconds);
  EXPECT_EQ(aggregate_unit(AggFn::kMin, Unit::kEpochNanoseconds), Unit::kEpochNanoseconds);
  EXPECT_EQ(aggregate_unit(AggFn::kLhist, Unit::kNanoseconds), Unit::kNanoseconds);
}

// A Return definition's duration is in ns, whatever its process says of
// the other exports.
TEST(Units, AHookedFunctionsDurationIsInNanoseconds) {
  auto plan = compile(
      "Tracepoint t = Return(\"f(long)\") Exports n = arg1\n"
      "From x In t Select SUM(x.duration), MAX(x.n), AVG(x.duration / 1000)",
      paper_catalog(), 1);
  ASSERT_TRUE(plan) << plan.error().message();
  EXPECT_EQ(plan->queries[0].units, (std::vector<Unit>{Unit::kNanoseconds, Unit::kNone, Unit::kNone}));
}

}  // namespace
}  // namespace pivot::planner
