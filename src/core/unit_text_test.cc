#include "core/unit_text.h"

#include <gtest/gtest.h>

namespace pivot {
namespace {

TEST(UnitText, Durations) {
  EXPECT_EQ(with_unit(Value(int64_t{950}), Unit::kNanoseconds), "950 ns");
  EXPECT_EQ(with_unit(Value(999.5), Unit::kNanoseconds), "999.50 ns");
  EXPECT_EQ(with_unit(Value(int64_t{12500}), Unit::kNanoseconds), "12.50 us");
  EXPECT_EQ(with_unit(Value(10092132.66440678), Unit::kNanoseconds), "10.09 ms");
  EXPECT_EQ(with_unit(Value(int64_t{1500000000}), Unit::kNanoseconds), "1.50 s");
  EXPECT_EQ(with_unit(Value(int64_t{-2000000}), Unit::kNanoseconds), "-2.00 ms");
}

TEST(UnitText, Bytes) {
  EXPECT_EQ(with_unit(Value(int64_t{0}), Unit::kBytes), "0 B");
  EXPECT_EQ(with_unit(Value(int64_t{1023}), Unit::kBytes), "1023 B");
  EXPECT_EQ(with_unit(Value(int64_t{65536}), Unit::kBytes), "64.00 KiB");
  EXPECT_EQ(with_unit(Value(int64_t{1258291}), Unit::kBytes), "1.20 MiB");
  EXPECT_EQ(with_unit(Value(int64_t{3} << 40), Unit::kBytes), "3.00 TiB");
}

TEST(UnitText, OthersPrintAsTheyAre) {
  EXPECT_EQ(with_unit(Value(int64_t{1796292304968000000}), Unit::kEpochNanoseconds), "1796292304968000000");
  EXPECT_EQ(with_unit(Value(int64_t{42}), Unit::kNone), "42");
  EXPECT_EQ(with_unit(Value("dn1"), Unit::kBytes), "dn1");
  EXPECT_EQ(with_unit(Value(), Unit::kBytes), "null");
}

}  // namespace
}  // namespace pivot
