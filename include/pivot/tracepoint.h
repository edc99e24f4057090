// Static tracepoints.
//
//   void DataNodeMetrics::incrBytesRead(int64_t delta) {
//     PIVOT_TRACEPOINT("DataNodeMetrics.incrBytesRead", delta);
//     ...
//   }
//   PIVOT_TRACEPOINT("NN.GetBlockLocations", src, PIVOT_EXPORT("replicas", locs.hosts()));
//
// Each argument after the name is exported under its own spelling (`delta`
// is "delta"); PIVOT_EXPORT("name", expr) names an expression. Numbers, bools,
// enums, strings and containers of them can be exported; a container is a
// list-valued export, and advice runs once per element. Every tracepoint also
// exports host, procName, procId, tid, timestamp (ns since the epoch) and cpu.
//
// Cost: while no query uses the site, one relaxed atomic load and a
// predicted-not-taken branch; the arguments are not evaluated. When advice
// is installed only the exports it uses are evaluated.
//
// Sites are known from program load (they register during static
// initialization), so queries can name them before they first run. Several
// sites may share a name; advice for that name runs at all of them.
#pragma once

#include "pivot/internal/site.h"

#define PIVOT_EXPORT(name, expr) ::pivot::internal::pivot_export_named_(name, expr)

#define PIVOT_TRACEPOINT(tracepoint_name, ...)                                                          \
  do {                                                                                                  \
    struct PivotSiteTag_ {                                                                              \
      static constexpr ::std::string_view tracepoint() { return tracepoint_name; }                      \
      static constexpr const char* file() { return __FILE__; }                                          \
      static constexpr int line() { return __LINE__; }                                                  \
      static constexpr auto names() {                                                                   \
        return ::std::array<::std::string_view, PIVOT_INTERNAL_COUNT(__VA_ARGS__)>{                     \
            __VA_OPT__(PIVOT_INTERNAL_FOR_EACH(PIVOT_INTERNAL_NAME, __VA_ARGS__))};                     \
      }                                                                                                 \
    };                                                                                                  \
    __VA_OPT__(PIVOT_INTERNAL_FOR_EACH(PIVOT_INTERNAL_CHECK, __VA_ARGS__))                              \
    using PivotSite_ =                                                                                  \
        ::pivot::internal::SiteHolder<PivotSiteTag_,                                                    \
                                      ::pivot::internal::TypeList<void __VA_OPT__(                      \
                                          PIVOT_INTERNAL_FOR_EACH(PIVOT_INTERNAL_TYPE, __VA_ARGS__))>>; \
    (void)PivotSite_::registered; /* odr-use: instantiates the registration */                          \
    if (PivotSite_::site.advice.load(::std::memory_order_relaxed) != nullptr) [[unlikely]] {            \
      auto pivot_get_ = [&](uint32_t pivot_i_ [[maybe_unused]],                                         \
                            ::pivot::internal::ExportSink& pivot_sink_ [[maybe_unused]]) {              \
        switch (pivot_i_) {                                                                             \
          __VA_OPT__(PIVOT_INTERNAL_FOR_EACH(PIVOT_INTERNAL_CASE, __VA_ARGS__))                         \
          default: break;                                                                               \
        }                                                                                               \
      };                                                                                                \
      ::pivot::internal::fire(PivotSite_::site, pivot_get_);                                            \
    }                                                                                                   \
  } while (0)
