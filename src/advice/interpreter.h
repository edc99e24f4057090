// Runs advice programs at tracepoint sites, and installs them.
//
// install_programs() binds each program to every site of its tracepoint
// (resolving export names to the site's export indexes), publishes the new
// advice of each site with one atomic store, and keeps doing so for sites
// that register later. remove_programs() does the reverse and waits for a
// grace period, after which no thread runs the removed programs.
//
// The interpreter never throws into the host and never blocks: allocation
// failures drop the event and count it (stats()).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "advice/program.h"

namespace pivot::advice {

using ProgramPtr = std::shared_ptr<const Program>;

// Installs programs (all at once under the registry lock).
void install_programs(const std::vector<ProgramPtr>& programs);
// Removes them from every site, then waits for a grace period.
void remove_programs(const std::vector<ProgramPtr>& programs);

struct Stats {
  uint64_t events = 0;  // advice runs
  uint64_t errors = 0;  // events dropped on allocation failure or bad data
};
Stats stats();

}  // namespace pivot::advice
