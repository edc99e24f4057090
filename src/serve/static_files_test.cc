#include "serve/static_files.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace pivot::serve {
namespace {

TEST(StaticFiles, ThePageAndEveryFileItLoadsAreEmbedded) {
  const StaticFile* index = find_embedded("/index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_NE(index->body.find("<script type=\"module\" src=\"app.js\">"), std::string_view::npos);
  // What the page and its modules load: src=/href= in the page, imports in
  // the modules. /static/chart.js is always served (a note when it was not
  // embedded), so only the dashboard's own files must be here.
  const std::regex page_ref(R"#((?:src|href)="([^":]+)")#");
  const std::regex import_ref(R"#(from '\./([^']+)')#");
  int refs = 0;
  for (const StaticFile& f : embedded_files()) {
    const std::regex& ref = f.path.ends_with(".html") ? page_ref : import_ref;
    if (!f.path.ends_with(".html") && !f.path.ends_with(".js")) continue;
    if (f.path == kChartJsPath) continue;
    std::string body(f.body);
    for (std::sregex_iterator m(body.begin(), body.end(), ref), end; m != end; ++m) {
      std::string path = (*m)[1].str();
      if (path.front() != '/') path = "/" + path;
      if (path == kChartJsPath) continue;
      EXPECT_NE(find_embedded(path), nullptr) << f.path << " loads " << path;
      ++refs;
    }
  }
  EXPECT_GE(refs, 8);
}

TEST(StaticFiles, ContentTypesTheBrowserInsistsOn) {
  EXPECT_EQ(content_type_of("/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_of("/app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_of(kChartJsPath), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_of("/style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_of("/x.bin"), "application/octet-stream");
}

TEST(StaticFiles, EmbeddedBytesAreTheFilesBytes) {
  const StaticFile* css = find_embedded("/style.css");
  ASSERT_NE(css, nullptr);
  EXPECT_FALSE(css->body.empty());
  EXPECT_EQ(css->body.find('\0'), std::string_view::npos);  // the array's terminator is not in the view
  EXPECT_EQ(find_embedded("/nope.js"), nullptr);
}

}  // namespace
}  // namespace pivot::serve
