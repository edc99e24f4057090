#include "core/unit_text.h"

#include <cstdio>
#include <iterator>

namespace pivot {

std::string with_unit(const Value& v, Unit unit) {
  if (!v.is_number() || (unit != Unit::kNanoseconds && unit != Unit::kBytes)) return v.to_string();
  struct Step {
    double size;
    const char* name;
  };
  static constexpr Step kTimes[] = {{1, "ns"}, {1e3, "us"}, {1e6, "ms"}, {1e9, "s"}};
  static constexpr Step kBytes[] = {{1, "B"},
                                    {1024.0, "KiB"},
                                    {1048576.0, "MiB"},
                                    {1073741824.0, "GiB"},
                                    {1099511627776.0, "TiB"},
                                    {1125899906842624.0, "PiB"}};
  const Step* steps = unit == Unit::kNanoseconds ? kTimes : kBytes;
  size_t n = unit == Unit::kNanoseconds ? std::size(kTimes) : std::size(kBytes);
  double x = v.to_double(), magnitude = x < 0 ? -x : x;
  size_t k = 0;
  while (k + 1 < n && magnitude >= steps[k + 1].size) ++k;
  char buf[64];
  if (k == 0 && v.is_int()) {
    std::snprintf(buf, sizeof buf, "%lld %s", static_cast<long long>(v.as_int()), steps[0].name);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f %s", x / steps[k].size, steps[k].name);
  }
  return buf;
}

}  // namespace pivot
