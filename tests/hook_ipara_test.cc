// Hooks on ordinary C++ functions built at -O2 and -O3 (tests/support/
// ipara.inc): the same-file callers keep values in caller-saved registers
// across the hooked calls (GCC's -fipa-ra; clang has no such thing, and the
// test holds there too). Each caller's result with Entry, Return or both
// hooks installed, on the stub's fast and slow paths, must equal its result
// without, and the queries count every call exactly.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "hook/stub.h"
#include "pivot/pivot.h"

namespace ipara_o2 {
int64_t leaf(int64_t x);
double leaf_fp(double x);
int64_t caller(int64_t n);
double caller_fp(int64_t n);
}  // namespace ipara_o2
namespace ipara_o3 {
int64_t leaf(int64_t x);
double leaf_fp(double x);
int64_t caller(int64_t n);
double caller_fp(int64_t n);
}  // namespace ipara_o3

namespace {

struct Build {
  const char* ns;
  int64_t (*caller)(int64_t);
  double (*caller_fp)(int64_t);
};
const Build kBuilds[] = {{"ipara_o2", &ipara_o2::caller, &ipara_o2::caller_fp},
                         {"ipara_o3", &ipara_o3::caller, &ipara_o3::caller_fp}};

constexpr int64_t kN = 1000;

// caller(kN) calls leaf(2i + 7kN) for i < kN.
constexpr int64_t kArgSum = kN * (kN - 1) + 7 * kN * kN;
constexpr int64_t kRetSum = 3 * kArgSum + kN;

std::string table(pivot::Session& s, pivot::QueryId q) { return s.results(q).to_json(); }

class HookIpaRa : public ::testing::TestWithParam<Build> {};

TEST_P(HookIpaRa, CallersKeepTheirRegistersAcrossHookedCalls) {
  const Build& b = GetParam();
  const std::string ns = b.ns;
  const int64_t want = b.caller(kN);
  const double want_fp = b.caller_fp(kN);

  pivot::Session s;
  const std::string entry = "Tracepoint e = Entry(\"" + ns + "::leaf\") Exports x = arg0\n" +
                            "From c In e Select COUNT, SUM(c.x), AVG(c.x * 0.5)";
  const std::string ret = "Tracepoint r = Return(\"" + ns + "::leaf\") Exports x = arg0, r = ret\n" +
                          "From c In r Where c.duration >= 0 Select COUNT, SUM(c.x), SUM(c.r)";
  const std::string fp = "Tracepoint f = Return(\"" + ns + "::leaf_fp\") Exports x = arg0\n" +
                         "From c In f Select COUNT, MAX(c.x)";
  {
    auto q = s.install(entry);
    ASSERT_TRUE(q) << q.error().message();
    EXPECT_EQ(b.caller(kN), want);
    EXPECT_EQ(table(s, *q),
              R"json({"columns":["COUNT","SUM(c.x)","AVG(c.x * 0.5)"],"rows":[[1000,7999000,3999.5]]})json");
    ASSERT_TRUE(s.uninstall(*q));
  }
  {
    auto q = s.install(ret);
    ASSERT_TRUE(q) << q.error().message();
    EXPECT_EQ(b.caller(kN), want);
    EXPECT_EQ(table(s, *q), "{\"columns\":[\"COUNT\",\"SUM(c.x)\",\"SUM(c.r)\"],\"rows\":[[1000," +
                                std::to_string(kArgSum) + "," + std::to_string(kRetSum) + "]]}");
    ASSERT_TRUE(s.uninstall(*q));
  }
  {
    auto e = s.install(entry);
    auto r = s.install(ret);
    auto f = s.install(fp);
    ASSERT_TRUE(e) << e.error().message();
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_EQ(b.caller(kN), want);
    EXPECT_EQ(b.caller_fp(kN), want_fp);
    EXPECT_EQ(s.results(*e).rows.at(0).at(0).as_int(), kN);
    EXPECT_EQ(s.results(*r).rows.at(0).at(0).as_int(), kN);
    // leaf_fp's arguments are 1.5 i + kN/4 for i < kN.
    EXPECT_EQ(table(s, *f), R"json({"columns":["COUNT","MAX(c.x)"],"rows":[[1000,1748.5]]})json");
    ASSERT_TRUE(s.uninstall(*e));
    ASSERT_TRUE(s.uninstall(*r));
    ASSERT_TRUE(s.uninstall(*f));
  }
  {
    // Advice the stub's fast path runs (stub.h): nothing but the integer
    // registers is saved around it. Fast at entry and at return, while the
    // double leaf takes the slow path.
    auto e = s.install("Tracepoint e = Entry(\"" + ns + "::leaf\") Exports x = arg0\n" +
                       "From c In e Select COUNT, SUM(c.x)");
    auto r = s.install("Tracepoint r = Return(\"" + ns + "::leaf\") Exports x = arg0\n" +
                       "From c In r Select COUNT, SUM(c.x), SUM(c.ret)");
    auto f = s.install(fp);
    ASSERT_TRUE(e) << e.error().message();
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_TRUE(f) << f.error().message();
    uint64_t before = pivot::hook::full_saves_on_this_thread();
    EXPECT_EQ(b.caller(kN), want);
    EXPECT_LE(pivot::hook::full_saves_on_this_thread() - before, 6u);  // the first events: new groups
    EXPECT_EQ(b.caller_fp(kN), want_fp);
    EXPECT_EQ(table(s, *e),
              "{\"columns\":[\"COUNT\",\"SUM(c.x)\"],\"rows\":[[1000," + std::to_string(kArgSum) + "]]}");
    EXPECT_EQ(table(s, *r), "{\"columns\":[\"COUNT\",\"SUM(c.x)\",\"SUM(c.ret)\"],\"rows\":[[1000," +
                                std::to_string(kArgSum) + "," + std::to_string(kRetSum) + "]]}");
    EXPECT_EQ(table(s, *f), R"json({"columns":["COUNT","MAX(c.x)"],"rows":[[1000,1748.5]]})json");
    ASSERT_TRUE(s.uninstall(*e));
    ASSERT_TRUE(s.uninstall(*r));
    ASSERT_TRUE(s.uninstall(*f));
  }
  EXPECT_EQ(b.caller(kN), want);
  EXPECT_EQ(b.caller_fp(kN), want_fp);
}

INSTANTIATE_TEST_SUITE_P(Builds, HookIpaRa, ::testing::ValuesIn(kBuilds),
                         [](const ::testing::TestParamInfo<Build>& info) {
                           return std::string(info.param.ns);
                         });

}  // namespace
