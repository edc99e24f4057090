// Functions of the running process, found by (demangled) name or glob, with
// their arguments located and typed for the x86-64 System V ABI.
//
//   std::vector<std::string> classes;
//   auto symbols = function_symbols(&classes);   // slow (reads files): cache it
//   auto fns = resolve("minidfs::DataNodeMetrics::incrBytesRead*", symbols, classes);
//   if (!fns) return fns.error();
//   (*fns)[0].args[1]   // {ArgKind::kInt, Location::kIntReg, 1}: arg1 is in rsi
//
// Symbols come from the ELF symbol tables (.symtab, else .dynsym) of the
// executable and every loaded shared library, read from their files, and from
// their separate debug files (/usr/lib/debug/.build-id/...), so functions
// that are neither exported nor instrumented are found too.
//
// What a mangled name does not say, and so what this guesses (see resolve()):
//  - whether a function is a static member (taken for a member when its class
//    is evident, so its arguments would be off by one);
//  - the return type of a non-template function: one returned in memory
//    (a std::string, a large struct) takes rdi for the result's address and
//    shifts every argument by one register. Template functions' return types
//    are in the name and are taken into account.
//
// Thread safety: every function here is a pure function of its inputs except
// function_symbols(), which reads /proc/self/exe and the loaded libraries'
// files (call it while no library is being dlclose()d).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/result.h"
#include "pivot/value.h"

namespace pivot::hook {

// A defined function (STT_FUNC) with a non-zero size, inside an executable
// segment of its object. An IFUNC (STT_GNU_IFUNC, whose own address is its
// resolver's) stands for the implementation the process calls through it:
// its address and size are that implementation's, found by dlsym, and
// `ifunc` names it ("__memmove_evex_unaligned_erms"); "?" with size 0 when no
// symbol table says where it ends (install the library's debug symbols).
struct FunctionSymbol {
  std::string demangled;  // "minidfs::DataNodeMetrics::incrBytesRead(long)"; C names as they are
  std::string mangled;    // "_ZN7minidfs15DataNodeMetrics13incrBytesReadEl"
  uintptr_t address = 0;  // run-time address (load bias applied)
  size_t size = 0;
  std::string object;  // path of the executable or shared library
  std::string ifunc;   // for an IFUNC: the implementation's name, or "?"; "" otherwise
};

// Every function symbol of the loaded objects, sorted by address. Of the
// names of one address the first is the best (global and weak binding win
// over local, then the name with fewer leading underscores: "getpid" over
// "__getpid", then the smaller mangled name: a C1 constructor over its C2
// alias); every other global or weak name with a different demangled
// spelling follows it at the same address ("cfree" beside "free"), local
// ones are dropped. Unreadable, missing or malformed files are skipped.
//
// With `classes`, also the names of the classes that have a vtable or typeinfo
// symbol in any object ("minidfs::DataNode"), sorted, for resolve().
std::vector<FunctionSymbol> function_symbols(std::vector<std::string>* classes = nullptr);

// How an argument's value is read at function entry.
enum class ArgKind : uint8_t {
  kInt,  // integers, enums, char types: sign/zero-extended from the register
  kBool,
  kDouble,
  kFloat,
  kPointer,      // any other pointer or reference: the address, as an int
  kCString,      // char const* / char*: the NUL-terminated string (null -> null value)
  kStdString,    // std::string (C++11 ABI) const& / & / && / const* / *, or by value (which
                 // the ABI passes by invisible reference): a pointer to the std::string
  kStringView,   // std::string_view by value: two integer registers (size, then data)
  kUnsupported,  // cannot be read (by-value class, long double, __int128, ...)
};

enum class Location : uint8_t {
  kIntReg,   // index 0..5: rdi, rsi, rdx, rcx, r8, r9
  kSseReg,   // index 0..7: xmm0..xmm7
  kUnknown,  // on the stack, or after an argument whose size is unknown
};

struct Arg {
  std::string spelling;  // as demangled ("long", "char const*"); "this" for a member's arg0
  ArgKind kind = ArgKind::kUnsupported;
  Location location = Location::kUnknown;
  uint8_t index = 0;  // the register; for kStringView the first of two (size; data in index + 1)
  std::string why;    // for kUnsupported or kUnknown: the reason, for error messages
};

// The ValueType an argument of this kind exports (kNull for kUnsupported).
ValueType value_type(ArgKind kind);

// A demangled signature split into its parts.
struct Signature {
  std::string name;                 // "minidfs::DataNodeMetrics::incrBytesRead"; "[abi:...]" tags dropped
  std::string scope;                // "minidfs::DataNodeMetrics" ("" at global scope)
  std::vector<std::string> params;  // {"long"}; "(void)" and "()" give {}
  bool variadic = false;
  bool const_method = false;  // trailing " const" (or volatile, &, && qualifiers): surely a member
  std::string qualifiers;     // those trailing qualifiers as demangled: "const", "const &&", ""
  std::string return_type;    // template functions only: "int" of "int f<int>(int)"
  bool params_known = true;   // false for a C name ("getpid"): name only, no parameter list
};
// An error when `demangled` is not a function signature, or is one that is not
// a function's entry: a compiler-made clone ("f(int) [clone .constprop.0]",
// "f.cold", whose calling convention may differ) or a thunk.
Result<Signature> parse_signature(std::string_view demangled);

// A function a pattern resolved to, with its arguments in ABI order: for a
// member function args[0] is `this` and the declared parameters follow.
// For a C name (signature.params_known false) args is empty: the types are unknown.
struct Function {
  FunctionSymbol symbol;
  Signature signature;
  bool is_member = false;  // see resolve()
  std::vector<Arg> args;
};

// resolve()'s error when nothing matches starts with this.
inline constexpr std::string_view kNoMatch = "no function matches '";

// Functions matching `pattern`:
//  - with "(": compared with the whole signature (without a template function's
//    return type), whitespace-insensitive where C++ allows ("f(long)", "f( long )");
//    "std::string" and "std::string_view" stand for their demangled spellings;
//  - without "(": compared with the name (signature.name), so "ns::C::f" names every
//    overload; a pattern without '<' also matches template instances ("f" -> f<int>),
//    and "std::string" in template arguments works here too;
//  - '*' matches any run of characters (also "::"), '?' one character; except that
//    inside parentheses a '*' right after a type ("char*", "Foo const*", "int**") is
//    the pointer it looks like; "f(*)", "f(int, *)" and "f(std::vector<*>)" are globs.
// Errors, each listing candidates (at most 10, then "and N more"):
//  - nothing matches (candidates: functions whose name contains the pattern's last
//    component, case-insensitively);
//  - a pattern without glob characters matches several different signatures (overloads):
//    "ambiguous: 'f' matches 3 functions: f(int), f(long), f(char const*); write the signature".
// A glob may match many functions; each one is returned, sorted by signature.
// Copies of one signature (a C1 and a C2 constructor that are not aliases, the same
// inline function in two objects) are all returned; a deleting destructor (D0)
// is dropped when the complete one is there, as it calls it.
// Compiler-made clones and thunks (see parse_signature) are never matched.
//
// A function is a member (arg0 = this) when its scope is a class: the scope is in
// `classes` (see function_symbols) or is a lambda, or has a constructor, destructor
// or const-qualified method in `symbols`, or the scope's name appears as a parameter
// type of any symbol. A static member function with none of this evidence is taken
// for a free function, and one of a class with evidence for a member (documented).
// A parameter of a named type passed by value is taken for an enum (kInt) unless it
// is a class by the same evidence, or has member functions, or is a template
// instance: then it is kUnsupported and the arguments after it are kUnknown.
Result<std::vector<Function>> resolve(std::string_view pattern, const std::vector<FunctionSymbol>& symbols,
                                      const std::vector<std::string>& classes = {});

// The evidence above, for the symbols of a table: made at once, it gathers
// what a resolve() asks about, and keeps it. Make it once per table and
// resolve with it each time. It refers to `symbols`, which must outlive it.
struct ScopeEvidence;
std::shared_ptr<const ScopeEvidence> gather_evidence(const std::vector<FunctionSymbol>& symbols,
                                                     const std::vector<std::string>& classes);
Result<std::vector<Function>> resolve(std::string_view pattern, const std::vector<FunctionSymbol>& symbols,
                                      const ScopeEvidence& evidence);

// Glob match as described above, without the pointer exception: every '*'
// matches any run of characters and every '?' one character.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace pivot::hook
