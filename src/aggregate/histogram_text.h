// Draws a HIST or LHIST cell (Dist::to_json's text) as bpftrace does:
//
//   [0]                    1 |@@@@@@@@@@@@@                                       |
//   [1]                    0 |                                                    |
//   [2, 4)                 4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [1K, 2K)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
//
// a bucket label (bounds that are multiples of 1024 with K, M, G, T, P, E),
// its count, and a bar scaled to the largest count. Text that is not such a
// cell comes back as it is, on one line.
#pragma once

#include <string>

namespace pivot::aggregate {

std::string draw_histogram(const std::string& cell_json, const std::string& indent);

}  // namespace pivot::aggregate
