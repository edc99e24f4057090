// The dashboard as `pivot serve` serves it: the page and its modules from
// the pivot binary itself, with the types a browser insists on, revalidated
// by ETag, and behind the same token rules as the API. What the page does
// in a browser is tests/browser/dashboard.test.mjs.
#include <gtest/gtest.h>

#include "support/cli_harness.h"

#ifdef PIVOT_HAVE_SERVE
#include <fstream>

#include "support/serve_harness.h"
#endif

namespace {

using pivot::testing::CliHarness;
using pivot::testing::Transport;

#ifndef PIVOT_HAVE_SERVE

TEST(ServeDashboard, NeedsCppHttplib) {
  GTEST_SKIP() << "pivot serve is not built: Debian package libcpp-httplib-dev is missing (scripts/setup.sh)";
}

#else

using pivot::testing::ServeProcess;

class ServeDashboardTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(h_.start()) << h_.error(); }
  CliHarness h_{Transport::kLocal};
};

TEST_F(ServeDashboardTest, PageModulesAndChartLibraryWithTheirTypes) {
  ServeProcess serve(h_);
  ASSERT_TRUE(serve.start()) << serve.error();
  auto c = serve.client();
  struct Want {
    const char* path;
    const char* type;
    const char* starts;  // what the body starts with
  };
  for (const Want& w :
       {Want{"/", "text/html; charset=utf-8", "<!doctype html>"},
        Want{"/index.html", "text/html; charset=utf-8", "<!doctype html>"},
        Want{"/app.js", "text/javascript; charset=utf-8", "// The dashboard of `pivot serve`"},
        Want{"/query_card.js", "text/javascript; charset=utf-8", "//"},
        Want{"/style.css", "text/css; charset=utf-8", ""},
        // Chart.js' licence header, or the note of a build without it.
        Want{"/static/chart.js", "text/javascript; charset=utf-8", "/"}}) {
    auto r = c->Get(w.path);
    ASSERT_TRUE(r) << w.path;
    EXPECT_EQ(r->status, 200) << w.path;
    EXPECT_EQ(r->get_header_value("Content-Type"), w.type) << w.path;
    EXPECT_EQ(r->body.rfind(w.starts, 0), 0u) << w.path << ": " << r->body.substr(0, 80);
    EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache") << w.path;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << w.path;
  }
  auto page = c->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->get_header_value("Content-Security-Policy"),
            "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors "
            "'none'");
  auto r = c->Get("/nope.js");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(ServeDashboardTest, AnUnchangedFileIsA304) {
  ServeProcess serve(h_);
  ASSERT_TRUE(serve.start()) << serve.error();
  auto c = serve.client();
  auto first = c->Get("/app.js");
  ASSERT_TRUE(first);
  std::string etag = first->get_header_value("ETag");
  ASSERT_EQ(etag.size(), 18u) << etag;  // a quoted 64-bit hash
  auto again = c->Get("/app.js", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  auto other = c->Get("/board.js", {{"If-None-Match", etag}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
}

TEST_F(ServeDashboardTest, TheSameTokenRulesAsTheApi) {
  {
    // Loopback with a token: the page is a read, open like the API's reads.
    ServeProcess serve(h_, {}, {"PIVOT_TOKEN=t0ken"});
    ASSERT_TRUE(serve.start()) << serve.error();
    auto r = serve.client()->Get("/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  {
    // Off loopback: every request needs the token, the page too.
    std::string file = h_.dir() + "-token";
    std::ofstream(file) << "file-token\n";
    ServeProcess off(h_, {"--token-file", file});
    ASSERT_TRUE(off.start("0.0.0.0:0")) << off.error();
    for (const char* path : {"/", "/app.js", "/static/chart.js"}) {
      auto r = off.client()->Get(path);
      ASSERT_TRUE(r) << path;
      EXPECT_EQ(r->status, 401) << path;
      r = off.client()->Get(path, {{"Authorization", "Bearer file-token"}});
      ASSERT_TRUE(r) << path;
      EXPECT_EQ(r->status, 200) << path;
    }
    std::remove(file.c_str());
  }
}

#endif  // PIVOT_HAVE_SERVE

}  // namespace
