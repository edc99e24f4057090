// What the planner knows about tracepoints: names and their exports, with
// types. In one process it comes from the site registry; a frontend builds
// it from what its agents advertise.
#pragma once

#include <string>
#include <vector>

#include "pivot/value.h"

namespace pivot::planner {

struct ExportSchema {
  std::string name;
  ValueType type = ValueType::kNull;  // kNull: unknown until run time
  bool is_list = false;
  Unit unit = Unit::kNone;
};

struct TracepointSchema {
  std::string name;
  std::vector<ExportSchema> exports;
};

struct Catalog {
  std::vector<TracepointSchema> tracepoints;

  const TracepointSchema* find(std::string_view name) const {
    for (const auto& t : tracepoints) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
};

// The catalog of this process's sites (including the builtin exports).
Catalog local_catalog();

}  // namespace pivot::planner
