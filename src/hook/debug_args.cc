// apply_debug_info() (debuginfo.h): a Function's arguments from its debug
// information, placed by the x86-64 System V ABI and checked against (or,
// for clones, taken from) the DWARF locations at its entry.
#include <algorithm>

#include "hook/debuginfo.h"
#include "hook/signature.h"

namespace pivot::hook {
namespace {

constexpr int kIntRegs = 6;
constexpr int kSseRegs = 8;

// Registers the ABI gives the next argument, in declaration order.
struct AbiPlacer {
  int next_int = 0;
  int next_sse = 0;
  std::string unknown_after;  // once set, later arguments cannot be placed

  // Places `a` of type `t`; sets a.location/index or a.why.
  void place(Arg& a, const DebugType& t) {
    if (!unknown_after.empty()) {
      a.why = unknown_after;
      return;
    }
    if (t.layout_unknown) {
      a.why = "how its type is passed cannot be told";
      unknown_after =
          "it follows " + (a.name.empty() ? a.spelling : a.name) + ", whose registers are unknown";
      return;
    }
    if (t.in_memory) {
      a.why = "passed on the stack";
      return;
    }
    if (next_int + t.ints > kIntRegs || next_sse + t.sses > kSseRegs) {
      a.why = "passed on the stack: the registers are taken";
      return;
    }
    if (t.sses > 0 && t.ints == 0) {
      a.location = Location::kSseReg;
      a.index = static_cast<uint8_t>(next_sse);
    } else if (t.ints > 0) {
      a.location = Location::kIntReg;
      a.index = static_cast<uint8_t>(next_int);
      a.index2 = static_cast<uint8_t>(next_int + 1);
    }
    next_int += t.ints;
    next_sse += t.sses;
  }
};

// The argument's place from the DWARF location at entry, when that is one
// a hook reads; false otherwise.
bool place_from_dwarf(Arg& a, const EntryPlace& at) {
  switch (at.kind) {
    case EntryPlace::Kind::kRegister:
      if (a.kind == ArgKind::kStringView && at.index2 == at.index) return false;
      a.location = at.location;
      a.index = at.index;
      a.index2 = at.index2;
      return true;
    case EntryPlace::Kind::kMemory:
      if (a.kind != ArgKind::kStdString) return false;  // the object is at *reg: read through the pointer
      a.location = Location::kIntReg;
      a.index = at.index;
      return true;
    case EntryPlace::Kind::kConstant:
      if (a.kind != ArgKind::kInt && a.kind != ArgKind::kBool) return false;
      a.location = Location::kConstant;
      a.value = at.value;
      return true;
    default: return false;
  }
}

Arg return_arg(const DebugType& t) {
  Arg ret;
  ret.spelling = t.spelling;
  ret.kind = ArgKind::kInt;  // void, classes: the integer return register, as without debug information
  switch (t.kind) {
    case ArgKind::kInt:
    case ArgKind::kBool:
    case ArgKind::kDouble:
    case ArgKind::kFloat:
    case ArgKind::kPointer:
    case ArgKind::kCString:
    case ArgKind::kStdString:   // by value: rax holds the hidden result pointer at return
    case ArgKind::kStringView:  // size in rax, data in rdx
      ret.kind = t.kind;
      ret.width = t.width;
      ret.is_signed = t.is_signed;
      break;
    default:
      if (!t.is_void) ret.why = "not exported: ret is rax, as an int";
      break;
  }
  return ret;
}

// Whether the DWARF puts a parameter in another register than the ABI
// would: the compiler changed how the function is called (clang drops and
// promotes a static function's arguments without renaming it, and need not
// say DW_CC_nocall).
bool disagrees(const Arg& abi, const EntryPlace& at) {
  return at.kind == EntryPlace::Kind::kRegister && abi.location != Location::kUnknown &&
         (abi.location != at.location || abi.index != at.index);
}

}  // namespace

void apply_debug_info(Function& f, const DebugFunction& d) {
  // The demangled signature spells types as users write them; the DWARF's
  // spelling is for C functions, whose symbols carry none.
  const size_t declared = d.params.size() - (d.is_member ? 1 : 0);
  const bool spelled = f.signature.params_known && f.signature.params.size() == declared;
  AbiPlacer abi;
  if (d.ret.is_class && (d.ret.in_memory || d.ret.by_reference)) {
    abi.next_int = 1;  // rdi: the hidden pointer to the result
  } else if (d.ret.is_class && d.ret.layout_unknown) {
    abi.unknown_after = "it returns " + d.ret.spelling + ", which may take rdi for the result's address";
  }
  // Where the ABI puts each parameter of the declared signature.
  std::vector<Arg> args;
  bool moved_here = false;
  for (size_t i = 0; i < d.params.size(); ++i) {
    const DebugParam& p = d.params[i];
    Arg a;
    a.name = p.name;
    a.kind = p.type.kind;
    a.width = p.type.width;
    a.is_signed = p.type.is_signed;
    if (p.artificial) {
      a.spelling = "this";
      a.kind = ArgKind::kPointer;
      a.width = 8;
    } else {
      a.spelling = spelled ? f.signature.params[i - (d.is_member ? 1 : 0)] : p.type.spelling;
    }
    abi.place(a, p.type);
    moved_here = moved_here || disagrees(a, p.at_entry);
    args.push_back(std::move(a));
  }
  const bool clone = clone_moves_arguments(f.signature);
  const bool moved = clone || d.nocall || moved_here;
  f.source = ArgSource::kDebugInfo;
  f.is_member = d.is_member;
  f.signature.variadic = f.signature.variadic || d.variadic;  // a C function's symbol does not say
  f.how = "debug info (" + d.file + ")";
  if (clone) {
    f.how += ", a clone: arguments where its DWARF says they are at entry";
  } else if (moved) {
    f.how +=
        ", a function whose arguments the compiler moved: arguments where its DWARF says they are at entry";
  }
  // Then where they are: the DWARF's place at entry where it gives one;
  // else, if the compiler moved the arguments, nowhere; else the ABI's.
  for (size_t i = 0; i < d.params.size(); ++i) {
    const DebugParam& p = d.params[i];
    Arg& a = args[i];
    std::string abi_why = a.why;
    if (a.kind == ArgKind::kUnsupported) a.why = p.type.why;
    if (moved) {
      a.location = Location::kUnknown;
      if (!place_from_dwarf(a, p.at_entry)) {
        a.why = p.at_entry.kind == EntryPlace::Kind::kNone
                    ? "it is not passed to " + f.symbol.demangled + " (the compiler dropped it)"
                    : "in " + f.symbol.demangled + " it is " +
                          (p.at_entry.what.empty() ? std::string("not in a register") : p.at_entry.what) +
                          " (the compiler changed how it takes its arguments)";
      }
    } else if (!place_from_dwarf(a, p.at_entry) && a.location == Location::kUnknown && a.why.empty()) {
      a.why = abi_why;
    }
  }
  f.args = std::move(args);
  f.ret = return_arg(d.ret);
  if (clone && !d.ret.is_void) f.ret.spelling += " (if the clone still returns it)";
}

}  // namespace pivot::hook
