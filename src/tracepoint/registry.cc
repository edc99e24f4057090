#include "tracepoint/registry.h"

#include <algorithm>
#include <map>

#include "core/fork.h"
#include "tracepoint/thread_state.h"

namespace pivot::internal {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<Site*> sites;
  SiteAddedHook hook = nullptr;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: sites fire until exit
  return *r;
}

constexpr ExportDesc kBuiltins[kBuiltinCount] = {
    {"host", ValueType::kString, false},
    {"procName", ValueType::kString, false},
    {"procId", ValueType::kInt, false},
    {"tid", ValueType::kInt, false},
    {"timestamp", ValueType::kInt, false, Unit::kEpochNanoseconds},
    {"cpu", ValueType::kInt, false},
    {"traceId", ValueType::kString, false},
};

// fork() holds it across (core/fork.h), so that the child finds the list
// whole and free: a library the child loads registers its sites.
void before_fork() noexcept { registry().mu.lock(); }
void after_fork() noexcept { registry().mu.unlock(); }
[[maybe_unused]] const bool g_fork_handler =
    add_fork_handler(ForkOrder::kSites, {before_fork, after_fork, after_fork});

void add_locked(Registry& r, Site* site) {
  if (std::find(r.sites.begin(), r.sites.end(), site) != r.sites.end()) return;
  r.sites.push_back(site);
  if (r.hook != nullptr) r.hook(*site);
}

}  // namespace

bool register_site(Site* site) noexcept {
  try {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    add_locked(r, site);
    return true;
  } catch (...) {
    return false;
  }
}

void register_dynamic_site(Site* site) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  add_locked(r, site);
}

void unregister_dynamic_site(Site* site) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.sites.erase(std::remove(r.sites.begin(), r.sites.end(), site), r.sites.end());
}

std::mutex& registry_mutex() { return registry().mu; }

std::vector<Site*> sites_named_locked(std::string_view name) {
  std::vector<Site*> out;
  for (Site* s : registry().sites) {
    if (s->info->tracepoint == name) out.push_back(s);
  }
  return out;
}

std::vector<Site*> all_sites_locked() { return registry().sites; }

void set_site_added_hook(SiteAddedHook hook) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.hook = hook;
}

const ExportDesc& builtin_desc(Builtin b) { return kBuiltins[static_cast<int>(b)]; }

bool builtin_named(std::string_view name, Builtin* out) {
  for (int i = 0; i < kBuiltinCount; ++i) {
    if (kBuiltins[i].name == name) {
      *out = static_cast<Builtin>(i);
      return true;
    }
  }
  return false;
}

std::vector<TracepointInfo> list_tracepoints() {
  std::map<std::string_view, TracepointInfo> by_name;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    for (Site* s : r.sites) {
      // Sites of tracepoints defined by an installed text ("incr#<uid>")
      // belong to that text alone.
      if (s->info->tracepoint.find('#') != std::string_view::npos) continue;
      TracepointInfo& tp = by_name[s->info->tracepoint];
      tp.name = std::string(s->info->tracepoint);
      ++tp.sites;
      for (uint32_t i = 0; i < s->info->n_exports; ++i) {
        const ExportDesc& e = s->info->exports[i];
        bool seen = std::any_of(tp.exports.begin(), tp.exports.end(),
                                [&](const ExportDesc& x) { return x.name == e.name; });
        if (!seen) tp.exports.push_back(e);
      }
    }
  }
  std::vector<TracepointInfo> out;
  for (auto& [name, tp] : by_name) {
    for (const ExportDesc& b : kBuiltins) {  // a site's own export shadows a builtin
      bool shadowed = std::any_of(tp.exports.begin(), tp.exports.end(),
                                  [&](const ExportDesc& e) { return e.name == b.name; });
      if (!shadowed) tp.exports.push_back(b);
    }
    out.push_back(std::move(tp));
  }
  return out;
}

void fire_slow(Site& site, void* ctx, GetExportFn get) noexcept {
  ReadSection section(current_thread_state());
  if (!section.entered()) return;
  const SiteAdvice* advice = site.advice.load(std::memory_order_acquire);
  if (advice != nullptr) advice->run(*advice, site, ctx, get);
}

}  // namespace pivot::internal
