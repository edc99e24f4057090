// The body of PIVOT_TRACEPOINT (pivot/tracepoint.h). Not public API.
//
// Each expansion declares a local tag type naming the site (tracepoint
// name, file, line, export names), so SiteHolder<Tag, Types> is a distinct
// constant-initialized site per expansion, registered during static
// initialization. The dormant check is the relaxed load below; the lambda
// that evaluates the exports exists only on the taken branch, so dormant
// sites evaluate nothing.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "pivot/internal/preprocessor.h"
#include "pivot/internal/site.h"

#define PIVOT_INTERNAL_TRACEPOINT(tracepoint_name, ...)                                                 \
  do {                                                                                                  \
    struct PivotSiteTag_ {                                                                              \
      static constexpr ::std::string_view tracepoint() { return tracepoint_name; }                      \
      static constexpr const char* file() { return __FILE__; }                                          \
      static constexpr int line() { return __LINE__; }                                                  \
      static constexpr auto names() {                                                                   \
        return ::std::array<::std::string_view, PIVOT_INTERNAL_COUNT(__VA_ARGS__)>{                     \
            __VA_OPT__(PIVOT_INTERNAL_FOR_EACH(PIVOT_INTERNAL_NAME, __VA_ARGS__))};                     \
      }                                                                                                 \
      static constexpr auto units() {                                                                   \
        return ::std::array<::std::string_view, PIVOT_INTERNAL_COUNT(__VA_ARGS__)>{                     \
            __VA_OPT__(PIVOT_INTERNAL_FOR_EACH(PIVOT_INTERNAL_UNIT, __VA_ARGS__))};                     \
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
