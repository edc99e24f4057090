// pivot::Result's preconditions: an assertion that fails in every build,
// never an exception.
#include "pivot/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace {

pivot::Result<std::string> ok() { return std::string("value"); }
pivot::Result<std::string> failed() { return pivot::Error("no such tracepoint 'X'", 1, 6); }

TEST(Result, HoldsAValueOrAnError) {
  auto r = ok();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r.has_value());
  EXPECT_EQ(*r, "value");
  EXPECT_EQ(r->size(), 5u);
  EXPECT_EQ(r.value(), "value");
  EXPECT_EQ(*ok(), "value");

  auto e = failed();
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(), "no such tracepoint 'X'");
  EXPECT_EQ(e.error().line(), 1);
  EXPECT_EQ(e.error().column(), 6);
}

TEST(Result, MovesItsValueOut) {
  pivot::Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  std::unique_ptr<int> p = *std::move(r);
  EXPECT_EQ(*p, 7);
}

TEST(ResultDeathTest, ValueOfAnErrorAbortsWithItsMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto e = failed();
  EXPECT_DEATH((void)*e,
               "precondition failed: the value of a pivot::Result that holds an error: "
               "no such tracepoint 'X'");
  EXPECT_DEATH((void)e->size(), "holds an error");
  EXPECT_DEATH((void)e.value(), "holds an error");
  const auto& c = e;
  EXPECT_DEATH((void)*c, "holds an error");
}

TEST(ResultDeathTest, ErrorOfAValueAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto r = ok();
  EXPECT_DEATH((void)r.error(), "precondition failed: error\\(\\) of a pivot::Result that holds a value");
}

}  // namespace
