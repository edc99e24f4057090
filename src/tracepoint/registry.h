// The process-wide registry of tracepoint sites.
//
// Static sites (PIVOT_TRACEPOINT) register during static initialization;
// dynamic ones (function hooks, spans of libraries loaded later) when they
// are created. The advice stage installs advice by setting Site::advice and
// sets a hook so that sites registered later get the advice for their name.
//
// Thread safety: all functions lock the registry mutex, except fire_slow,
// which takes no lock. Site objects are never freed while registered.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/internal/site.h"
#include "tracepoint/thread_state.h"

namespace pivot::internal {

using GetExportFn = void (*)(void* ctx, uint32_t i, ExportSink& sink);

// Advice installed on one site. The advice stage derives from it; `run` is
// its entry point, called inside a read section (thread_state.h).
//
// `run_gpr`, when set, runs the same advice for an event whose exports are
// all ints, in code that uses only the general-purpose registers
// (gpr_code.h): the fast path of hooked functions. `exports[i]` is export i
// when bit i of `have` is set. It returns false, having changed nothing,
// when it cannot take this event (an export it needs is not an int, the
// group is new, ...); the caller then runs `run`.
struct SiteAdvice {
  using RunFn = void (*)(const SiteAdvice& self, const Site& site, void* ctx, GetExportFn get) noexcept;
  using RunGprFn = bool (*)(const SiteAdvice& self, const int64_t* exports, uint64_t have,
                            ThreadState& ts) noexcept;
  RunFn run = nullptr;
  RunGprFn run_gpr = nullptr;  // in the pivot_gpr section, or null
};

// Held while installing or removing advice, so that no site registers
// halfway through.
std::mutex& registry_mutex();

// Sites with this tracepoint name / all sites. Caller holds registry_mutex().
std::vector<Site*> sites_named_locked(std::string_view name);
std::vector<Site*> all_sites_locked();

// Called with registry_mutex() held for each site registered after it is set.
using SiteAddedHook = void (*)(Site& site);
void set_site_added_hook(SiteAddedHook hook);

// Registers a site made at run time (hooks, dlopen'd code). Same as the
// static registration; the site must outlive the process or be removed.
void register_dynamic_site(Site* site);
void unregister_dynamic_site(Site* site);

// The built-in exports of every tracepoint.
// traceId is the current W3C trace id (pivot/trace_context.h), null without one.
enum class Builtin : uint8_t { kHost, kProcName, kProcId, kTid, kTimestamp, kCpu, kTraceId };
inline constexpr int kBuiltinCount = 7;
// Name and type of each builtin, in enum order.
const ExportDesc& builtin_desc(Builtin b);
bool builtin_named(std::string_view name, Builtin* out);

// One tracepoint name with the union of its sites' exports (builtins last).
struct TracepointInfo {
  std::string name;
  std::vector<ExportDesc> exports;
  int sites = 0;
};
// Every tracepoint name known in this process, sorted by name.
std::vector<TracepointInfo> list_tracepoints();

}  // namespace pivot::internal
