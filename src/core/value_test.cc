#include "pivot/value.h"

#include <gtest/gtest.h>

namespace pivot {
namespace {

TEST(Value, JsonOfEachType) {
  EXPECT_EQ(Value().to_json(), "null");
  EXPECT_EQ(Value(true).to_json(), "true");
  EXPECT_EQ(Value(int64_t{-42}).to_json(), "-42");
  EXPECT_EQ(Value(1.5).to_json(), "1.5");
  EXPECT_EQ(Value(2.0).to_json(), "2.0");
  EXPECT_EQ(Value("a\"b\n\x01").to_json(), "\"a\\\"b\\n\\u0001\"");
}

TEST(Value, JsonOfInvalidUtf8IsStillValidJson) {
  EXPECT_EQ(Value(std::string("caf\xc3\xa9")).to_json(), "\"caf\xc3\xa9\"");  // valid UTF-8 kept
  EXPECT_EQ(Value(std::string("a\xff"
                              "b"))
                .to_json(),
            "\"a\\ufffdb\"");
  EXPECT_EQ(Value(std::string("\xc3")).to_json(), "\"\\ufffd\"");  // truncated sequence
}

TEST(Value, IntAndDoubleCompareAndHashAlike) {
  EXPECT_EQ(Value(3), Value(3.0));
  EXPECT_EQ(Value(3).hash(), Value(3.0).hash());
  EXPECT_LT(Value(2), Value(2.5));
  EXPECT_LT(Value(), Value(false));
  EXPECT_LT(Value(100), Value("a"));
  EXPECT_LT(Value("a"), Value("b"));
}

}  // namespace
}  // namespace pivot
