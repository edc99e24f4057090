#include "serve/static_files.h"

namespace pivot::serve {

const StaticFile* find_embedded(std::string_view path) {
  for (const StaticFile& f : embedded_files()) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

std::string_view content_type_of(std::string_view path) {
  auto ends_with = [&](std::string_view ext) { return path.ends_with(ext); };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace pivot::serve
