// What each column of a query's result is: a GroupBy key, an aggregate (and
// which), or a plain value of a query without aggregation. serve's /metrics
// makes keys into labels and aggregates into samples, and its JSON API says
// it so a dashboard knows what to chart; `pivot query`'s live view shows
// rates of counts and sums.
#pragma once

#include <string>
#include <vector>

#include "aggregate/partial.h"
#include "planner/planner.h"

namespace pivot::frontend {

struct Column {
  enum Role { kGroup, kAggregate, kValue };
  std::string name;
  Role role = kValue;
  aggregate::AggFn fn = aggregate::AggFn::kCount;  // for kAggregate
};

std::vector<Column> describe_columns(const planner::QueryPlan& plan);

// "group", "aggregate" or "value".
const char* role_name(Column::Role r);
// "count", "sum", "min", "max", "avg", "hist", "lhist", "quantile" or
// "count_distinct".
const char* agg_name(aggregate::AggFn fn);

}  // namespace pivot::frontend
