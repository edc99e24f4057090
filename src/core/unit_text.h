// A number with its unit (pivot::Unit) as text, for tables:
//
//   with_unit(Value(int64_t{10092132}), Unit::kNanoseconds);  // "10.09 ms"
//   with_unit(Value(int64_t{1258291}), Unit::kBytes);         // "1.20 MiB"
//
// Scaled to the largest step the value reaches (ns, us, ms, s; B, KiB, MiB,
// GiB, TiB, PiB), with two decimals; below the first step as it is
// (`950 ns`, `12 B`). Times since the epoch, values without a unit and
// non-numbers print as Value::to_string() does.
#pragma once

#include <string>

#include "pivot/value.h"

namespace pivot {

std::string with_unit(const Value& v, Unit unit);

}  // namespace pivot
