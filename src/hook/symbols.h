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
// Compiler-made clones: GCC names a copy of f that it specialized
// "f(int) [clone .constprop.0]" (C names: "f.constprop.0"). Whole-body clones
// (.isra, .constprop, .lto_priv, and clang's .llvm.N) are f, entered as f
// is: a pattern naming f matches them too, so every call of f counts. Pieces
// split off f (.part, .cold) are never matched: they are not f's entry.
// IPA-SRA (.isra) and IPA-CP (.constprop) clones take different arguments
// than f; where they are is known only from debug information.
//
// What a mangled name does not say, and so what this guesses (see resolve()),
// when the function has no debug information (debuginfo.h says exactly):
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

// A loaded executable or shared library.
struct ObjectFile {
  std::string path;  // as FunctionSymbol::object says: the executable's real path
  std::string file;  // to read: /proc/self/exe for the executable, which may have been replaced on disk
  uintptr_t bias = 0;
  std::vector<std::pair<uintptr_t, uintptr_t>> code;  // executable segments [begin, end)
  std::string build_id;                               // hex, from the NT_GNU_BUILD_ID note; "" if none
};
// The loaded objects, the executable first (not the vDSO).
std::vector<ObjectFile> loaded_objects();

// Every function symbol of the loaded objects, sorted by address. Of the
// names of one address the first is the best (global and weak binding win
// over local, then the name with fewer leading underscores: "getpid" over
// "__getpid", then the smaller mangled name: a C1 constructor over its C2
// alias); every other global or weak name with a different demangled
// spelling follows it at the same address ("cfree" beside "free"), local
// ones are dropped. Unreadable, missing or malformed files are skipped.
//
// With `classes`, also the names of the classes that have a vtable or typeinfo
// symbol in any object ("minidfs::DataNode"), sorted, for resolve(); with
// `objects`, the objects read.
std::vector<FunctionSymbol> function_symbols(std::vector<std::string>* classes = nullptr,
                                             std::vector<ObjectFile>* objects = nullptr);

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
  kIntReg,    // index 0..5: rdi, rsi, rdx, rcx, r8, r9
  kSseReg,    // index 0..7: xmm0..xmm7
  kConstant,  // not passed: a clone made for this value (Arg::value), from debug information
  kUnknown,   // on the stack, or after an argument whose size is unknown, or not passed
};

struct Arg {
  std::string spelling;  // as demangled ("long", "char const*"); "this" for a member's arg0
  std::string name;      // the parameter's name from debug information; "this"; "" without
  ArgKind kind = ArgKind::kUnsupported;
  Location location = Location::kUnknown;
  uint8_t index = 0;      // the register; for kStringView the size's (data in index2)
  uint8_t index2 = 0;     // kStringView: the data pointer's register
  uint8_t width = 8;      // kInt: the bytes of the register that are the value's
  bool is_signed = true;  // kInt
  int64_t value = 0;      // Location::kConstant
  std::string why;        // for kUnsupported or kUnknown: the reason, for error messages
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
  // A whole-body clone's suffixes, in order: {"constprop.0", "isra.0"} of
  // "f(int) [clone .constprop.0] [clone .isra.0]" and of "f.constprop.0.isra.0".
  std::vector<std::string> clones;
};
// An error when `demangled` is not a function signature, or is one that is not
// a function's entry: a piece split off a function ("f(int) [clone .part.0]",
// "f.cold"), another compiler-made copy (".omp_fn.0") or a thunk.
Result<Signature> parse_signature(std::string_view demangled);

// Whether a clone takes other arguments than its function (IPA-SRA and
// IPA-CP clones: .isra, .constprop, .specialized), so that they can be found
// only from debug information. False for a function that is no clone.
bool clone_moves_arguments(const Signature& sig);
// " [clone .constprop.0] [clone .isra.0]" for a clone, "" otherwise.
std::string clone_suffix(const Signature& sig);

// Where a Function's arguments were found.
enum class ArgSource : uint8_t {
  kSymbols,    // the demangled signature and the ABI (resolve()'s rules)
  kDebugInfo,  // the function's debug information (debuginfo.h): exact
};

// A function a pattern resolved to, with its arguments in declaration order:
// for a member function args[0] is `this` and the declared parameters follow
// (a result returned through a hidden pointer is not among them).
// For a C name (signature.params_known false) args is empty without debug
// information: the types are unknown.
struct Function {
  FunctionSymbol symbol;
  Signature signature;
  bool is_member = false;  // see resolve()
  std::vector<Arg> args;
  // What `ret` reads at Return: kind, width and sign (location unused). The
  // integer return register (rax, as int) unless the return type is known.
  Arg ret;
  ArgSource source = ArgSource::kSymbols;
  // How the arguments were found, for explain: "debug info (/usr/lib/debug/...)",
  // or the symbol-table rule used and why there was no debug information.
  std::string how;
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
//  - nothing matches (candidates: functions whose names look like the name the
//    pattern spells, a case-only difference first; see internal::no_match);
//  - a pattern without glob characters matches several different signatures (overloads):
//    "ambiguous: 'f' matches 3 functions: f(int), f(long), f(char const*); write the signature".
// A glob may match many functions; each one is returned, sorted by signature.
// Copies of one signature (a C1 and a C2 constructor that are not aliases, the same
// inline function in two objects) are all returned; a deleting destructor (D0)
// is dropped when the complete one is there, as it calls it.
// A function's whole-body clones match with it (f and "f(int) [clone .isra.0]"
// are one signature, so not ambiguous): every call of f reaches one of them.
// Pieces (.part, .cold), other compiler-made copies and thunks (see
// parse_signature) are never matched.
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

// As resolve(), except that a pattern without glob characters that matches
// several signatures is no error: every match is returned (for listings).
Result<std::vector<Function>> resolve_all(std::string_view pattern,
                                          const std::vector<FunctionSymbol>& symbols,
                                          const ScopeEvidence& evidence);

// Re-locates f's arguments as a member function's (arg0 = this), for a
// function without debug information whose scope the symbols do not show to
// be a class: what a query that exports `this` says.
void locate_as_member(Function& f, const ScopeEvidence& evidence);

// Glob match as described above, without the pointer exception: every '*'
// matches any run of characters and every '?' one character.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace pivot::hook
