#include "hook/signature.h"

#include <gtest/gtest.h>

#include "hook/symbols.h"

namespace pivot::hook {
namespace {

using Params = std::vector<std::string>;

const std::string kString = "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >";
const std::string kOstream = "std::basic_ostream<char, std::char_traits<char> >";

TEST(ParseSignature, Table) {
  struct Case {
    std::string demangled;
    std::string name;
    std::string scope;
    Params params;
    std::string qualifiers = "";
    std::string return_type = "";
    bool variadic = false;
  };
  const Case cases[] = {
      {"minidfs::DataNodeMetrics::incrBytesRead(long)",
       "minidfs::DataNodeMetrics::incrBytesRead",
       "minidfs::DataNodeMetrics",
       {"long"}},
      {"f()", "f", "", {}},
      {"f(void)", "f", "", {}},
      {"ns::f(int, char const*, unsigned long)", "ns::f", "ns", {"int", "char const*", "unsigned long"}},
      {"int ns::tf<int>(int)", "ns::tf<int>", "ns", {"int"}, "", "int"},
      {"std::vector<int, std::allocator<int> > ns::tf<std::vector<int, std::allocator<int> > >"
       "(std::vector<int, std::allocator<int> >)",
       "ns::tf<std::vector<int, std::allocator<int> > >",
       "ns",
       {"std::vector<int, std::allocator<int> >"},
       "",
       "std::vector<int, std::allocator<int> >"},
      {kString + " ns::tf<" + kString + " >(" + kString + ")",
       "ns::tf<" + kString + " >",
       "ns",
       {kString},
       "",
       kString},
      {"ns::C::operator()(int)", "ns::C::operator()", "ns::C", {"int"}},
      {"ns::C::operator()()", "ns::C::operator()", "ns::C", {}},
      {"ns::C::operator<(ns::C const&) const", "ns::C::operator<", "ns::C", {"ns::C const&"}, "const"},
      {"ns::C::operator>(ns::C const&) const", "ns::C::operator>", "ns::C", {"ns::C const&"}, "const"},
      {"ns::C::operator<<(int)", "ns::C::operator<<", "ns::C", {"int"}},
      {"ns::C::operator->()", "ns::C::operator->", "ns::C", {}},
      {"ns::C::operator<=>(ns::C const&) const", "ns::C::operator<=>", "ns::C", {"ns::C const&"}, "const"},
      {"ns::C::operator,(int)", "ns::C::operator,", "ns::C", {"int"}},
      {"ns::C::operator int() const", "ns::C::operator int", "ns::C", {}, "const"},
      {"ns::C::operator char const*() const", "ns::C::operator char const*", "ns::C", {}, "const"},
      {"ns::C::operator new(unsigned long)", "ns::C::operator new", "ns::C", {"unsigned long"}},
      {"operator delete[](void*)", "operator delete[]", "", {"void*"}},
      {"operator<<(" + kOstream + "&, ns::C const&)", "operator<<", "", {kOstream + "&", "ns::C const&"}},
      {kOstream + "& operator<< <int>(" + kOstream + "&, std::vector<int, std::allocator<int> > const&)",
       "operator<< <int>",
       "",
       {kOstream + "&", "std::vector<int, std::allocator<int> > const&"},
       "",
       kOstream + "&"},
      {"bool ns::operator==<int>(std::vector<int, std::allocator<int> > const&, ns::C const&)",
       "ns::operator==<int>",
       "ns",
       {"std::vector<int, std::allocator<int> > const&", "ns::C const&"},
       "",
       "bool"},
      {"ns::fp(void (*)(int), int (&) [4], int ns::C::*, int (ns::C::*)(int))",
       "ns::fp",
       "ns",
       {"void (*)(int)", "int (&) [4]", "int ns::C::*", "int (ns::C::*)(int)"}},
      {"(anonymous namespace)::anon(int)", "(anonymous namespace)::anon", "(anonymous namespace)", {"int"}},
      {"(anonymous namespace)::Impl::run(int, int)",
       "(anonymous namespace)::Impl::run",
       "(anonymous namespace)::Impl",
       {"int", "int"}},
      {"useanon(int)::{lambda(int)#1}::operator()(int) const",
       "useanon(int)::{lambda(int)#1}::operator()",
       "useanon(int)::{lambda(int)#1}",
       {"int"},
       "const"},
      {"std::_Function_handler<int (int), fnobj()::{lambda(int)#1}>::_M_invoke(std::_Any_data const&, int&&)",
       "std::_Function_handler<int (int), fnobj()::{lambda(int)#1}>::_M_invoke",
       "std::_Function_handler<int (int), fnobj()::{lambda(int)#1}>",
       {"std::_Any_data const&", "int&&"}},
      {"ns::abi_tagged[abi:cxx11](int)", "ns::abi_tagged", "ns", {"int"}},
      {"ns::C::C(int)", "ns::C::C", "ns::C", {"int"}},
      {"ns::C::~C()", "ns::C::~C", "ns::C", {}},
      {"ns::C::r() &&", "ns::C::r", "ns::C", {}, "&&"},
      {"ns::C::g(int) volatile", "ns::C::g", "ns::C", {"int"}, "volatile"},
      {"ns::C::h() const &", "ns::C::h", "ns::C", {}, "const&"},
      {"ns::var(char const*, ...)", "ns::var", "ns", {"char const*"}, "", "", true},
      {"printf_like(...)", "printf_like", "", {}, "", "", true},
      {"ns::S<int, (char)40>::f(int)", "ns::S<int, (char)40>::f", "ns::S<int, (char)40>", {"int"}},
      {"ns::cb(std::function<void (int, long)>)", "ns::cb", "ns", {"std::function<void (int, long)>"}},
  };
  for (const Case& c : cases) {
    Result<Signature> sig = parse_signature(c.demangled);
    ASSERT_TRUE(sig) << c.demangled << ": " << sig.error().message();
    EXPECT_EQ(sig->name, c.name) << c.demangled;
    EXPECT_EQ(sig->scope, c.scope) << c.demangled;
    EXPECT_EQ(sig->params, c.params) << c.demangled;
    EXPECT_EQ(sig->qualifiers, c.qualifiers) << c.demangled;
    EXPECT_EQ(sig->const_method, !c.qualifiers.empty()) << c.demangled;
    EXPECT_EQ(sig->return_type, c.return_type) << c.demangled;
    EXPECT_EQ(sig->variadic, c.variadic) << c.demangled;
    EXPECT_TRUE(sig->params_known) << c.demangled;
  }
}

TEST(ParseSignature, CNamesHaveNoParameterList) {
  Result<Signature> sig = parse_signature("getpid");
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->name, "getpid");
  EXPECT_EQ(sig->scope, "");
  EXPECT_FALSE(sig->params_known);
  EXPECT_TRUE(sig->params.empty());
}

TEST(ParseSignature, RejectsWhatIsNotAFunctionEntry) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "empty symbol name"},
      {"ns::f(int) [clone .isra.0] [clone .cold]",
       "'ns::f(int) [clone .isra.0] [clone .cold]' is a piece the compiler split off a function (.cold), "
       "not a function's entry"},
      {"f(int) [clone .part.0]",
       "'f(int) [clone .part.0]' is a piece the compiler split off a function (.part.0), not a function's "
       "entry"},
      {"main.cold",
       "'main.cold' is a piece the compiler split off a function (.cold), not a function's entry"},
      {"f.part.0.isra.0",
       "'f.part.0.isra.0' is a piece the compiler split off a function (.part.0), not a function's entry"},
      {"f._omp_fn.0", "'f._omp_fn.0' is a compiler-made copy (._omp_fn.0) that pivot does not hook"},
      {"f(int) [clone ._omp_fn.1]",
       "'f(int) [clone ._omp_fn.1]' is a compiler-made copy (._omp_fn.1) that pivot does not hook"},
      {"non-virtual thunk to ns::D::f(int)",
       "'non-virtual thunk to ns::D::f(int)' is a thunk, not a function's entry"},
      {"virtual thunk to ns::D::~D()", "'virtual thunk to ns::D::~D()' is a thunk, not a function's entry"},
      {"TLS wrapper function for ns::tls",
       "'TLS wrapper function for ns::tls' is a thunk, not a function's entry"},
      {"void (*retfp<int>(int))(int)",
       "'void (*retfp<int>(int))(int)' is not supported (a function returning a function pointer?)"},
      {"f(int) garbage", "'f(int) garbage' is not a function signature"},
      {"f(int", "'f(int' is not a function signature"},
      {"(int)", "'(int)' is not a function signature"},
      {"f(int,,long)", "'f(int,,long)' has an empty parameter"},
      {"vtable for ns::C", "'vtable for ns::C' is not a function signature"},
  };
  for (const auto& [demangled, message] : cases) {
    Result<Signature> sig = parse_signature(demangled);
    ASSERT_FALSE(sig) << demangled;
    EXPECT_EQ(sig.error().message(), message);
  }
}

// A whole-body clone is its function: the same signature, with the
// clone's suffixes apart (symbols.h).
TEST(ParseSignature, WholeBodyClones) {
  struct Case {
    std::string demangled;
    std::string name;
    std::vector<std::string> params;
    std::vector<std::string> clones;
    bool moves_arguments;
  };
  const Case cases[] = {
      {"ns::f(int) [clone .constprop.0]", "ns::f", {"int"}, {"constprop.0"}, true},
      {"ns::C::f(long, char const*) const [clone .isra.0]",
       "ns::C::f",
       {"long", "char const*"},
       {"isra.0"},
       true},
      {"app::score(app::Big const&, int, long) [clone .constprop.0] [clone .isra.0]",
       "app::score",
       {"app::Big const&", "int", "long"},
       {"constprop.0", "isra.0"},
       true},
      {"app::mix(long, long) [clone .lto_priv.0]", "app::mix", {"long", "long"}, {"lto_priv.0"}, false},
      {"f.constprop.0.isra.0", "f", {}, {"constprop.0", "isra.0"}, true},
      {"f.lto_priv.3", "f", {}, {"lto_priv.3"}, false},
      {"f.llvm.123456789", "f", {}, {"llvm.123456789"}, false},
      {"ns::g()", "ns::g", {}, {}, false},
  };
  for (const Case& c : cases) {
    Result<Signature> sig = parse_signature(c.demangled);
    ASSERT_TRUE(sig) << c.demangled << ": " << sig.error().message();
    EXPECT_EQ(sig->name, c.name) << c.demangled;
    EXPECT_EQ(sig->params, c.params) << c.demangled;
    EXPECT_EQ(sig->clones, c.clones) << c.demangled;
    EXPECT_EQ(clone_moves_arguments(*sig), c.moves_arguments) << c.demangled;
  }
  EXPECT_EQ(clone_suffix(*parse_signature("f.constprop.0.isra.0")), " [clone .constprop.0] [clone .isra.0]");
}

TEST(GlobMatch, Cases) {
  struct Case {
    std::string pattern;
    std::string text;
    bool match;
  };
  const Case cases[] = {
      {"f", "f", true},
      {"f", "g", false},
      {"f", "ff", false},
      {"", "", true},
      {"*", "", true},
      {"*", "ns::C::f", true},
      {"ns::*", "ns::C::f", true},
      {"ns::*::f", "ns::C::f", true},
      {"ns::*::f", "ns::f", false},
      {"*::f", "ns::C::f", true},
      {"*incr*", "minidfs::DataNodeMetrics::incrBytesRead", true},
      {"minidfs::DataNodeMetrics::incrBytesRead*", "minidfs::DataNodeMetrics::incrBytesRead", true},
      {"f?", "f1", true},
      {"f?", "f", false},
      {"f??", "f12", true},
      {"a*b*c", "aXbYc", true},
      {"a*b*c", "aXbYcZ", false},
      {"a*b*c*", "aXbYcZ", true},
      {"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
      {"ns::C::operator*", "ns::C::operator<<", true},
      {"F", "f", false},
  };
  for (const Case& c : cases)
    EXPECT_EQ(glob_match(c.pattern, c.text), c.match) << c.pattern << " ~ " << c.text;
}

TEST(SignatureHelpers, NormalizeSpacing) {
  using internal::normalize_spacing;
  EXPECT_EQ(normalize_spacing("std::vector<int, std::allocator<int> > const &"),
            "std::vector<int,std::allocator<int>> const&");
  EXPECT_EQ(normalize_spacing("  f( unsigned   long , char const * )  "), "f(unsigned long,char const*)");
  EXPECT_EQ(normalize_spacing("(anonymous namespace)::f"), "(anonymous namespace)::f");
  EXPECT_EQ(normalize_spacing("std::vector<int>const&"), "std::vector<int> const&");
  EXPECT_EQ(normalize_spacing("ns::C::h() const &"), "ns::C::h() const&");
  EXPECT_EQ(normalize_spacing("ns::C::r() &&"), "ns::C::r()&&");
  EXPECT_EQ(normalize_spacing("int (&) [4]"), "int(&)[4]");
  EXPECT_EQ(internal::abbreviate_std(normalize_spacing("f(" + kString +
                                                       " const&, std::basic_string_view<char, "
                                                       "std::char_traits<char> >)")),
            "f(std::string const&,std::string_view)");
}

TEST(SignatureHelpers, Components) {
  using internal::last_component;
  using internal::strip_template_args;
  EXPECT_EQ(last_component("ns::C<int>"), "C<int>");
  EXPECT_EQ(last_component("ns::C<a::b>::f"), "f");
  EXPECT_EQ(last_component("(anonymous namespace)::f"), "f");
  EXPECT_EQ(last_component("f(int)::{lambda(int)#1}"), "{lambda(int)#1}");
  EXPECT_EQ(last_component("f"), "f");
  EXPECT_EQ(strip_template_args("ns::C<std::vector<int> >"), "ns::C");
  EXPECT_EQ(strip_template_args("operator<< <char>"), "operator<<");
  EXPECT_EQ(strip_template_args("ns::operator>"), "ns::operator>");
  EXPECT_EQ(strip_template_args("ns::operator>>"), "ns::operator>>");
  EXPECT_EQ(strip_template_args("ns::operator<"), "ns::operator<");
  EXPECT_EQ(strip_template_args("f"), "f");
  EXPECT_EQ(internal::base_type("ns::C const* const&"), "ns::C");
  EXPECT_EQ(internal::base_type("char**"), "char");
  EXPECT_EQ(internal::base_type("void (*)(int)"), "void (*)(int)");
  EXPECT_TRUE(internal::is_named_type("ns::E"));
  EXPECT_TRUE(internal::is_named_type("(anonymous namespace)::E"));
  EXPECT_TRUE(internal::is_named_type("std::vector<int, std::allocator<int> >"));
  EXPECT_FALSE(internal::is_named_type("double _Complex"));
  EXPECT_FALSE(internal::is_named_type("void (*)(int)"));
}

}  // namespace
}  // namespace pivot::hook
