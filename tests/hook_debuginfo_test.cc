// Hooks that read the right values: the same ordinary code
// (support/debuginfo_subject.inc) built as services are, queried through
// pivot::Session, and every export compared with the values the program
// itself passed.
//
//   dbg_g      -O2 -g, in this executable: debug information (exact)
//   dbg_split  -O2 -g, in libdebuginfo_split.so, its DWARF moved to
//              libdebuginfo_split.so.debug (.gnu_debuglink) and the library
//              stripped: debug information from the separate file (exact)
//   dbg_plain  -O2 -g0, in this executable: the symbol table's rules, and the
//              errors and explain lines that say what they cannot know
//   dbg_lto    -O2 -g -flto (GCC): .lto_priv clones
//
// Every parameter kind by name and by argN: integers of each width and
// sign, bool, both kinds of enum, float and double (and a double return),
// const char*, std::string by reference and by value, std::string_view, a
// class returned by value (hidden pointer) and one returned in registers;
// members, const and not, of a class with other members and of a plain
// struct with none; and GCC's clones of each kind.
#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "core/sanitizers.h"
#include "hook/debuginfo.h"
#include "hook/hook.h"
#include "pivot/pivot.h"

#define DEBUGINFO_NS dbg_g
#include "support/debuginfo_subject.h"
#undef DEBUGINFO_NS
#define DEBUGINFO_NS dbg_plain
#include "support/debuginfo_subject.h"
#undef DEBUGINFO_NS
#define DEBUGINFO_NS dbg_split
#include "support/debuginfo_subject.h"
#undef DEBUGINFO_NS
#if defined(PIVOT_TEST_LTO)
#define DEBUGINFO_NS dbg_lto
#include "support/debuginfo_subject.h"
#undef DEBUGINFO_NS
namespace dbg_lto {
int64_t scale_other(int64_t a, int times);
}
#endif

namespace {

using pivot::ResultTable;
using pivot::Value;

#if PIVOT_TSAN
const bool kTsanAllowsInt3 = setenv("PIVOT_HOOK_INT3", "allow", 1) == 0;
#endif

#if PIVOT_ASAN || PIVOT_TSAN || defined(__clang__)
// The sanitizers' instrumentation and clang change which clones exist;
// where one does not, its case is skipped with the reason.
constexpr bool kClonesAreGccs = false;
#else
constexpr bool kClonesAreGccs = true;
#endif

constexpr int kCalls = 10;

// What each call is given: the program's own values, which the query must see.
struct IntsArgs {
  signed char c;
  unsigned char uc;
  short s;
  unsigned short us;
  int i;
  unsigned u;
};
IntsArgs ints_args(int k) {
  return {static_cast<signed char>(-100 + k),
          static_cast<unsigned char>(200 + k),
          static_cast<short>(-30000 + k),
          static_cast<unsigned short>(60000 + k),
          -2'000'000'000 + k,
          4'000'000'000u + static_cast<unsigned>(k)};
}

// The subject's functions in one build, behind the same signatures.
struct Store;
struct Calls {
  std::function<int64_t(const IntsArgs&)> ints;
  std::function<int64_t(long, unsigned long, bool, bool high, bool sad)> wide;
  std::function<double(float, double, int)> scale;
  std::function<size_t(const char*, const std::string&, std::string, std::string_view)> texts;
  std::function<std::string(int, const char*)> label;
  std::function<int64_t(int64_t, double)> make_point;  // the x of the result
  // Store: put, total(high), describe on one object; its address.
  std::function<void(int64_t*, int64_t*, std::string*, const std::string&, int64_t, bool, int)> store;
  std::function<int64_t(int64_t, int64_t*)> counter;  // add(n, 3) on one Counter; *self its address
  std::function<double(int64_t, double, int64_t)> orders;
  std::function<int64_t(int64_t, int64_t)> scale_both;
  std::function<int64_t(const char*, int64_t)> checksum;
  std::function<int64_t(const char*, int64_t)> checksum_twice;
  std::function<int64_t(int64_t, int64_t)> refill;
};

#define SUBJECT_CALLS(NS)                                                                                    \
  Calls {                                                                                                    \
    [](const IntsArgs& a) { return NS::ints(a.c, a.uc, a.s, a.us, a.i, a.u); },                              \
        [](long l, unsigned long ul, bool b, bool high, bool sad) {                                          \
          return NS::wide(l, ul, b, high ? NS::Level::kHigh : NS::Level::kLow, sad ? NS::kSad : NS::kHappy); \
        },                                                                                                   \
        [](float f, double d, int n) { return NS::scale(f, d, n); },                                         \
        [](const char* cs, const std::string& ref, std::string val, std::string_view view) {                 \
          return NS::texts(cs, ref, std::move(val), view);                                                   \
        },                                                                                                   \
        [](int n, const char* prefix) { return NS::label(n, prefix); },                                      \
        [](int64_t x, double y) { return NS::make_point(x, y).x; },                                          \
        [](int64_t* self, int64_t* total, std::string* described, const std::string& key, int64_t size,      \
           bool high, int width) {                                                                           \
          static NS::Store store;                                                                            \
          *self = reinterpret_cast<int64_t>(&store);                                                         \
          store.put(key, size);                                                                              \
          *total = store.total(high ? NS::Level::kHigh : NS::Level::kLow);                                   \
          *described = store.describe(width);                                                                \
        },                                                                                                   \
        [](int64_t n, int64_t* self) {                                                                       \
          static NS::Counter counter;                                                                        \
          *self = reinterpret_cast<int64_t>(&counter);                                                       \
          return counter.add(n, 3);                                                                          \
        },                                                                                                   \
        [](int64_t q, double p, int64_t d) { return NS::orders(q, p, d); },                                  \
        [](int64_t a, int64_t b) { return NS::scale_both(a, b); },                                           \
        [](const char* s, int64_t n) { return NS::checksum(s, n); },                                         \
        [](const char* s, int64_t n) { return NS::checksum_twice(s, n); },                                   \
        [](int64_t stock, int64_t want) { return NS::refill(stock, want); },                                 \
  }

struct Build {
  const char* ns;
  bool debug;        // has debug information
  const char* file;  // where it is: the end of the path explain names
  Calls calls;
};

// Test names and failure messages name the build, not its bytes.
void PrintTo(const Build& b, std::ostream* os) { *os << b.ns; }

const Build kBuilds[] = {
    {"dbg_g", true, "/tests/hook_debuginfo_test", SUBJECT_CALLS(dbg_g)},
    {"dbg_split", true, "/tests/libdebuginfo_split.so.debug", SUBJECT_CALLS(dbg_split)},
    {"dbg_plain", false, "", SUBJECT_CALLS(dbg_plain)},
};

// Installs `text`, runs `work`, and returns the query's results as JSON, or
// "error: ..." when the install fails.
std::string run(const std::string& text, const std::function<void()>& work) {
  pivot::Session s;
  auto q = s.install(text);
  if (!q) return "error: " + q.error().message();
  work();
  return s.results(*q).to_json();
}

std::string table(std::vector<std::string> columns, std::vector<std::vector<Value>> rows) {
  ResultTable t;
  t.columns = std::move(columns);
  t.rows = std::move(rows);
  return t.to_json();
}

// The explain lines of a text's definitions (after the advice lines).
std::string explain_functions(const std::string& text) {
  pivot::Session s;
  auto e = s.explain(text);
  if (!e) return "error: " + e.error().message();
  std::string out;
  size_t at = 0;
  while (at < e->size()) {
    size_t end = e->find('\n', at);
    std::string line = e->substr(at, end - at);
    if (!line.starts_with("A")) out += line + "\n";
    at = end == std::string::npos ? e->size() : end + 1;
  }
  return out;
}

class DebugInfoHooks : public ::testing::TestWithParam<Build> {
 protected:
  std::string ns() const { return GetParam().ns; }
  bool debug() const { return GetParam().debug; }
  const Calls& calls() const { return GetParam().calls; }
  std::string def(const std::string& kind, const std::string& fn, const std::string& exports) const {
    return "Tracepoint t = " + kind + "(\"" + ns() + "::" + fn + "\")" +
           (exports.empty() ? "" : " Exports " + exports) + "\n";
  }
  // The message a name export gets without debug information.
  void expect_names_refused(const std::string& text, const std::string& fn) {
    std::string got = run(text, [] {});
    EXPECT_NE(got.find("parameter names come from debug information, and " + ns() + "::" + fn),
              std::string::npos)
        << got;
  }
};

TEST_P(DebugInfoHooks, ExplainSaysWhereTheArgumentsCameFrom) {
  std::string lines = explain_functions(def("Entry", "ints", "c = arg0") + "From e In t Select SUM(e.c)");
  if (debug()) {
    EXPECT_NE(lines.find(": debug info (" PIVOT_BINARY_DIR + std::string(GetParam().file) +
                         "); c = arg0 (rdi, int)"),
              std::string::npos)
        << lines;
  } else {
    EXPECT_NE(
        lines.find(
            ": symbol table: " + ns() +
            " taken for a namespace (nothing in the symbol tables shows it is a class; if it is one, "
            "export `this` or build with -g); no debug information for it in " PIVOT_BINARY_DIR
            "/tests/hook_debuginfo_test (its source file was compiled without -g); c = arg0 (rdi, int)"),
        std::string::npos)
        << lines;
  }
}

TEST_P(DebugInfoHooks, IntegersOfEveryWidthAndSign) {
  int64_t c = 0, uc = 0, s = 0, us = 0, i = 0, u = 0, ret = 0;
  for (int k = 0; k < kCalls; ++k) {
    IntsArgs a = ints_args(k);
    c += a.c, uc += a.uc, s += a.s, us += a.us, i += a.i, u += a.u;
    ret += a.c + a.uc + a.s + a.us + a.i + static_cast<int64_t>(a.u);
  }
  const std::string select =
      "From e In t Select COUNT, SUM(e.c), SUM(e.uc), SUM(e.s), SUM(e.us), SUM(e.i), SUM(e.u)";
  const std::string want =
      table({"COUNT", "SUM(e.c)", "SUM(e.uc)", "SUM(e.s)", "SUM(e.us)", "SUM(e.i)", "SUM(e.u)"},
            {{kCalls, c, uc, s, us, i, u}});
  auto work = [&] {
    for (int k = 0; k < kCalls; ++k) calls().ints(ints_args(k));
  };
  EXPECT_EQ(run(def("Entry", "ints", "c = arg0, uc = arg1, s = arg2, us = arg3, i = arg4, u = arg5") + select,
                work),
            want);
  const std::string by_name = def("Entry", "ints", "c = c, uc = uc, s = s, us = us, i = i, u = u") + select;
  if (debug()) {
    EXPECT_EQ(run(by_name, work), want);
    EXPECT_EQ(run(def("Return", "ints", "") + "From e In t Select SUM(e.ret)", work),
              table({"SUM(e.ret)"}, {{ret}}));
  } else {
    expect_names_refused(by_name, "ints");
  }
}

TEST_P(DebugInfoHooks, BoolAndEnumsOfTheirOwnWidths) {
  // Level is an enum class of uint8_t (1 and 200), Mood a plain enum of short (-3 and 7).
  auto work = [&] {
    for (int k = 0; k < kCalls; ++k) {
      calls().wide(-(int64_t{1} << 40) - k, 5'000'000'000u + static_cast<unsigned>(k), k % 2 == 0, k % 2 == 1,
                   k % 5 == 0);
    }
  };
  // Groups (b, level, mood): k even -> (true, 1, ...), k odd -> (false, 200, ...); mood -3 for k = 0, 5.
  auto make_rows = [](int64_t l_base, int64_t ul_base) {
    std::vector<std::vector<Value>> out;
    struct G {
      bool b;
      int level, mood;
      std::vector<int> ks;
    };
    const G groups[] = {
        {false, 200, -3, {5}}, {false, 200, 7, {1, 3, 7, 9}}, {true, 1, -3, {0}}, {true, 1, 7, {2, 4, 6, 8}}};
    for (const G& g : groups) {
      int64_t l = 0, ul = 0;
      for (int k : g.ks) l += l_base - k, ul += ul_base + k;
      out.push_back({g.b, g.level, g.mood, static_cast<int64_t>(g.ks.size()), l, ul});
    }
    return out;
  };
  const std::string select =
      "From e In t GroupBy e.b, e.level, e.mood Select e.b, e.level, e.mood, COUNT, SUM(e.l), SUM(e.ul)";
  const std::vector<std::vector<Value>> want_rows = make_rows(-(int64_t{1} << 40), 5'000'000'000);
  const std::string want = table({"e.b", "e.level", "e.mood", "COUNT", "SUM(e.l)", "SUM(e.ul)"}, want_rows);
  auto table_rows = [&](const std::string&) { return want_rows; };
  const std::string by_number =
      def("Entry", "wide", "l = arg0, ul = arg1, b = arg2, level = arg3, mood = arg4");
  const std::string by_name = def("Entry", "wide", "l = l, ul = ul, b = b, level = level, mood = mood");
  if (debug()) {
    EXPECT_EQ(run(by_number + select, work), want);
    EXPECT_EQ(run(by_name + select, work), want);
    return;
  }
  expect_names_refused(by_name + select, "wide");
  // Without debug information an enum's width is unknown: it is read as a
  // 32-bit int, right for Mood (a short: callers sign-extend it) but not for
  // Level (an unsigned char, whose upper bits the caller need not clear:
  // docs/hooks.md says so). Without Level, the answer is exact.
  std::string got =
      run(by_number + "From e In t GroupBy e.b, e.mood Select e.b, e.mood, COUNT, SUM(e.l), SUM(e.ul)", work);
  std::vector<std::vector<Value>> rows;
  for (const auto& r : table_rows(want)) rows.push_back({r[0], r[2], r[3], r[4], r[5]});
  EXPECT_EQ(got, table({"e.b", "e.mood", "COUNT", "SUM(e.l)", "SUM(e.ul)"}, rows));
}

TEST_P(DebugInfoHooks, FloatsDoublesAndADoubleReturn) {
  double f = 0, d = 0, ret = 0;
  int64_t n = 0;
  for (int k = 0; k < kCalls; ++k) {
    f += 0.5 + k, d += 0.25 * k, n += k % 3;
    ret += static_cast<double>(static_cast<float>(0.5 + k)) * (0.25 * k) * (k % 3);
  }
  auto work = [&] {
    for (int k = 0; k < kCalls; ++k) calls().scale(static_cast<float>(0.5 + k), 0.25 * k, k % 3);
  };
  const std::string select = "From e In t Select COUNT, SUM(e.f), SUM(e.d), SUM(e.n)";
  const std::string want = table({"COUNT", "SUM(e.f)", "SUM(e.d)", "SUM(e.n)"}, {{kCalls, f, d, n}});
  EXPECT_EQ(run(def("Return", "scale", "f = arg0, d = arg1, n = arg2") + select, work), want);
  const std::string with_ret =
      def("Return", "scale", "f = f, d = d, n = n") + "From e In t Select SUM(e.f), SUM(e.ret)";
  if (debug()) {
    EXPECT_EQ(run(with_ret, work), table({"SUM(e.f)", "SUM(e.ret)"}, {{f, ret}}));
  } else {
    // Without debug information `ret` is the integer register: explain says so.
    EXPECT_NE(explain_functions(def("Return", "scale", "")).find("ret = ret (rax at return, int)"),
              std::string::npos);
    expect_names_refused(with_ret, "scale");
  }
  if (debug()) {
    EXPECT_NE(explain_functions(def("Return", "scale", "")).find("ret = ret (xmm0 at return, double)"),
              std::string::npos);
  }
}

TEST_P(DebugInfoHooks, StringsByPointerReferenceValueAndView) {
  auto work = [&] {
    for (int k = 0; k < kCalls; ++k) {
      std::string ref = k % 2 ? "ref-odd" : "ref-even";
      calls().texts(k % 2 ? "cs-odd" : "cs-even", ref,
                    std::string(k % 2 ? "val-odd-a-long-string-on-the-heap" : "val"),
                    std::string_view("view-abcdef").substr(0, 4 + k % 2));
    }
  };
  const std::string select =
      "From e In t GroupBy e.cs, e.ref, e.val, e.view Select e.cs, e.ref, e.val, e.view, COUNT, SUM(e.ret)";
  const std::string want = table({"e.cs", "e.ref", "e.val", "e.view", "COUNT", "SUM(e.ret)"},
                                 {{"cs-even", "ref-even", "val", "view", 5, int64_t{5 * (7 + 8 + 3 + 4)}},
                                  {"cs-odd", "ref-odd", "val-odd-a-long-string-on-the-heap", "view-", 5,
                                   int64_t{5 * (6 + 7 + 33 + 5)}}});
  EXPECT_EQ(run(def("Return", "texts", "cs = arg0, ref = arg1, val = arg2, view = arg3") + select, work),
            want);
  const std::string by_name = def("Return", "texts", "cs = cs, ref = ref, val = val, view = view") + select;
  if (debug()) {
    EXPECT_EQ(run(by_name, work), want);
  } else {
    expect_names_refused(by_name, "texts");
  }
}

TEST_P(DebugInfoHooks, AClassReturnedByValue) {
  // label returns a std::string: its address comes first (rdi), the
  // parameters after it, and `ret` is the string.
  auto work = [&] {
    for (int k = 0; k < kCalls; ++k) calls().label(k % 3, k % 2 ? "odd" : "even");
  };
  const std::string text = def("Return", "label", "n = arg0, prefix = arg1") +
                           "From e In t GroupBy e.ret, e.prefix Select e.ret, e.prefix, SUM(e.n), COUNT";
  if (debug()) {
    const std::string want = table({"e.ret", "e.prefix", "SUM(e.n)", "COUNT"}, {{"even-0", "even", 0, 2},
                                                                                {"even-1", "even", 1, 1},
                                                                                {"even-2", "even", 4, 2},
                                                                                {"odd-0", "odd", 0, 2},
                                                                                {"odd-1", "odd", 2, 2},
                                                                                {"odd-2", "odd", 2, 1}});
    EXPECT_EQ(run(text, work), want);
    EXPECT_EQ(run(def("Return", "label", "n = n, prefix = prefix") +
                      "From e In t GroupBy e.ret, e.prefix Select e.ret, e.prefix, SUM(e.n), COUNT",
                  work),
              want);
  } else {
    // A non-template symbol does not show its return type: arg0 would be the
    // hidden pointer. Explain says the arguments came from the symbol table.
    EXPECT_NE(explain_functions(text).find("symbol table: " + ns() + " taken for a namespace"),
              std::string::npos);
  }
  // A small struct comes back in registers: no hidden pointer, and `ret`
  // (rax) is its first member.
  int64_t x = 0, ret = 0;
  double y = 0;
  for (int k = 0; k < kCalls; ++k) x += k - 4, y += 0.5 * k, ret += 2 * (k - 4);
  EXPECT_EQ(run(def("Return", "make_point", "x = arg0, y = arg1") +
                    "From e In t Select SUM(e.x), SUM(e.y), SUM(e.ret)",
                [&] {
                  for (int k = 0; k < kCalls; ++k) calls().make_point(k - 4, 0.5 * k);
                }),
            table({"SUM(e.x)", "SUM(e.y)", "SUM(e.ret)"}, {{x, y, ret}}));
}

TEST_P(DebugInfoHooks, MembersOfAClassWithOtherMembers) {
  int64_t self = 0, total = 0;
  std::string described;
  int64_t total_sum = 0;
  auto work = [&] {
    for (int k = 0; k < kCalls; ++k) {
      calls().store(&self, &total, &described, k % 2 ? "key-odd" : "key-even", 10 + k, k % 2 == 1, 3 + k % 2);
      total_sum += total;
    }
  };
  // put (not const), total (const), describe (const, returns a std::string: `this` comes second).
  std::string put = def("Entry", "Store::put", "self = arg0, key = arg1, size = arg2") +
                    "From e In t GroupBy e.self, e.key Select e.self, e.key, SUM(e.size), COUNT";
  std::string got = run(put, work);
  int64_t odd = 11 + 13 + 15 + 17 + 19, even = 10 + 12 + 14 + 16 + 18;
  const std::string want_put = table({"e.self", "e.key", "SUM(e.size)", "COUNT"},
                                     {{self, "key-even", even, 5}, {self, "key-odd", odd, 5}});
  EXPECT_EQ(got, want_put);
  total_sum = 0;
  // (Level is an unsigned char enum: exact only with debug information.)
  const std::string total_text =
      def("Return", "Store::total", "self = arg0, level = arg1") +
      (debug() ? "From e In t GroupBy e.self, e.level Select e.self, e.level, COUNT"
               : "From e In t GroupBy e.self Select e.self, COUNT");
  EXPECT_EQ(run(total_text, work), debug()
                                       ? table({"e.self", "e.level", "COUNT"}, {{self, 1, 5}, {self, 200, 5}})
                                       : table({"e.self", "COUNT"}, {{self, 10}}));
  if (debug()) {
    EXPECT_EQ(run(def("Entry", "Store::put", "self = this, key = key, size = size") +
                      "From e In t GroupBy e.self, e.key Select e.self, e.key, SUM(e.size), COUNT",
                  work),
              want_put);
    total_sum = 0;
    std::string totals = run(def("Return", "Store::total", "self = this, level = level") +
                                 "From e In t Select COUNT, SUM(e.level), SUM(e.ret)",
                             work);  // before total_sum is read: it sums what the program's calls returned
    EXPECT_EQ(totals, table({"COUNT", "SUM(e.level)", "SUM(e.ret)"}, {{kCalls, 5 * 1 + 5 * 200, total_sum}}));
    const std::string describe = "self = arg0, width = arg1";
    EXPECT_EQ(run(def("Return", "Store::describe", describe) +
                      "From e In t GroupBy e.self, e.width, e.ret Select e.self, e.width, e.ret, COUNT",
                  work),
              table({"e.self", "e.width", "e.ret", "COUNT"}, {{self, 3, "key", 5}, {self, 4, "key-", 5}}));
    EXPECT_EQ(run(def("Return", "Store::describe", "self = this, width = width") +
                      "From e In t GroupBy e.self, e.width, e.ret Select e.self, e.width, e.ret, COUNT",
                  work),
              table({"e.self", "e.width", "e.ret", "COUNT"}, {{self, 3, "key", 5}, {self, 4, "key-", 5}}));
  }
}

TEST_P(DebugInfoHooks, AMemberOfAStructWithNoOtherMembers) {
  int64_t self = 0, n = 0;
  auto work = [&] {
    for (int k = 0; k < kCalls; ++k) calls().counter(k + 1, &self);
  };
  for (int k = 0; k < kCalls; ++k) n += k + 1;
  const std::string select = "From e In t GroupBy e.self Select e.self, SUM(e.n), SUM(e.k), COUNT";
  // `this` says it is a member function, with or without debug information.
  std::string with_this = def("Entry", "Counter::add", "self = this, n = arg1, k = arg2") + select;
  std::string got = run(with_this, work);
  EXPECT_EQ(got, table({"e.self", "SUM(e.n)", "SUM(e.k)", "COUNT"}, {{self, n, 3 * kCalls, kCalls}}));
  if (debug()) {
    EXPECT_EQ(run(def("Entry", "Counter::add", "self = this, n = n, k = k") + select, work), got);
    EXPECT_EQ(run(def("Entry", "Counter::add", "self = arg0, n = arg1, k = arg2") + select, work), got);
  } else {
    // The symbol table cannot tell Counter from a namespace: the error says so, and how to resolve it.
    std::string error = run(def("Entry", "Counter::add", "n = arg1, k = arg2") + select, work);
    EXPECT_NE(
        error.find("arg2 does not exist: dbg_plain::Counter::add(long, int) has arguments arg0..arg1; "
                   "without debug information pivot takes dbg_plain::Counter for a namespace (nothing in "
                   "the symbol tables shows it is a class): if it is a class, export `this` (then arg0 is "
                   "this and the parameters start at arg1), or build with -g"),
        std::string::npos)
        << error;
  }
}

TEST_P(DebugInfoHooks, AnIpaSraCloneIsHookedWithItsArgumentsWhereDwarfSaysSo) {
  // orders() calls order_value(order, discount) twice; GCC passes the clone
  // the Order's fields it uses instead of the Order, and discount as it was.
  std::string explained = explain_functions(def("Entry", "order_value", ""));
  const bool clone = explained.find("[clone .isra.0]") != std::string::npos;
  if (!clone && kClonesAreGccs) FAIL() << "no IPA-SRA clone: " << explained;
  int64_t discounts = 0;
  double values = 0;
  for (int k = 0; k < kCalls; ++k) {
    discounts += k + (k + 1);
    values += (static_cast<double>(k + 1) * 1.5 - k) + (static_cast<double>(k + 2) * 1.5 - (k + 1));
  }
  auto work = [&] {
    for (int k = 0; k < kCalls; ++k) calls().orders(k + 1, 1.5, k);
  };
  if (debug()) {
    EXPECT_EQ(
        run(def("Return", "order_value", "d = discount") + "From e In t Select COUNT, SUM(e.d), SUM(e.ret)",
            work),
        table({"COUNT", "SUM(e.d)", "SUM(e.ret)"}, {{2 * kCalls, discounts, values}}));
    EXPECT_EQ(run(def("Entry", "order_value", "d = arg1") + "From e In t Select SUM(e.d)", work),
              table({"SUM(e.d)"}, {{discounts}}));
    std::string got = run(def("Entry", "order_value", "o = order") + "From e In t Select COUNT", work);
    if (clone) {
      EXPECT_NE(got.find("order of " + ns() + "::order_value(" + ns() +
                         "::Order const&, long) [clone .isra.0] cannot be located: in " + ns() +
                         "::order_value(" + ns() +
                         "::Order const&, long) [clone .isra.0] it is computed by the compiler from other "
                         "values"),
                std::string::npos)
          << got;
    }
  } else if (clone) {
    std::string got = run(def("Entry", "order_value", "d = arg1") + "From e In t Select SUM(e.d)", work);
    EXPECT_NE(
        got.find("arg1 of " + ns() + "::order_value(" + ns() +
                 "::Order const&, long) [clone .isra.0] cannot be located: it is a clone the compiler made "
                 "with other arguments than the function's"),
        std::string::npos)
        << got;
  }
  // COUNT and duration work on the clone either way.
  EXPECT_EQ(run(def("Return", "order_value", "") + "From e In t Where e.duration >= 0 Select COUNT", work),
            table({"COUNT"}, {{2 * kCalls}}));
}

TEST_P(DebugInfoHooks, AConstpropCloneIsHookedWithItsConstant) {
  // scale_both() calls scaled(amount, 3) twice: GCC's clone has times = 3 built in.
  std::string explained = explain_functions(def("Entry", "scaled", ""));
  if (explained.find("[clone .constprop.0]") == std::string::npos && !explained.starts_with("error")) {
    if (kClonesAreGccs) FAIL() << "no IPA-CP clone: " << explained;
  }
  int64_t amounts = 0, rets = 0;
  for (int k = 0; k < kCalls; ++k) {
    amounts += k + (k + 100);
    rets += (3 * k + 3) + (3 * (k + 100) + 3);
  }
  auto work = [&] {
    for (int k = 0; k < kCalls; ++k) calls().scale_both(k, k + 100);
  };
  if (debug()) {
    EXPECT_EQ(run(def("Return", "scaled", "a = amount, times = times") +
                      "From e In t Select COUNT, SUM(e.a), SUM(e.times), SUM(e.ret)",
                  work),
              table({"COUNT", "SUM(e.a)", "SUM(e.times)", "SUM(e.ret)"},
                    {{2 * kCalls, amounts, 6 * kCalls, rets}}));
    EXPECT_EQ(
        run(def("Entry", "scaled", "a = arg0, times = arg1") + "From e In t Select SUM(e.a), SUM(e.times)",
            work),
        table({"SUM(e.a)", "SUM(e.times)"}, {{amounts, 6 * kCalls}}));
  } else if (explained.find("[clone .constprop.0]") != std::string::npos) {
    std::string got = run(def("Entry", "scaled", "a = arg0") + "From e In t Select SUM(e.a)", work);
    EXPECT_NE(got.find("[clone .constprop.0] cannot be located: it is a clone the compiler made with other "
                       "arguments than the function's"),
              std::string::npos)
        << got;
    // ret (an integer) and COUNT still work.
    EXPECT_EQ(run(def("Return", "scaled", "") + "From e In t Select COUNT, SUM(e.ret)", work),
              table({"COUNT", "SUM(e.ret)"}, {{2 * kCalls, rets}}));
  }
}

TEST_P(DebugInfoHooks, PiecesSplitOffAFunctionAreNotItsEntry) {
  // checksum's body after its early return may be split off (.part.0), and
  // refill's throw moved out of line (.cold): neither is hooked.
  std::string explained =
      explain_functions(def("Entry", "checksum", "") + "Tracepoint u = Entry(\"" + ns() + "::refill\")\n");
  EXPECT_EQ(explained.find(".part"), std::string::npos) << explained;
  EXPECT_EQ(explained.find(".cold"), std::string::npos) << explained;
  EXPECT_NE(explained.find("t @ " + ns() + "::checksum(char const*, long) ("), std::string::npos)
      << explained;
  // Only the direct calls (n < 5) are counted: whether checksum_twice's
  // calls reach checksum's entry depends on what the compiler inlined.
  const int64_t twice = calls().checksum_twice("abc!def", 7);
  int64_t lengths = 0;
  for (int k = 0; k < kCalls; ++k) lengths += k % 5;
  EXPECT_EQ(run(def("Entry", "checksum", "n = arg1") + "From e In t Where e.n < 5 Select COUNT, SUM(e.n)",
                [&] {
                  for (int k = 0; k < kCalls; ++k) calls().checksum("abc!def", k % 5);
                  EXPECT_EQ(calls().checksum_twice("abc!def", 7),
                            twice);  // the split-off piece runs as before
                }),
            table({"COUNT", "SUM(e.n)"}, {{kCalls, lengths}}));
  // A call that leaves through the cold piece (a throw) was entered: counted.
  EXPECT_EQ(run(def("Entry", "refill", "want = arg1") + "From e In t Select COUNT, SUM(e.want)",
                [&] {
                  for (int k = 0; k < kCalls; ++k) calls().refill(100, k);
                  EXPECT_THROW(calls().refill(100, -1), std::invalid_argument);
                }),
            table({"COUNT", "SUM(e.want)"}, {{kCalls + 1, int64_t{45 - 1}}}));
}

INSTANTIATE_TEST_SUITE_P(Builds, DebugInfoHooks, ::testing::ValuesIn(kBuilds),
                         [](const ::testing::TestParamInfo<Build>& info) {
                           return std::string(info.param.ns);
                         });

#if defined(PIVOT_TEST_LTO)
// With -flto, GCC renames the static functions of the files it merges
// (scaled.lto_priv.0, .lto_priv.1): a pattern naming `scaled` takes both.
TEST(DebugInfoClones, LtoPrivClonesAreHookedWithTheirFunction) {
  std::string explained = explain_functions("Tracepoint t = Entry(\"dbg_lto::scaled\")\n");
  EXPECT_NE(explained.find(".lto_priv"), std::string::npos) << explained;
  int64_t amounts = 0;
  for (int k = 0; k < kCalls; ++k) amounts += (k + (k + 100)) + (k + (k + 1));
  EXPECT_EQ(
      run("Tracepoint t = Entry(\"dbg_lto::scaled\") Exports a = amount\nFrom e In t Select COUNT, SUM(e.a)",
          [] {
            for (int k = 0; k < kCalls; ++k) {
              dbg_lto::scale_both(k, k + 100);
              dbg_lto::scale_other(k, 2);
            }
          }),
      table({"COUNT", "SUM(e.a)"}, {{4 * kCalls, amounts}}));
}
#endif

}  // namespace
