// What query results become before encoding; tests/otlp/otlp_export_test.cc
// decodes the requests with protoc and checks every field.
#include "otlp/query_metrics.h"

#include <gtest/gtest.h>

namespace pivot::otlp {
namespace {

using aggregate::AggFn;
using frontend::Column;

QueryMetrics seed() {
  return {"seed",
          {{"c.app", Column::kGroup},
           {"SUM(r.bytes)", Column::kAggregate, AggFn::kSum},
           {"COUNT", Column::kAggregate, AggFn::kCount}}};
}

ResultTable seed_total() {
  ResultTable t;
  t.columns = {"c.app", "SUM(r.bytes)", "COUNT"};
  t.rows = {{Value("app-0"), Value(int64_t{650}), Value(int64_t{25})},
            {Value("app-1"), Value(int64_t{625}), Value(int64_t{25})}};
  return t;
}

TEST(QueryMetrics, OnePointPerAggregateCellAndRow) {
  size_t points = 0;
  (void)encode_query_metrics(seed(), seed_total(), 1, 2, "pivot", &points);
  EXPECT_EQ(points, 4u);
}

TEST(QueryMetrics, OnlyQueriesWithAggregatesHaveMetrics) {
  EXPECT_TRUE(has_metrics(seed()));
  EXPECT_FALSE(has_metrics({"raw", {{"r.bytes", Column::kValue}, {"r.host", Column::kValue}}}));
  EXPECT_FALSE(has_metrics({"grouped", {{"r.host", Column::kGroup}}}));
}

TEST(QueryMetrics, APointsTimeIsNeverBeforeItsStart) {
  EXPECT_EQ(encode_query_metrics(seed(), seed_total(), 5000, 4000, "pivot"),
            encode_query_metrics(seed(), seed_total(), 5000, 5000, "pivot"));
}

TEST(QueryMetrics, AnEmptyTotalSendsTheMetricsWithoutPoints) {
  size_t points = 7;
  std::string body = encode_query_metrics(seed(), ResultTable{}, 1, 2, "pivot", &points);
  EXPECT_EQ(points, 0u);
  EXPECT_FALSE(body.empty());
}

}  // namespace
}  // namespace pivot::otlp
