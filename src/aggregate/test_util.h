// Helpers shared by the aggregate tests.
#pragma once

#include <string>

#include "aggregate/partial.h"

namespace pivot::aggregate::testing {

// A partial's final rows, each as "[key...,value...]", back to back.
inline std::string rows_json(const Partial& p) {
  std::string out;
  for (const auto& row : p.rows()) {
    out += "[";
    for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + row[i].to_json();
    out += "]";
  }
  return out;
}

}  // namespace pivot::aggregate::testing
