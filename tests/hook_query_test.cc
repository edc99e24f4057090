// Tracepoints defined in query text on functions of this process, end to
// end through pivot::Session: causal joins with static tracepoints, Return
// with duration, two texts defining the same name, and errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/sanitizers.h"
#include "pivot/pivot.h"
#include "planner/catalog.h"
#include "session/installation.h"

// Keeps calls to a function real calls: no inlining, and under GCC no
// cloning either (noclone; clang has no such attribute). Not noipa: GCC's
// interprocedural register allocation stays on, as in the code users hook.
#if defined(__clang__)
#define OPAQUE_FN [[gnu::noinline]]
#else
#define OPAQUE_FN [[gnu::noinline, gnu::noclone]]
#endif

namespace shop {

std::atomic<int64_t> g_stock{0};
std::atomic<size_t> g_last_warehouse{0};

// Plain functions with no tracepoint in them. noinline and noclone keep every call a call.
OPAQUE_FN int64_t restock(int64_t items, const std::string& warehouse) {
  g_last_warehouse = warehouse.size();
  return g_stock += items;
}

std::atomic<int64_t> g_priced{0};

// A side effect, so that no caller may drop a call whose result it ignores.
OPAQUE_FN double price(double base, int quantity) {
  g_priced += 1;
  return base * quantity;
}

// Pure functions for the stress test below: their results check that every
// call still computes the right thing while hooks come and go.
OPAQUE_FN int64_t weigh(int64_t grams) { return grams * 3 + 1; }
OPAQUE_FN int64_t wrap(int64_t parcels, int64_t size) { return parcels * size + 7; }

}  // namespace shop

namespace {

#if PIVOT_TSAN
// ThreadSanitizer's runtime thread blocks every signal, SIGTRAP included,
// and never runs the functions hooked here.
const bool kTsanAllowsInt3 = setenv("PIVOT_HOOK_INT3", "allow", 1) == 0;
#endif

void order(const std::string& customer) { PIVOT_TRACEPOINT("Shop.order", customer); }

TEST(HookQuery, EntryJoinsAStaticTracepointByCausality) {
  pivot::Session s;
  auto q = s.install(
      "Tracepoint restock = Entry(\"shop::restock\") Exports items = arg0, warehouse = arg1\n"
      "From r In restock Join o In First(Shop.order) On o -> r\n"
      "GroupBy o.customer, r.warehouse Select o.customer, r.warehouse, SUM(r.items), COUNT");
  ASSERT_TRUE(q) << q.error().message();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 1; i <= 100; ++i) {
        pivot::baggage::Scope scope{pivot::Baggage()};
        order(t % 2 ? "ann" : "bob");
        shop::restock(i, i % 2 ? "north" : "south");
      }
    });
  }
  for (auto& t : threads) t.join();
  shop::restock(1000, "north");  // no order before it: no join
  EXPECT_EQ(
      s.results(*q).to_json(),
      R"json({"columns":["o.customer","r.warehouse","SUM(r.items)","COUNT"],"rows":[)json"
      R"json(["ann","north",5000,100],["ann","south",5100,100],["bob","north",5000,100],["bob","south",5100,100]]})json");
}

TEST(HookQuery, ReturnExportsRetAndDuration) {
  pivot::Session s;
  auto q = s.install(
      "Tracepoint priced = Return(\"shop::price\") Exports base = arg0, n = arg1\n"
      "From p In priced Where p.duration >= 0 GroupBy p.n Select p.n, SUM(p.base), COUNT");
  ASSERT_TRUE(q) << q.error().message();
  for (int i = 1; i <= 10; ++i) shop::price(1.5, i % 3);
  EXPECT_EQ(s.results(*q).to_json(),
            R"json({"columns":["p.n","SUM(p.base)","COUNT"],"rows":[[0,4.5,3],[1,6.0,4],[2,4.5,3]]})json");
}

TEST(HookQuery, TwoTextsDefineTheSameNameEachForItself) {
  pivot::Session s;
  auto a = s.install("Tracepoint t = Entry(\"shop::restock\") Exports x = arg0\nFrom e In t Select SUM(e.x)");
  auto b = s.install("Tracepoint t = Entry(\"shop::price\") Exports x = arg1\nFrom e In t Select SUM(e.x)");
  auto c = s.install(
      "Tracepoint t = Entry(\"shop::restock\") Exports x = arg0\nFrom e In t Select COUNT");  // shares a's
                                                                                              // hook
  ASSERT_TRUE(a && b && c);
  shop::restock(5, "x");
  shop::restock(6, "x");
  shop::price(2.0, 7);
  EXPECT_EQ(s.results(*a).to_json(), R"json({"columns":["SUM(e.x)"],"rows":[[11]]})json");
  EXPECT_EQ(s.results(*b).to_json(), R"json({"columns":["SUM(e.x)"],"rows":[[7]]})json");
  EXPECT_EQ(s.results(*c).to_json(), R"json({"columns":["COUNT"],"rows":[[2]]})json");
  ASSERT_TRUE(s.uninstall(*a));
  shop::restock(1, "x");
  EXPECT_EQ(s.results(*c).to_json(), R"json({"columns":["COUNT"],"rows":[[3]]})json");
}

#if PIVOT_ASAN || PIVOT_TSAN
constexpr int kRounds = 100;
#else
constexpr int kRounds = 500;
#endif

// Queries with runtime-defined tracepoints are installed and removed (two
// per round: 1,000 of each in release) while threads call the functions in
// tight loops. One
// query stays installed throughout on a function whose hook is shared with
// the coming and going ones: it counts every call exactly. The other
// function is patched and unpatched on every round (Entry and Return in
// turn). Every call's result is checked.
TEST(HookQuery, QueriesComeAndGoWhileThreadsCall) {
  pivot::Session s;
  auto steady =
      s.install("Tracepoint w = Entry(\"shop::weigh\") Exports g = arg0\nFrom e In w Select COUNT, SUM(e.g)");
  ASSERT_TRUE(steady) << steady.error().message();
  std::atomic<bool> stop{false};
  std::atomic<int64_t> wrong{0}, weighed{0}, grams{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      int64_t n = 0, sum = 0;
      for (int64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        int64_t g = (i + t) % 100;
        if (shop::weigh(g) != g * 3 + 1) wrong++;
        ++n;
        sum += g;
        if (shop::wrap(i % 10, 4) != (i % 10) * 4 + 7) wrong++;
#if PIVOT_TSAN
        if (i % 256 == 0) usleep(0);  // TSan runs signal handlers at interceptors only
#endif
      }
      weighed += n;
      grams += sum;
    });
  }
  int installed = 0;
  for (int i = 0; i < kRounds; ++i) {
    auto shared =
        s.install("Tracepoint w = Entry(\"shop::weigh\") Exports g = arg0\nFrom e In w Select COUNT");
    auto own = s.install(std::string("Tracepoint p = ") + (i % 2 ? "Return" : "Entry") +
                         "(\"shop::wrap\") Exports n = arg0\nFrom e In p Select SUM(e.n)");
    ASSERT_TRUE(shared) << shared.error().message();
    ASSERT_TRUE(own) << own.error().message();
    installed += 2;
    ASSERT_TRUE(s.uninstall(*own));
    ASSERT_TRUE(s.uninstall(*shared));
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(installed, 2 * kRounds);
  EXPECT_EQ(wrong.load(), 0);
  auto rows = s.results(*steady).to_json();
  EXPECT_EQ(rows, R"json({"columns":["COUNT","SUM(e.g)"],"rows":[[)json" + std::to_string(weighed.load()) +
                      "," + std::to_string(grams.load()) + "]]}");
}

TEST(HookQuery, ErrorsPointAtTheDefinition) {
  pivot::Session s;
  auto unknown = s.install("Tracepoint t = Entry(\"shop::restok\")\nFrom e In t Select COUNT");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().line(), 1);
  EXPECT_EQ(unknown.error().column(), 22);
  EXPECT_NE(
      unknown.error().message().find("no function matches 'shop::restok'; similar: shop::restock(long, "),
      std::string::npos)
      << unknown.error().message();
  auto range = s.install("Tracepoint t = Entry(\"shop::price\") Exports x = arg2\nFrom e In t Select COUNT");
  ASSERT_FALSE(range);
  EXPECT_NE(
      range.error().message().find("arg2 does not exist: shop::price(double, int) has arguments arg0..arg1"),
      std::string::npos)
      << range.error().message();
  auto type =
      s.install("Tracepoint t = Entry(\"shop::restock\") Exports w = arg1\nFrom e In t Select SUM(e.w)");
  ASSERT_FALSE(type);
  EXPECT_NE(type.error().message().find("SUM"), std::string::npos) << type.error().message();
  auto explained =
      s.explain("Tracepoint t = Entry(\"shop::price\") Exports n = arg1\nFrom e In t Select SUM(e.n)");
  ASSERT_TRUE(explained) << explained.error().message();
  // The advice, then where the definition's export is read from, and how
  // pivot knows (this test is built with -g: from its debug information).
  const std::string self = PIVOT_BINARY_DIR "/tests/hook_query_test";
  EXPECT_EQ(*explained, "A1 @ t: OBSERVE n; EMIT q1 SUM(n)\nt @ shop::price(double, int) (" + self +
                            "): debug info (" + self + "); n = arg1 (rdi, int)\n");
}

// An agent in a fleet of different programs installs a text even where its
// process lacks a defined function: other processes have it, and the text's
// other advice (here, the Shop.order side of a join) must run everywhere.
TEST(HookQuery, AnAgentSkipsADefinitionItsProcessLacks) {
  const char* text =
      "Tracepoint t = Entry(\"elsewhere::f\") Exports x = arg0\n"
      "From e In t Join o In First(Shop.order) On o -> e GroupBy o.customer Select o.customer, SUM(e.x)";
  using pivot::session::Installation;
  using pivot::session::MissingFunctions;
  auto strict = Installation::create(text, pivot::planner::local_catalog(), 1);
  ASSERT_FALSE(strict);
  EXPECT_NE(strict.error().message().find("no function matches 'elsewhere::f'"), std::string::npos);
  auto lenient = Installation::create(text, pivot::planner::local_catalog(), 2, MissingFunctions::kSkip);
  ASSERT_TRUE(lenient) << lenient.error().message();
  EXPECT_TRUE((*lenient)->hooked().empty());
  ASSERT_EQ((*lenient)->skipped().size(), 1u);
  EXPECT_EQ((*lenient)->skipped()[0].rfind("t: no function matches 'elsewhere::f'", 0), 0u)
      << (*lenient)->skipped()[0];
}

}  // namespace
