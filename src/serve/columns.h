// The roles of a query's result columns, as serve names them: they live in
// the planner (planner/columns.h), which OTLP export shares.
#pragma once

#include "planner/columns.h"

namespace pivot::serve {

using planner::agg_name;
using planner::Column;
using planner::describe_columns;
using planner::role_name;

}  // namespace pivot::serve
