// Pins the exact `explain` output of the paper's queries and the exact text
// of binder errors (tests/golden/*.test; PIVOT_UPDATE_GOLDEN=1 regenerates).
#include "support/golden.h"

#include <gtest/gtest.h>

#include "planner/paper_catalog.h"
#include "planner/planner.h"

namespace pivot::planner {
namespace {

std::string explain_or_error(const std::string& text) {
  auto plan = compile(text, paper_catalog(), 1);
  if (!plan) return plan.error().message();
  std::string out = plan->explain();
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

TEST(PlannerGolden, ExplainOfThePaperQueries) {
  testing::expect_golden(std::string(PIVOT_SOURCE_DIR) + "/tests/golden/explain.test",
                         [](const testing::GoldenCase& c) { return explain_or_error(c.input); });
}

TEST(PlannerGolden, BinderErrors) {
  testing::expect_golden(std::string(PIVOT_SOURCE_DIR) + "/tests/golden/bind_errors.test",
                         [](const testing::GoldenCase& c) { return explain_or_error(c.input); });
}

}  // namespace
}  // namespace pivot::planner
