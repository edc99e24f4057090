// What the debug information (DWARF) of a loaded object says about one of
// its functions: each parameter's name, exact type and place at the
// function's entry, whether it is a member function, and what it returns.
// Read with elfutils' libdw.
//
//   auto f = debug_function(object, symbol.address);   // object: symbols.h's ObjectFile
//   if (!f) explain(f.error().message());  // "no debug information in /srv/app (built without -g?)"
//   f->params[1].name        // "size"
//   f->params[1].at_entry    // {kRegister, kIntReg, 2}: in rdx when the function is entered
//
// The DWARF is found in the object itself, or in a separate debug file:
// the one its .gnu_debuglink section names (beside the object, in its
// .debug/ folder, or under /usr/lib/debug/ + the object's folder), checked
// against the object by build id or by the CRC the link records; else
// /usr/lib/debug/.build-id/xx/rest.debug by the object's build id.
//
// Cost and bounds (it runs inside the traced process): an object's DWARF is
// opened on first use and kept, for at most kMaxOpenModules objects (the
// least recently used is closed first). An object whose debug sections are
// larger than kMaxDebugBytes (kMaxInflatedBytes for compressed ones, which
// are inflated into memory) is skipped, as is one whose DWARF is malformed,
// split (.dwo) or takes more than kMaxDiesPerUnit entries in a compile unit;
// the error says why, and the symbol table's rules apply to its functions.
// A function is looked up in its compile unit only (found by address): a
// large program costs the units whose functions are asked for.
//
// Thread safety: thread-safe. Slow (reads files): never call it on a hook
// path or while a patch barrier is up (patch.h). It never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hook/symbols.h"
#include "pivot/result.h"

namespace pivot::hook {

inline constexpr size_t kMaxOpenModules = 16;
inline constexpr uint64_t kMaxDebugBytes = uint64_t{2} << 30;
inline constexpr uint64_t kMaxInflatedBytes = uint64_t{256} << 20;
inline constexpr size_t kMaxDiesPerUnit = 4'000'000;

// A type as the DWARF describes it, reduced to what pivot needs: how a
// value of it is exported, and how the x86-64 System V ABI passes it.
struct DebugType {
  std::string spelling;  // as DWARF names it: "long int", "const char *", "std::string"
  ArgKind kind = ArgKind::kUnsupported;
  uint8_t width = 8;      // kInt: bytes (1, 2, 4, 8)
  bool is_signed = true;  // kInt
  bool is_void = false;
  bool is_class = false;  // a struct, class or union by value
  // How a value is passed: in `ints` integer and `sses` SSE registers; or
  // in memory (a large or unaligned class: on the stack as an argument,
  // through a hidden pointer as a result); or by invisible reference (a
  // class that is not trivially copyable: its address, in one integer
  // register; also returned through a hidden pointer).
  uint8_t ints = 0, sses = 0;
  bool in_memory = false;
  bool by_reference = false;
  bool layout_unknown = false;  // how it is passed cannot be told (a declared-only class, a vector)
  std::string why;              // kUnsupported: why it cannot be exported
};

// Where a parameter is when the function is entered, from its
// DW_AT_location (the entry of a location list that covers the entry pc)
// or DW_AT_const_value.
struct EntryPlace {
  enum class Kind : uint8_t {
    kNone,       // no location: not passed (optimized out, or dropped from a clone)
    kRegister,   // in `location`/`index` (a string_view by value: size there, data in `index2`)
    kMemory,     // in memory at the address in integer register `index` (invisible reference)
    kConstant,   // the constant `value`: the function (a clone) was made for it
    kElsewhere,  // somewhere a hook does not read: `what` says where
  };
  Kind kind = Kind::kNone;
  Location location = Location::kUnknown;
  uint8_t index = 0, index2 = 0;
  int64_t value = 0;
  std::string what;
};

struct DebugParam {
  std::string name;  // "" when the compiler recorded none; "this" for the object pointer
  DebugType type;
  bool artificial = false;  // the object pointer of a member function
  EntryPlace at_entry;
};

struct DebugFunction {
  std::vector<DebugParam> params;  // in declaration order; `this` first for a member function
  bool is_member = false;
  bool variadic = false;
  DebugType ret;        // is_void for void
  bool nocall = false;  // DW_CC_nocall: the compiler changed how it is called (clang)
  std::string file;     // where the DWARF was read: the object or its separate debug file
};

// The debug information of the function at run-time `address` of `object`;
// an error saying why there is none.
Result<DebugFunction> debug_function(const ObjectFile& object, uintptr_t address);

// Sets f's arguments (in declaration order, `this` first), member-ness,
// return value and source from its debug information: each argument where
// the DWARF says it is at the entry, else where the ABI puts its type; for
// a clone whose arguments moved (or a function the compiler marked
// DW_CC_nocall), only where the DWARF says, and unlocated otherwise.
void apply_debug_info(Function& f, const DebugFunction& d);

// The file holding `object`'s DWARF (the object itself, or its separate
// debug file), or an error saying why there is none. Reads no DWARF.
Result<std::string> find_debug_file(const ObjectFile& object);

// What the cache holds, for tests and for docs/hooks.md's numbers.
struct DebugInfoStats {
  size_t open_modules = 0;
  uint64_t inflated_bytes = 0;  // compressed sections inflated into memory
  uint64_t mapped_bytes = 0;    // debug sections read in place (file mappings)
  uint64_t units_indexed = 0;   // compile units whose functions were indexed (since the last drop)
  uint64_t dies_read = 0;       // entries read to index them
};
DebugInfoStats debug_info_stats();
// Closes every open object (they are opened again when asked for).
void drop_debug_info();

}  // namespace pivot::hook
