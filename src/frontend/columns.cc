#include "frontend/columns.h"

namespace pivot::frontend {

std::vector<Column> describe_columns(const planner::QueryPlan& plan) {
  // A partial's row holds the keys first, then one state per aggregate;
  // column_index says where each result column comes from.
  std::vector<Column> out;
  for (size_t i = 0; i < plan.columns.size(); ++i) {
    Column c;
    c.name = plan.columns[i];
    uint32_t at = i < plan.column_index.size() ? plan.column_index[i] : 0;
    if (plan.shape.raw) {
      c.role = Column::kValue;
    } else if (at < plan.shape.keys) {
      c.role = Column::kGroup;
    } else if (at - plan.shape.keys < plan.shape.aggs.size()) {
      c.role = Column::kAggregate;
      c.fn = plan.shape.aggs[at - plan.shape.keys];
    }
    out.push_back(std::move(c));
  }
  return out;
}

const char* role_name(Column::Role r) {
  switch (r) {
    case Column::kGroup: return "group";
    case Column::kAggregate: return "aggregate";
    case Column::kValue: return "value";
  }
  return "value";
}

const char* agg_name(aggregate::AggFn fn) {
  switch (fn) {
    case aggregate::AggFn::kCount: return "count";
    case aggregate::AggFn::kSum: return "sum";
    case aggregate::AggFn::kMin: return "min";
    case aggregate::AggFn::kMax: return "max";
    case aggregate::AggFn::kAvg: return "avg";
    case aggregate::AggFn::kHist: return "hist";
    case aggregate::AggFn::kLhist: return "lhist";
    case aggregate::AggFn::kQuantile: return "quantile";
    case aggregate::AggFn::kCountDistinct: return "count_distinct";
  }
  return "count";
}

}  // namespace pivot::frontend
