// The dashboard's routes: GET / (index.html) and every file of
// static_files.h at its own path. They pass the same authorize() as the API
// (server.cc): on loopback anyone may load the page; off loopback it needs
// the bearer token like every request (docs/serve.md, Security).
#include <cinttypes>
#include <cstdio>
#include <string>

#include "core/cityhash.h"
#include "serve/routes.h"
#include "serve/static_files.h"

namespace pivot::serve {

namespace {

// /static/chart.js of a pivot built without Chart.js: the page runs on,
// shows totals, and each card says why it has no chart.
constexpr std::string_view kNoChartJs =
    "// pivot was built without Chart.js: install Debian's libjs-chart.js, then reconfigure and rebuild.\n"
    "window.pivotChartMissing = 'no chart: this pivot was built without its chart library "
    "(Debian libjs-chart.js); the table has the totals';\n";

// The page may load and talk to serve only: nothing from another site can
// run in it (no CDN, by rule rather than by care), and no other site may
// frame it to have its Stop buttons clicked.
constexpr const char* kPagePolicy =
    "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct Asset {
  std::string_view body;
  std::string content_type;
  std::string etag;
};

Asset asset_of(std::string_view path, std::string_view body) {
  char etag[24];
  std::snprintf(etag, sizeof etag, "\"%016" PRIx64 "\"", CityHash64(body));
  return Asset{body, std::string(content_type_of(path)), etag};
}

// Every response is revalidated (no-cache), so a browser never mixes the
// files of two pivot versions after an upgrade; the ETag makes that a 304.
void send_asset(const Asset& a, const httplib::Request& req, httplib::Response& res) {
  res.set_header("Cache-Control", "no-cache");
  res.set_header("ETag", a.etag);
  res.set_header("X-Content-Type-Options", "nosniff");
  if (a.content_type.starts_with("text/html")) res.set_header("Content-Security-Policy", kPagePolicy);
  if (req.get_header_value("If-None-Match").find(a.etag) != std::string::npos) {
    res.status = 304;
    return;
  }
  res.set_content(a.body.data(), a.body.size(), a.content_type);
}

// cpp-httplib's paths are regular expressions; a file's name is literal.
std::string literal_pattern(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == '.') out += '\\';
    out += c;
  }
  return out;
}

void add_asset(httplib::Server& h, std::string_view path, Asset a) {
  h.Get(literal_pattern(path),
        [a = std::move(a)](const httplib::Request& req, httplib::Response& res) { send_asset(a, req, res); });
}

}  // namespace

void add_dashboard_routes(Server::Impl& s) {
  for (const StaticFile& f : embedded_files()) add_asset(s.http, f.path, asset_of(f.path, f.body));
  if (const StaticFile* index = find_embedded("/index.html"))
    add_asset(s.http, "/", asset_of(index->path, index->body));
  if (find_embedded(kChartJsPath) == nullptr)
    add_asset(s.http, kChartJsPath, asset_of(kChartJsPath, kNoChartJs));
}

}  // namespace pivot::serve
