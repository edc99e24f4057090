#include "planner/catalog.h"

#include "tracepoint/registry.h"

namespace pivot::planner {

Catalog local_catalog() {
  Catalog c;
  for (const internal::TracepointInfo& tp : internal::list_tracepoints()) {
    TracepointSchema& t = c.tracepoints.emplace_back();
    t.name = tp.name;
    for (const internal::ExportDesc& e : tp.exports)
      t.exports.push_back({std::string(e.name), e.type, e.is_list, e.unit});
  }
  return c;
}

}  // namespace pivot::planner
