// Tracepoints defined at run time on functions of this process.
//
//   // Tracepoint incr = Entry("minidfs::DataNodeMetrics::incrBytesRead") Exports delta = arg1
//   auto probe = make_probe({"incr#1f", false, "minidfs::...", {{"delta", "arg1"}}}, symbols());
//   auto attached = Probes::attach({*probe});  // every matched function hooked, or none
//   // sites named "incr#1f" now fire on each call; advice binds to them by name
//   attached->reset();                         // unhooked (original bytes back), sites gone
//
// A function is hooked once however many probes use it (one Hook per
// function, with a list of the probes attached to it, swapped RCU-style);
// its bytes go back when the last probe leaves. Each probe is a dynamic
// tracepoint site (registry.h) whose exports read the saved registers.
//
// What a probe exports:
//   argN      the N-th declared parameter, counting `this` as arg0 of a
//             member function (a result returned through a hidden pointer
//             is not counted); at Return, its value at entry.
//   NAME      the parameter of that name, and `this` (debug information).
//   ret       (Return) the return value, typed from the debug information
//             (double in xmm0, a std::string returned by value, ...); without
//             it the integer return register, as an int.
//   duration  (Return) nanoseconds from entry to return.
// With debug information (debuginfo.h) each function's parameters, their
// places and types are exact; without it they come from the demangled
// signature (symbols.h's rules). A whole-body clone of a function (GCC's
// .isra, .constprop, .lto_priv) is hooked with it; its parameters are read
// where its debug information says, and an argument export on a clone
// whose arguments moved is refused without it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hook/patch.h"
#include "hook/symbols.h"
#include "pivot/result.h"
#include "pivot/value.h"

namespace pivot::hook {

struct ProbeSpec {
  std::string tracepoint;  // the site name advice binds to
  bool at_return = false;
  std::string pattern;  // symbol or glob
  struct Export {
    std::string name;
    std::string ref;  // "argN", "ret", "duration"
  };
  std::vector<Export> exports;
};

// What an export of a definition measures: `duration` is in ns; arguments
// and `ret` have no unit.
inline Unit export_unit(const ProbeSpec::Export& e) {
  return e.ref == "duration" ? Unit::kNanoseconds : Unit::kNone;
}

// How an export is read.
struct Reader {
  enum class Source : uint8_t { kArg, kRet, kDuration } source = Source::kArg;
  ArgKind kind = ArgKind::kInt;
  Location location = Location::kIntReg;
  uint8_t index = 0;
  uint8_t index2 = 0;     // kStringView: the data pointer's register
  uint8_t width = 8;      // kInt: bytes that are meaningful in the register
  bool is_signed = true;  // kInt
  int64_t constant = 0;   // Location::kConstant
};

struct Probe {
  ProbeSpec spec;
  std::vector<Function> functions;
  std::vector<std::vector<Reader>> readers;      // [function][export]: argument places differ by function
  std::vector<ValueType> types;                  // one per spec.exports
  std::vector<std::vector<Neighbor>> neighbors;  // [function]: the functions near it (patch.h)
};

// One line per function of the probe, for explain: where its arguments were
// found and where each export is read, e.g.
// "t @ shop::price(double, int) (/srv/app): debug info (/srv/app); n = arg1 (esi, int)".
std::vector<std::string> describe(const Probe& probe);

// The functions of this process and the class names its vtables and
// typeinfo show (evidence for resolve()).
struct SymbolTable {
  std::vector<FunctionSymbol> functions;
  std::vector<std::string> classes;
  std::shared_ptr<const ScopeEvidence> evidence;  // of functions and classes, for resolve()
  std::vector<ObjectFile> objects;                // the objects they were read from
  const ObjectFile* object_of(const FunctionSymbol& f) const;
};
// Read once and kept; refresh_symbols() rereads (libraries loaded since).
const SymbolTable& symbols();
void refresh_symbols();

// Resolves spec.pattern, reads the matched functions' debug information
// (slow the first time for each object: call it where the host can wait,
// never on a hook path) and types each export. Errors: no or ambiguous match
// (with candidates), argN out of range or of an unsupported type, a
// parameter name without debug information or that the function lacks, an
// argument of a clone that cannot be located, ret or duration at Entry,
// exports whose types differ between the matched functions, Return on a
// function with stack arguments.
Result<Probe> make_probe(const ProbeSpec& spec, const SymbolTable& symbols);

// Why a hook must not be put on f (at its return, with at_return), or "":
// functions of the dynamic loader and of pivot, those the allocator calls
// with its lock held (mprotect, mmap, ...), Return on functions that return
// twice (setjmp, vfork), IFUNCs whose implementation cannot be found.
// make_probe() refuses them with this reason.
std::string refusal(const FunctionSymbol& f, bool at_return);

// Reads f's debug information (debuginfo.h) and, when there is some, takes
// its arguments, member-ness and return value from it; else says why not in
// f.how. Slow the first time for each object.
void read_debug_info(Function& f, const SymbolTable& symbols);

// The functions of f's object that start within 16 KB of it: hand-written
// code (the C library's string functions) branches into its neighbors.
std::vector<Neighbor> neighbors_of(const FunctionSymbol& f, const std::vector<FunctionSymbol>& all);

// The export types a definition has without resolving it in a process: from
// the signature when the pattern spells one ("f(long)"), else kNull
// (unknown until an agent resolves it). For frontends.
std::vector<ValueType> declared_types(const ProbeSpec& spec);

// Probes attached to their functions. Destroying it detaches them: when it
// returns no thread runs their advice and the sites are gone.
class Probes {
 public:
  // Hooks every function of every probe, or none (the first error).
  static Result<std::unique_ptr<Probes>> attach(std::vector<Probe> probes);
  ~Probes();
  Probes(const Probes&) = delete;
  Probes& operator=(const Probes&) = delete;

  // One line per hooked function, for explain and errors.
  std::vector<std::string> describe() const;

  struct Impl;

 private:
  explicit Probes(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pivot::hook
