#include "hook/symbols.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "hook/symbols_elf.h"

// Functions for function_symbols() to find in this very binary.
extern "C" [[gnu::noinline, gnu::used]] int pivot_symbols_test_c_function(int x) {
  asm volatile("");
  return x + 1;
}

namespace pivot_symbols_test {
[[gnu::noinline, gnu::used]] long scaled(long x, double factor) {
  asm volatile("");
  return static_cast<long>(static_cast<double>(x) * factor);
}
}  // namespace pivot_symbols_test

[[gnu::noinline, gnu::used]] static int pivot_symbols_test_internal(int x) {
  asm volatile("");
  return x * 3;
}

namespace pivot::hook {
namespace {

const std::string kString = "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >";
const std::string kStringView = "std::basic_string_view<char, std::char_traits<char> >";

FunctionSymbol sym(std::string demangled, uintptr_t address, std::string mangled = "") {
  return FunctionSymbol{std::move(demangled), std::move(mangled), address, 16, "/bin/app"};
}

// A small program's symbols: overloads, a class with evidence, an enum, templates.
std::vector<FunctionSymbol> program() {
  return {
      sym("minidfs::DataNodeMetrics::DataNodeMetrics()", 0x1000),
      sym("minidfs::DataNodeMetrics::incrBytesRead(long)", 0x1010),
      sym("minidfs::DataNodeMetrics::incrBytesWritten(long)", 0x1020),
      sym("minidfs::log(int)", 0x1030),
      sym("minidfs::log(long)", 0x1040),
      sym("minidfs::log(char const*)", 0x1050),
      sym("minidfs::Block::Block(minidfs::Block const&)", 0x1060),
      sym("minidfs::store(minidfs::Block, int, double)", 0x1070),
      sym("minidfs::set_mode(minidfs::Mode, int)", 0x1080),
      sym("minidfs::mix(int, double, " + kStringView + ", " + kString + " const&, float, char const*, bool)",
          0x1090),
      sym("minidfs::many(int, long, short, char, unsigned int, unsigned long, long long, int)", 0x10a0),
      sym("minidfs::doubles(double, double, double, double, double, double, double, double, double, int)",
          0x10b0),
      sym("minidfs::Namenode::lookup(" + kString + " const&) const", 0x10c0),
      sym("minidfs::Namenode::size()", 0x10d0),
      sym("minidfs::Helper::compute(int)", 0x10e0),  // no evidence that Helper is a class
      sym("minidfs::take(minidfs::Cache*)", 0x10f0),
      sym("minidfs::Cache::get(int)", 0x1100),  // Cache appears as a parameter type
      sym("int minidfs::identity<int>(int)", 0x1110),
      sym("long minidfs::identity<long>(long)", 0x1120),
      sym(kString + " minidfs::Namenode::describe<int>(int)", 0x1130),
      sym("std::vector<int, std::allocator<int> > minidfs::make<int>(int)", 0x1140),
      sym("minidfs::wide(long double, int, __int128, long)", 0x1150),
      sym("minidfs::sv_late(int, int, int, int, int, " + kStringView + ", int)", 0x1160),
      sym("minidfs::by_value(" + kString + ", std::vector<int, std::allocator<int> >, int)", 0x1170),
      sym("minidfs::printf_like(char const*, ...)", 0x1180),
      sym("minidfs::Block::~Block()", 0x1190, "_ZN7minidfs5BlockD1Ev"),
      sym("minidfs::Block::~Block()", 0x11a0, "_ZN7minidfs5BlockD0Ev"),
      sym("minidfs::Timer::fire(int)", 0x11b0),  // Timer has a vtable (classes list)
      sym("minidfs::run(int)::{lambda(int)#1}::operator()(int)", 0x11c0),
      sym("minidfs::log(int) [clone .constprop.0]", 0x11d0),
      sym("getpid", 0x11e0),
      sym("minidfs::Mode::Mode(int)", 0x0),  // (never used: Mode is checked in a copy without it)
  };
}

std::vector<FunctionSymbol> without_mode_ctor() {
  auto symbols = program();
  symbols.pop_back();
  return symbols;
}

const std::vector<std::string> kClasses = {"minidfs::Timer"};

Function only(std::string_view pattern, const std::vector<FunctionSymbol>& symbols = without_mode_ctor()) {
  auto fns = resolve(pattern, symbols, kClasses);
  EXPECT_TRUE(fns) << pattern << ": " << fns.error().message();
  if (!fns) return {};
  EXPECT_EQ(fns->size(), 1u) << pattern;
  return fns->empty() ? Function{} : (*fns)[0];
}

std::string error_of(std::string_view pattern) {
  auto fns = resolve(pattern, without_mode_ctor(), kClasses);
  EXPECT_FALSE(fns) << pattern;
  return fns ? "" : fns.error().message();
}

struct Expected {
  ArgKind kind;
  Location location;
  int index;
};

void expect_args(const Function& f, const std::vector<Expected>& expected) {
  ASSERT_EQ(f.args.size(), expected.size()) << f.symbol.demangled;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(f.args[i].kind, expected[i].kind) << f.symbol.demangled << " arg" << i;
    EXPECT_EQ(f.args[i].location, expected[i].location) << f.symbol.demangled << " arg" << i;
    if (expected[i].location != Location::kUnknown) {
      EXPECT_EQ(f.args[i].index, expected[i].index) << f.symbol.demangled << " arg" << i;
    } else {
      EXPECT_FALSE(f.args[i].why.empty()) << f.symbol.demangled << " arg" << i;
    }
  }
}

constexpr auto kInt = ArgKind::kInt;
constexpr auto kIntReg = Location::kIntReg;
constexpr auto kSseReg = Location::kSseReg;
constexpr auto kUnknown = Location::kUnknown;

TEST(Resolve, ExactSignatureAndName) {
  Function f = only("minidfs::DataNodeMetrics::incrBytesRead(long)");
  EXPECT_EQ(f.symbol.address, 0x1010u);
  EXPECT_EQ(f.signature.name, "minidfs::DataNodeMetrics::incrBytesRead");
  EXPECT_TRUE(f.is_member);  // the class has a constructor
  expect_args(f, {{ArgKind::kPointer, kIntReg, 0}, {kInt, kIntReg, 1}});
  EXPECT_EQ(f.args[0].spelling, "this");
  EXPECT_EQ(f.args[1].spelling, "long");

  EXPECT_EQ(only("minidfs::DataNodeMetrics::incrBytesRead").symbol.address, 0x1010u);
  EXPECT_EQ(only("  minidfs::DataNodeMetrics::incrBytesRead( long )  ").symbol.address, 0x1010u);
  EXPECT_EQ(only("minidfs::log(char const *)").symbol.address, 0x1050u);
  EXPECT_EQ(only("minidfs::log(char const*)").symbol.address, 0x1050u);
  EXPECT_EQ(only("minidfs::Namenode::lookup(std::string const&) const").symbol.address, 0x10c0u);
  EXPECT_EQ(only("minidfs::Namenode::lookup(" + kString + " const&) const").symbol.address, 0x10c0u);
  EXPECT_EQ(only("minidfs::mix(int, double, std::string_view, std::string const&, float, char const*, bool)")
                .symbol.address,
            0x1090u);
  EXPECT_EQ(only("minidfs::DataNodeMetrics::DataNodeMetrics(void)").symbol.address, 0x1000u);
  EXPECT_EQ(only("getpid").symbol.address, 0x11e0u);
  EXPECT_FALSE(only("getpid").signature.params_known);
  EXPECT_TRUE(only("getpid").args.empty());
}

TEST(Resolve, OverloadsAreAmbiguous) {
  EXPECT_EQ(error_of("minidfs::log"),
            "ambiguous: 'minidfs::log' matches 3 functions: minidfs::log(char const*), minidfs::log(int), "
            "minidfs::log(long); write the signature");
  EXPECT_EQ(error_of("minidfs::identity"),
            "ambiguous: 'minidfs::identity' matches 2 functions: int minidfs::identity<int>(int), "
            "long minidfs::identity<long>(long); write the signature");
  EXPECT_EQ(only("minidfs::identity<long>").symbol.address, 0x1120u);
  EXPECT_EQ(only("minidfs::identity<int>(int)").symbol.address, 0x1110u);
}

TEST(Resolve, GlobsMatchMany) {
  auto fns = resolve("minidfs::log*", without_mode_ctor(), kClasses);
  ASSERT_TRUE(fns) << fns.error().message();
  std::vector<std::string> names;
  for (const Function& f : *fns) names.push_back(f.symbol.demangled);
  // Sorted; a whole-body clone is matched with its function.
  EXPECT_EQ(names,
            (std::vector<std::string>{"minidfs::log(char const*)", "minidfs::log(int)",
                                      "minidfs::log(int) [clone .constprop.0]", "minidfs::log(long)"}));

  fns = resolve("minidfs::DataNodeMetrics::incr*", without_mode_ctor(), kClasses);
  ASSERT_TRUE(fns);
  EXPECT_EQ(fns->size(), 2u);

  fns = resolve("*::log(*)", without_mode_ctor(), kClasses);
  ASSERT_TRUE(fns);
  EXPECT_EQ(fns->size(), 4u);  // with log(int)'s clone

  fns = resolve("minidfs::log(?*)", without_mode_ctor(), kClasses);  // a glob, so no ambiguity error
  ASSERT_TRUE(fns);
  EXPECT_EQ(fns->size(), 4u);

  // A function and its clone are one signature: not ambiguous.
  fns = resolve("minidfs::log(int)", without_mode_ctor(), kClasses);
  ASSERT_TRUE(fns);
  ASSERT_EQ(fns->size(), 2u);
  EXPECT_TRUE((*fns)[0].signature.clones.empty());
  EXPECT_EQ((*fns)[1].signature.clones, std::vector<std::string>{"constprop.0"});
  // Without debug information a clone's arguments cannot be located; its function's can.
  expect_args((*fns)[0], {{kInt, kIntReg, 0}});
  expect_args((*fns)[1], {{kInt, kUnknown, 0}});
  EXPECT_NE((*fns)[1].args[0].why.find("clone"), std::string::npos) << (*fns)[1].args[0].why;

  // In a parameter list, '*' right after a type is a pointer, not a glob.
  fns = resolve("minidfs::log(char*)", without_mode_ctor(), kClasses);
  EXPECT_FALSE(fns);
  fns = resolve("minidfs::take(minidfs::Cache*)", without_mode_ctor(), kClasses);
  ASSERT_TRUE(fns);
  EXPECT_EQ(fns->size(), 1u);
}

TEST(Resolve, NoMatchSuggests) {
  EXPECT_EQ(error_of("minidfs::DataNodeMetrics::incrbytesred"),  // a typo away
            "no function matches 'minidfs::DataNodeMetrics::incrbytesred'; similar: "
            "minidfs::DataNodeMetrics::incrBytesRead(long)");
  EXPECT_EQ(error_of("minidfs::zzzzzzzz"), "no function matches 'minidfs::zzzzzzzz'");
  EXPECT_EQ(
      error_of("DataNodeMetrics::incrBytes"),
      "no function matches 'DataNodeMetrics::incrBytes'; similar: "
      "minidfs::DataNodeMetrics::incrBytesRead(long), minidfs::DataNodeMetrics::incrBytesWritten(long)");
  EXPECT_EQ(
      error_of("minidfs::LOG(short)"),
      "no function matches 'minidfs::LOG(short)'; similar: minidfs::log(char const*), minidfs::log(int), "
      "minidfs::log(long)");
  EXPECT_EQ(error_of("*::zzz*"), "no function matches '*::zzz*'");
  EXPECT_EQ(error_of(""), "empty function pattern");

  // Suggestions look like what was written, scope included: a case-only
  // difference first, then the same scope, then the same class elsewhere;
  // never library internals ('_' names) nor C names for a C++ pattern.
  const std::vector<FunctionSymbol> shop = {
      sym("shop::Restock(long)", 0x10),
      sym("shop::restocks(long)", 0x20),
      sym("shop::Store::restock(long)", 0x30),
      sym("mall::Store::restock(long)", 0x40),
      sym("other::restock(long)", 0x50),
      sym("std::__detail::restock(int)", 0x60),
      sym("__libc_restock", 0x70),
      sym("restock_r", 0x80),
  };
  auto shop_error = [&](std::string_view pattern) {
    auto r = resolve(pattern, shop);
    return r ? std::string("matched") : r.error().message();
  };
  EXPECT_EQ(shop_error("shop::restock"),
            "no function matches 'shop::restock'; similar: shop::Restock(long), shop::restocks(long), "
            "shop::Store::restock(long)");
  EXPECT_EQ(shop_error("shop::store::restock(long)"),
            "no function matches 'shop::store::restock(long)'; similar: shop::Store::restock(long), "
            "mall::Store::restock(long)");
  EXPECT_EQ(shop_error("restok"),  // a typo away; internals and names too far off left out
            "no function matches 'restok'; similar: shop::Restock(long), other::restock(long), "
            "mall::Store::restock(long), shop::Store::restock(long)");

  std::vector<FunctionSymbol> many;
  for (int i = 0; i < 13; ++i)
    many.push_back(sym("ns::handler" + std::to_string(i + 10) + "(int)", 0x100 + i));
  auto fns = resolve("handler", many);
  ASSERT_FALSE(fns);
  EXPECT_EQ(
      fns.error().message(),
      "no function matches 'handler'; similar: ns::handler10(int), ns::handler11(int), ns::handler12(int), "
      "ns::handler13(int), ns::handler14(int), ns::handler15(int), ns::handler16(int), ns::handler17(int), "
      "ns::handler18(int), ns::handler19(int), and 3 more");
}

TEST(Resolve, MemberOrFreeByEvidence) {
  EXPECT_TRUE(only("minidfs::Namenode::size").is_member);  // a const method of Namenode exists
  EXPECT_TRUE(only("minidfs::Cache::get").is_member);      // Cache is a parameter type
  EXPECT_TRUE(only("minidfs::Timer::fire").is_member);     // Timer has a vtable
  EXPECT_TRUE(only("minidfs::run(int)::{lambda(int)#1}::operator()").is_member);
  EXPECT_FALSE(only("minidfs::Helper::compute").is_member);  // no evidence: taken for a namespace
  EXPECT_FALSE(only("minidfs::log(char const*)").is_member);

  Function timer = only("minidfs::Timer::fire");
  expect_args(timer, {{ArgKind::kPointer, kIntReg, 0}, {kInt, kIntReg, 1}});
  Function helper = only("minidfs::Helper::compute");
  expect_args(helper, {{kInt, kIntReg, 0}});

  // Without the classes list, Timer has no evidence.
  auto fns = resolve("minidfs::Timer::fire", without_mode_ctor());
  ASSERT_TRUE(fns);
  EXPECT_FALSE((*fns)[0].is_member);
}

TEST(Resolve, MixedArgumentLocations) {
  Function f = only("minidfs::mix");
  expect_args(f, {
                     {kInt, kIntReg, 0},                  // int
                     {ArgKind::kDouble, kSseReg, 0},      // double
                     {ArgKind::kStringView, kIntReg, 1},  // string_view: rsi (size), rdx (data)
                     {ArgKind::kStdString, kIntReg, 3},   // std::string const&: rcx
                     {ArgKind::kFloat, kSseReg, 1},       // float
                     {ArgKind::kCString, kIntReg, 4},     // char const*: r8
                     {ArgKind::kBool, kIntReg, 5},        // bool: r9
                 });
  EXPECT_EQ(f.args[2].spelling, kStringView);
  EXPECT_EQ(f.args[3].spelling, kString + " const&");
}

TEST(Resolve, StackArguments) {
  Function f = only("minidfs::many");
  expect_args(f, {{kInt, kIntReg, 0},
                  {kInt, kIntReg, 1},
                  {kInt, kIntReg, 2},
                  {kInt, kIntReg, 3},
                  {kInt, kIntReg, 4},
                  {kInt, kIntReg, 5},
                  {kInt, kUnknown, 0},
                  {kInt, kUnknown, 0}});
  EXPECT_EQ(f.args[6].why, "passed on the stack: the integer registers are taken");

  Function d = only("minidfs::doubles");
  std::vector<Expected> expected;
  for (int i = 0; i < 8; ++i) expected.push_back({ArgKind::kDouble, kSseReg, i});
  expected.push_back({ArgKind::kDouble, kUnknown, 0});
  expected.push_back({kInt, kIntReg, 0});  // the integer registers are still free
  expect_args(d, expected);
  EXPECT_EQ(d.args[8].why, "passed on the stack: the SSE registers are taken");

  // A string_view needs two registers; with one left it goes on the stack, and the
  // register stays for the next argument.
  Function sv = only("minidfs::sv_late");
  expect_args(sv, {{kInt, kIntReg, 0},
                   {kInt, kIntReg, 1},
                   {kInt, kIntReg, 2},
                   {kInt, kIntReg, 3},
                   {kInt, kIntReg, 4},
                   {ArgKind::kStringView, kUnknown, 0},
                   {kInt, kIntReg, 5}});
}

TEST(Resolve, ByValueClassMakesTheRestUnknown) {
  Function f = only("minidfs::store");
  expect_args(f,
              {{ArgKind::kUnsupported, kUnknown, 0}, {kInt, kUnknown, 0}, {ArgKind::kDouble, kUnknown, 0}});
  EXPECT_EQ(f.args[0].why, "minidfs::Block is a class passed by value, whose registers depend on its layout");
  EXPECT_EQ(f.args[1].why, "it follows minidfs::Block, a class passed by value, whose registers are unknown");

  // std::string by value is passed by invisible reference; a template instance is a class.
  Function b = only("minidfs::by_value");
  expect_args(b,
              {{ArgKind::kStdString, kIntReg, 0}, {ArgKind::kUnsupported, kUnknown, 0}, {kInt, kUnknown, 0}});
}

TEST(Resolve, EnumByValueIsAnInt) {
  Function f = only("minidfs::set_mode");
  expect_args(f, {{kInt, kIntReg, 0}, {kInt, kIntReg, 1}});
  // With a constructor, Mode is a class.
  auto fns = resolve("minidfs::set_mode", program(), kClasses);
  ASSERT_TRUE(fns);
  expect_args((*fns)[0], {{ArgKind::kUnsupported, kUnknown, 0}, {kInt, kUnknown, 0}});
}

TEST(Resolve, WideTypes) {
  Function f = only("minidfs::wide");
  // long double goes on the stack and takes no register; __int128 takes two.
  expect_args(f, {{ArgKind::kUnsupported, kUnknown, 0},
                  {kInt, kIntReg, 0},
                  {ArgKind::kUnsupported, kIntReg, 1},
                  {kInt, kIntReg, 3}});
  EXPECT_EQ(f.args[0].why, "long double is not supported (it is passed on the stack)");
  EXPECT_EQ(f.args[2].why, "128-bit integers are not supported");
}

TEST(Resolve, TemplateReturnTypes) {
  // A std::string result is returned in memory: rdi holds its address, `this` is in rsi.
  Function d = only("minidfs::Namenode::describe<int>");
  EXPECT_TRUE(d.is_member);
  EXPECT_EQ(d.signature.return_type, kString);
  expect_args(d, {{ArgKind::kPointer, kIntReg, 1}, {kInt, kIntReg, 2}});
  // A class result of unknown size: where the arguments are cannot be told.
  Function m = only("minidfs::make<int>");
  expect_args(m, {{kInt, kUnknown, 0}});
  EXPECT_EQ(m.args[0].why,
            "it returns std::vector<int, std::allocator<int> > by value, which may take rdi for the result's "
            "address");
  expect_args(only("minidfs::identity<int>(int)"), {{kInt, kIntReg, 0}});
  auto fns = resolve("f<int>", {sym("auto f<int>(int)", 0x10)});
  ASSERT_TRUE(fns);
  expect_args((*fns)[0], {{kInt, kUnknown, 0}});
  fns = resolve("g<int>", {sym("minidfs::Mode g<int>(int)", 0x10), sym("h(minidfs::Mode)", 0x20)});
  ASSERT_TRUE(fns);
  expect_args((*fns)[0], {{kInt, kIntReg, 0}});  // an enum result is in rax
}

TEST(Resolve, VariadicAndDestructors) {
  Function f = only("minidfs::printf_like");
  EXPECT_TRUE(f.signature.variadic);
  expect_args(f, {{ArgKind::kCString, kIntReg, 0}});
  EXPECT_EQ(only("minidfs::printf_like(char const*, ...)").symbol.address, 0x1180u);

  // The deleting destructor (D0) calls the complete one (D1): only D1 is hooked.
  Function dtor = only("minidfs::Block::~Block()");
  EXPECT_EQ(dtor.symbol.address, 0x1190u);
  EXPECT_TRUE(dtor.is_member);
}

TEST(Resolve, SameSignatureInTwoObjectsIsNotAmbiguous) {
  std::vector<FunctionSymbol> symbols = {sym("util::hash(int)", 0x10), sym("util::hash(int)", 0x20)};
  symbols[1].object = "/lib/libother.so";
  auto fns = resolve("util::hash", symbols);
  ASSERT_TRUE(fns) << fns.error().message();
  EXPECT_EQ(fns->size(), 2u);
}

TEST(ValueType, OfEachKind) {
  EXPECT_EQ(value_type(ArgKind::kInt), ValueType::kInt);
  EXPECT_EQ(value_type(ArgKind::kBool), ValueType::kBool);
  EXPECT_EQ(value_type(ArgKind::kDouble), ValueType::kDouble);
  EXPECT_EQ(value_type(ArgKind::kFloat), ValueType::kDouble);
  EXPECT_EQ(value_type(ArgKind::kPointer), ValueType::kInt);
  EXPECT_EQ(value_type(ArgKind::kCString), ValueType::kString);
  EXPECT_EQ(value_type(ArgKind::kStdString), ValueType::kString);
  EXPECT_EQ(value_type(ArgKind::kStringView), ValueType::kString);
  EXPECT_EQ(value_type(ArgKind::kUnsupported), ValueType::kNull);
}

const FunctionSymbol* find_at(const std::vector<FunctionSymbol>& symbols, const void* address) {
  auto it = std::lower_bound(symbols.begin(), symbols.end(), reinterpret_cast<uintptr_t>(address),
                             [](const FunctionSymbol& s, uintptr_t a) { return s.address < a; });
  return it != symbols.end() && it->address == reinterpret_cast<uintptr_t>(address) ? &*it : nullptr;
}

TEST(FunctionSymbols, FindsThisBinarysFunctions) {
  std::vector<std::string> classes;
  std::vector<FunctionSymbol> symbols = function_symbols(&classes);
  ASSERT_FALSE(symbols.empty());
  EXPECT_TRUE(
      std::is_sorted(symbols.begin(), symbols.end(),
                     [](const FunctionSymbol& a, const FunctionSymbol& b) { return a.address < b.address; }));
  char exe[4096] = {};
  ASSERT_GT(readlink("/proc/self/exe", exe, sizeof(exe) - 1), 0);

  const FunctionSymbol* c = find_at(symbols, reinterpret_cast<const void*>(&pivot_symbols_test_c_function));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->demangled, "pivot_symbols_test_c_function");
  EXPECT_EQ(c->mangled, "pivot_symbols_test_c_function");
  EXPECT_EQ(c->object, exe);
  EXPECT_GT(c->size, 0u);

  const FunctionSymbol* cc = find_at(symbols, reinterpret_cast<const void*>(&pivot_symbols_test::scaled));
  ASSERT_NE(cc, nullptr);
  EXPECT_EQ(cc->demangled, "pivot_symbols_test::scaled(long, double)");
  EXPECT_EQ(cc->mangled, "_ZN18pivot_symbols_test6scaledEld");

  const FunctionSymbol* internal =
      find_at(symbols, reinterpret_cast<const void*>(&pivot_symbols_test_internal));
  ASSERT_NE(internal, nullptr);
  EXPECT_EQ(internal->demangled, "pivot_symbols_test_internal(int)");

  // A shared library's function, by name.
  auto fns = resolve("getpid", symbols, classes);
  ASSERT_TRUE(fns) << fns.error().message();
  ASSERT_EQ(fns->size(), 1u);
  EXPECT_NE((*fns)[0].symbol.object.find("libc.so"), std::string::npos) << (*fns)[0].symbol.object;
  EXPECT_EQ((*fns)[0].symbol.address, reinterpret_cast<uintptr_t>(&getpid));

  // And a typed one from this binary, end to end.
  fns = resolve("pivot_symbols_test::scaled(long, double)", symbols, classes);
  ASSERT_TRUE(fns) << fns.error().message();
  expect_args((*fns)[0], {{kInt, kIntReg, 0}, {ArgKind::kDouble, kSseReg, 0}});

  // gtest's classes have vtables.
  EXPECT_TRUE(std::binary_search(classes.begin(), classes.end(), "testing::Test"));

  // Real demangled spellings: two string_views take two registers each.
  fns = resolve("pivot::hook::glob_match", symbols, classes);
  ASSERT_TRUE(fns) << fns.error().message();
  ASSERT_EQ(fns->size(), 1u);
  EXPECT_FALSE((*fns)[0].is_member);
  expect_args((*fns)[0], {{ArgKind::kStringView, kIntReg, 0}, {ArgKind::kStringView, kIntReg, 2}});
  fns = resolve("pivot::hook::glob_match(std::string_view, std::string_view)", symbols, classes);
  ASSERT_TRUE(fns) << fns.error().message();
  EXPECT_EQ((*fns)[0].symbol.address, reinterpret_cast<uintptr_t>(&glob_match));

  // A member function of a class with a vtable.
  fns = resolve("testing::Test::Run()", symbols, classes);
  ASSERT_TRUE(fns) << fns.error().message();
  EXPECT_TRUE((*fns)[0].is_member);
  expect_args((*fns)[0], {{ArgKind::kPointer, kIntReg, 0}});
}

TEST(FunctionSymbols, DemangledLibstdcxxSymbol) {
  std::vector<FunctionSymbol> symbols = function_symbols();
  auto fns = resolve("std::terminate()", symbols);
  ASSERT_TRUE(fns) << fns.error().message();
  ASSERT_EQ(fns->size(), 1u);
  EXPECT_EQ((*fns)[0].symbol.mangled, "_ZSt9terminatev");
  EXPECT_NE((*fns)[0].symbol.object.find("libstdc++"), std::string::npos) << (*fns)[0].symbol.object;
  EXPECT_EQ((*fns)[0].symbol.address, reinterpret_cast<uintptr_t>(&std::terminate));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The test binary's symbols, read from a copy of it made `damage`d.
std::vector<internal::ElfFunction> read_damaged(const std::string& bytes) {
  std::string path = testing::TempDir() + "pivot_symbols_test_damaged";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  const std::vector<std::pair<uintptr_t, uintptr_t>> everywhere = {{0, UINTPTR_MAX}};
  std::unordered_set<std::string> classes;
  auto out = internal::read_elf_functions(path, "damaged", 0, everywhere, &classes);
  std::remove(path.c_str());
  return out;
}

TEST(ReadElfFunctions, WholeFile) {
  const std::vector<std::pair<uintptr_t, uintptr_t>> everywhere = {{0, UINTPTR_MAX}};
  std::unordered_set<std::string> classes;
  auto fns = internal::read_elf_functions("/proc/self/exe", "self", 0, everywhere, &classes);
  EXPECT_TRUE(std::any_of(fns.begin(), fns.end(), [](const internal::ElfFunction& f) {
    return f.symbol.demangled == "pivot_symbols_test_c_function" && f.symbol.object == "self";
  }));
  EXPECT_TRUE(classes.contains("testing::Test"));
  // No executable range, no functions.
  EXPECT_TRUE(internal::read_elf_functions("/proc/self/exe", "self", 0, {}, nullptr).empty());
  EXPECT_TRUE(internal::read_elf_functions("/nonexistent/pivot", "x", 0, everywhere, nullptr).empty());
  EXPECT_TRUE(
      internal::read_elf_functions("/proc/self", "x", 0, everywhere, nullptr).empty());  // a directory
}

TEST(ReadElfFunctions, DamagedFilesAreSkippedNotCrashedOn) {
  const std::string exe = read_file("/proc/self/exe");
  ASSERT_GT(exe.size(), sizeof(Elf64_Ehdr));
  for (size_t size : {size_t{0}, size_t{4}, sizeof(Elf64_Ehdr) - 1, sizeof(Elf64_Ehdr), size_t{4096},
                      exe.size() / 2, exe.size() - 1}) {
    EXPECT_TRUE(read_damaged(exe.substr(0, size)).empty()) << size;  // the section headers are at the end
  }
  EXPECT_TRUE(read_damaged(std::string(10000, 'x')).empty());

  Elf64_Ehdr eh;
  std::memcpy(&eh, exe.data(), sizeof(eh));
  auto with_header = [&](auto change) {
    Elf64_Ehdr copy = eh;
    change(copy);
    std::string bytes = exe;
    std::memcpy(bytes.data(), &copy, sizeof(copy));
    return read_damaged(bytes);
  };
  EXPECT_TRUE(with_header([](Elf64_Ehdr& h) { h.e_shoff = UINT64_MAX - 10; }).empty());
  EXPECT_TRUE(with_header([](Elf64_Ehdr& h) { h.e_shnum = 0xffff; }).empty());
  EXPECT_TRUE(with_header([](Elf64_Ehdr& h) { h.e_shentsize = 12; }).empty());
  EXPECT_TRUE(with_header([](Elf64_Ehdr& h) { h.e_ident[EI_CLASS] = ELFCLASS32; }).empty());

  // Section headers with random sizes and offsets: whatever comes out, nothing crashes.
  std::mt19937_64 rng(42);
  for (int round = 0; round < 8; ++round) {
    std::string bytes = exe;
    for (size_t i = 0; i < eh.e_shnum; ++i) {
      Elf64_Shdr sh;
      char* at = bytes.data() + eh.e_shoff + i * sizeof(Elf64_Shdr);
      std::memcpy(&sh, at, sizeof(sh));
      if (rng() % 2) sh.sh_size = rng() % 3 == 0 ? rng() : sh.sh_size + rng() % 4096;
      if (rng() % 3 == 0) sh.sh_offset = rng() % 2 ? rng() : rng() % bytes.size();
      if (rng() % 4 == 0) sh.sh_link = static_cast<uint32_t>(rng() % (eh.e_shnum + 2));
      std::memcpy(at, &sh, sizeof(sh));
    }
    (void)read_damaged(bytes);
  }
}

}  // namespace
}  // namespace pivot::hook
