// The dashboard's files, compiled into pivot at build time: web/dashboard
// and Chart.js (Debian's libjs-chart.js, when the build found it). An
// installed pivot serves them with no source tree and no network; the
// bytes come from dashboard_files.cc, which cmake/embed_files.cmake writes.
//
//   for (const StaticFile& f : embedded_files())
//     serve f.body at f.path as content_type_of(f.path);
//
// Thread safety: immutable data and pure functions.
#pragma once

#include <span>
#include <string_view>

namespace pivot::serve {

struct StaticFile {
  std::string_view path;  // the URL path: "/index.html", "/app.js", "/static/chart.js"
  std::string_view body;
};

inline constexpr std::string_view kChartJsPath = "/static/chart.js";

// Every embedded file, in no particular order.
std::span<const StaticFile> embedded_files();

// The file at `path`, or nullptr.
const StaticFile* find_embedded(std::string_view path);

// By extension: text/html, text/javascript (ES modules need a JavaScript
// type), text/css, each with charset=utf-8; application/octet-stream else.
std::string_view content_type_of(std::string_view path);

}  // namespace pivot::serve
