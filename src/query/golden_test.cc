// Runs tests/golden/parse_errors.test: each case's input is query text and
// its expected output the exact error message (line:col, source line, caret).
// Regenerate with PIVOT_UPDATE_GOLDEN=1 and review the diff.
#include "../../tests/support/golden.h"

#include <gtest/gtest.h>

#include <string>

#include "query/parser.h"

namespace pivot::query {
namespace {

std::string parse_error_of(const pivot::testing::GoldenCase& c) {
  Result<Program> p = parse(c.input);
  return p ? "(parsed without error)" : p.error().message();
}

TEST(Golden, ParseErrors) {
  pivot::testing::expect_golden(std::string(PIVOT_SOURCE_DIR) + "/tests/golden/parse_errors.test",
                                parse_error_of);
}

TEST(Golden, EveryCaseIsAnErrorAndTheErrorPositionMatchesTheMessage) {
  for (const auto& c :
       pivot::testing::read_golden(std::string(PIVOT_SOURCE_DIR) + "/tests/golden/parse_errors.test")) {
    Result<Program> p = parse(c.input);
    ASSERT_FALSE(p) << "case " << c.name << " parsed";
    const Error& e = p.error();
    if (e.line() == 0) continue;
    std::string prefix = std::to_string(e.line()) + ":" + std::to_string(e.column()) + ": ";
    EXPECT_EQ(e.message().rfind(prefix, 0), 0u) << "case " << c.name;
  }
}

}  // namespace
}  // namespace pivot::query
