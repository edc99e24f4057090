// The tracepoints of the Pivot Tracing paper's HDFS instrumentation, as
// examples/minidfs provides them: a fixed catalog so planner tests do not
// depend on which sites a binary happens to contain.
#pragma once

#include "planner/catalog.h"

namespace pivot::planner {

inline Catalog paper_catalog() {
  using T = ValueType;
  auto with_builtins = [](std::vector<ExportSchema> own) {
    for (ExportSchema b : std::vector<ExportSchema>{{"host", T::kString},
                                                    {"procName", T::kString},
                                                    {"procId", T::kInt},
                                                    {"tid", T::kInt},
                                                    {"timestamp", T::kInt},
                                                    {"cpu", T::kInt},
                                                    {"traceId", T::kString}}) {
      bool shadowed = false;
      for (const auto& e : own) shadowed = shadowed || e.name == b.name;
      if (!shadowed) own.push_back(b);
    }
    return own;
  };
  Catalog c;
  c.tracepoints = {
      {"ClientProtocols", with_builtins({{"procName", T::kString}, {"op", T::kString}, {"src", T::kString}})},
      {"StressTest.DoNextOp", with_builtins({{"op", T::kString}, {"src", T::kString}})},
      {"NN.GetBlockLocations", with_builtins({{"src", T::kString}, {"replicas", T::kString, true}})},
      {"DN.DataTransferProtocol",
       with_builtins({{"op", T::kString}, {"block", T::kInt}, {"src", T::kString}})},
      {"DataNodeMetrics.incrBytesRead", with_builtins({{"delta", T::kInt}})},
      {"ReceiveRequest", with_builtins({{"op", T::kString}})},
      {"SendResponse", with_builtins({{"op", T::kString}})},
  };
  return c;
}

}  // namespace pivot::planner
