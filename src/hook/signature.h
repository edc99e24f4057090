// Reading demangled C++ signatures: the helpers behind parse_signature() and
// resolve() (src/hook/symbols.h), which their tests also use.
//
// Demangled text ("void ns::f<int>(std::vector<int, std::allocator<int> > const&) const")
// is scanned at "top level": outside (), <>, [] and {}, and outside operator
// names, whose '<', '>', '(' and ',' are not brackets ("operator<<", "operator()").
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/result.h"

namespace pivot::hook {
struct FunctionSymbol;
}

namespace pivot::hook::internal {

bool is_ident_char(char c);

// Without leading and trailing blanks.
std::string_view trim(std::string_view s);

// One spelling for text that C++ reads the same: no whitespace, except one
// space between two words and before a word that follows '>', ')', ']', '*'
// or '&': "std::vector<int, std::allocator<int> >const &" ->
// "std::vector<int,std::allocator<int>> const&".
std::string normalize_spacing(std::string_view s);

// In normalized text, the C++11 std::string and std::string_view spelled as
// users write them: "std::__cxx11::basic_string<char,std::char_traits<char>,
// std::allocator<char>>" -> "std::string", "std::basic_string_view<char,
// std::char_traits<char>>" -> "std::string_view".
std::string abbreviate_std(std::string normalized);

// Position of the last top-level "::" in a qualified name, or npos.
size_t last_scope_separator(std::string_view name);

// "ns::C<int>" -> "C<int>"; "f" -> "f".
std::string_view last_component(std::string_view name);

// Trailing template arguments removed: "C<int>" -> "C", "operator<< <char>" ->
// "operator<<", "operator<" -> "operator<", "f" -> "f".
std::string_view strip_template_args(std::string_view name);

// A by-value or pointee type with its trailing "*", "&", "&&", " const" and
// " volatile" removed: "ns::C const* const&" -> "ns::C".
std::string_view base_type(std::string_view type);

// A type spelled by a (qualified, maybe template) name, not a builtin or a
// pointer: "ns::E", "std::vector<int>", "(anonymous namespace)::E". True for
// one-word builtins too ("int"); callers check those first.
bool is_named_type(std::string_view type);

// What a compiler-made copy of a function is, by its suffix ("isra.0"):
enum class CloneKind : uint8_t {
  kWhole,           // the whole function, entered as it is (.lto_priv, clang's .llvm, .localalias)
  kMovesArguments,  // the whole function, taking other arguments (.isra, .constprop, .specialized)
  kPiece,           // a piece split off it, not its entry (.part, .cold)
  kOther,           // anything else (.omp_fn, ...): not hooked
};
CloneKind clone_kind(std::string_view suffix);

// Removes the clone suffixes from a demangled name, in order, into `clones`:
// "f(int) [clone .constprop.0] [clone .isra.0]" -> "f(int)", {"constprop.0",
// "isra.0"}; "f.part.0" -> "f", {"part.0"}. False for a malformed suffix.
bool split_clone_suffixes(std::string_view& demangled, std::vector<std::string>& clones);

// resolve()'s error when nothing matches `pattern`: kNoMatch, then up to 10
// functions whose names look like the name the pattern spells ("ns::f" of
// "ns::f(int)"): only the case differs first, then the same scope, then a
// similar scope (a typo, the same class in another namespace, a class in
// the scope written); nearest first. Names starting with '_' (library internals) only when the
// pattern's do; pivot's own never.
Error no_match(std::string_view pattern, bool signature, const std::vector<FunctionSymbol>& symbols);

}  // namespace pivot::hook::internal
