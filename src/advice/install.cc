// Installing and removing programs: the advice of each site is rebuilt and
// published with one atomic store, and what it replaced is freed after a
// grace period. Guarded by the registry mutex.
#include <algorithm>
#include <memory>
#include <mutex>

#include "advice/bound.h"

namespace pivot::advice {
namespace {

using namespace detail;

// The installed programs, in the order they came.
std::vector<ProgramPtr>& installed() {
  static auto* v = new std::vector<ProgramPtr>;
  return *v;
}

// Builds the advice of one site from the installed programs; null if none.
InstalledAdvice* build_advice(const internal::Site& site) {
  std::vector<ProgramPtr> mine;
  for (const ProgramPtr& p : installed()) {
    if (p->tracepoint == site.info->tracepoint) mine.push_back(p);
  }
  if (mine.empty()) return nullptr;
  // Programs nearer the emitting variable run first, so that at one event
  // an UNPACK never sees what this same event PACKs (a -> b means before).
  std::stable_sort(mine.begin(), mine.end(),
                   [](const ProgramPtr& a, const ProgramPtr& b) { return a->depth < b->depth; });
  auto* advice = new InstalledAdvice;
  advice->run = &run_advice;
  for (const ProgramPtr& p : mine) advice->bound.push_back(bind(p, site));
  add_gpr_plans(*advice, site);
  return advice;
}

// Replaces the advice of every site whose tracepoint is in `names`;
// returns what was replaced, to free after a grace period.
std::vector<const internal::SiteAdvice*> republish(const std::vector<std::string>& names) {
  std::vector<const internal::SiteAdvice*> retired;
  for (internal::Site* site : internal::all_sites_locked()) {
    if (std::find(names.begin(), names.end(), site->info->tracepoint) == names.end()) continue;
    const internal::SiteAdvice* fresh = build_advice(*site);
    retired.push_back(site->advice.exchange(fresh, std::memory_order_acq_rel));
  }
  return retired;
}

void on_site_added(internal::Site& site) {
  try {
    site.advice.store(build_advice(site), std::memory_order_release);
  } catch (...) {
    g_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void free_retired(const std::vector<const internal::SiteAdvice*>& retired) {
  internal::synchronize();
  for (const internal::SiteAdvice* a : retired) delete static_cast<const InstalledAdvice*>(a);
}

std::vector<std::string> tracepoints_of(const std::vector<ProgramPtr>& programs) {
  std::vector<std::string> names;
  for (const ProgramPtr& p : programs) names.push_back(p->tracepoint);
  return names;
}

}  // namespace

void install_programs(const std::vector<ProgramPtr>& programs) {
  static const bool hooks = [] {
    internal::set_site_added_hook(&on_site_added);
    internal::add_thread_exit_hook(&free_scratch);
    return true;
  }();
  (void)hooks;
  std::vector<const internal::SiteAdvice*> retired;
  {
    std::lock_guard<std::mutex> lock(internal::registry_mutex());
    installed().insert(installed().end(), programs.begin(), programs.end());
    retired = republish(tracepoints_of(programs));
  }
  free_retired(retired);
}

void remove_programs(const std::vector<ProgramPtr>& programs) {
  std::vector<const internal::SiteAdvice*> retired;
  {
    std::lock_guard<std::mutex> lock(internal::registry_mutex());
    auto& all = installed();
    all.erase(std::remove_if(all.begin(), all.end(),
                             [&](const ProgramPtr& p) {
                               return std::find(programs.begin(), programs.end(), p) != programs.end();
                             }),
              all.end());
    retired = republish(tracepoints_of(programs));
  }
  free_retired(retired);
}

Stats stats() { return Stats{0, detail::g_errors.load(std::memory_order_relaxed)}; }

}  // namespace pivot::advice
