// DWARF types and locations as pivot reads them (debuginfo_dwarf.h): what a
// type exports as, how the x86-64 System V ABI passes it, and where a
// parameter is at a function's entry.
#include <dwarf.h>

#include <algorithm>
#include <cstring>

#include "hook/debuginfo_dwarf.h"

namespace pivot::hook::internal {
namespace {

constexpr int kMaxDepth = 12;     // typedef/const/pointer chains, nested classes
constexpr int kMaxMembers = 512;  // members looked at to classify one class

bool udata_of(Dwarf_Die* die, unsigned int attr, Dwarf_Word* out) {
  Dwarf_Attribute a;
  return dwarf_attr(die, attr, &a) != nullptr && dwarf_formudata(&a, out) == 0;
}

std::string name_of(Dwarf_Die* die) {
  const char* n = dwarf_diename(die);
  return n != nullptr ? n : "";
}

// Through typedefs and cv-qualifiers; false when nothing is left (void).
bool peel(Dwarf_Die* type, Dwarf_Die* out) {
  *out = *type;
  for (int i = 0; i < kMaxDepth; ++i) {
    int tag = dwarf_tag(out);
    if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type &&
        tag != DW_TAG_restrict_type && tag != DW_TAG_atomic_type) {
      return true;
    }
    Dwarf_Die next;
    if (!ref_of(out, DW_AT_type, &next)) return false;
    *out = next;
  }
  return false;
}

bool is_class_tag(int tag) {
  return tag == DW_TAG_structure_type || tag == DW_TAG_class_type || tag == DW_TAG_union_type;
}

bool is_std_string(Dwarf_Die* cls) {
  Dwarf_Word size = 0;
  return is_class_tag(dwarf_tag(cls)) && name_of(cls).starts_with("basic_string<char,") &&
         udata_of(cls, DW_AT_byte_size, &size) && size == 32;  // the C++11 ABI's; the old one is 8 bytes
}

bool is_string_view(Dwarf_Die* cls) {
  Dwarf_Word size = 0;
  return is_class_tag(dwarf_tag(cls)) && name_of(cls).starts_with("basic_string_view<char,") &&
         udata_of(cls, DW_AT_byte_size, &size) && size == 16;
}

bool is_char(Dwarf_Die* base) {
  Dwarf_Word enc = 0, size = 0;
  return dwarf_tag(base) == DW_TAG_base_type && udata_of(base, DW_AT_encoding, &enc) &&
         udata_of(base, DW_AT_byte_size, &size) && size == 1 &&
         (enc == DW_ATE_signed_char || enc == DW_ATE_unsigned_char);
}

std::string spell(Dwarf_Die* type, int depth = 0) {
  if (type == nullptr) return "void";
  if (depth > kMaxDepth) return "...";
  int tag = dwarf_tag(type);
  Dwarf_Die target;
  bool has_target = ref_of(type, DW_AT_type, &target);
  std::string inner = has_target ? spell(&target, depth + 1) : "void";
  switch (tag) {
    case DW_TAG_pointer_type: return inner + " *";
    case DW_TAG_reference_type: return inner + " &";
    case DW_TAG_rvalue_reference_type: return inner + " &&";
    case DW_TAG_const_type:
      return has_target && dwarf_tag(&target) == DW_TAG_pointer_type ? inner + " const" : "const " + inner;
    case DW_TAG_volatile_type: return "volatile " + inner;
    case DW_TAG_restrict_type:
    case DW_TAG_atomic_type: return inner;
    case DW_TAG_subroutine_type: return "function";
    case DW_TAG_ptr_to_member_type: return "pointer to member";
    case DW_TAG_typedef:
      if (Dwarf_Die c; peel(type, &c) && is_std_string(&c)) return "std::string";
      if (Dwarf_Die c; peel(type, &c) && is_string_view(&c)) return "std::string_view";
      return name_of(type);
    default: break;
  }
  if (is_std_string(type)) return "std::string";
  if (is_string_view(type)) return "std::string_view";
  std::string n = name_of(type);
  return n.empty() ? "<anonymous>" : n;
}

// The SysV class of one eightbyte.
enum class Eight : uint8_t { kNone, kInteger, kSse, kMemory };

Eight merge(Eight a, Eight b) {
  if (a == b || b == Eight::kNone) return a;
  if (a == Eight::kNone) return b;
  if (a == Eight::kMemory || b == Eight::kMemory) return Eight::kMemory;
  return Eight::kInteger;  // INTEGER with SSE
}

struct Classifier {
  Eight eight[2] = {Eight::kNone, Eight::kNone};
  bool unknown = false;
  int members = 0;

  void put(uint64_t offset, uint64_t size, Eight c) {
    if (size == 0) return;
    if (offset % std::min<uint64_t>(size, 8) != 0 && c != Eight::kNone) c = Eight::kMemory;  // unaligned
    for (uint64_t at = offset / 8; at <= (offset + size - 1) / 8; ++at) {
      if (at < 2) eight[at] = merge(eight[at], c);
    }
  }

  // The type at `type`, `offset` bytes into the class being classified.
  void add(Dwarf_Die* type, uint64_t offset, int depth) {
    Dwarf_Die t;
    if (depth > kMaxDepth || ++members > kMaxMembers || !peel(type, &t)) {
      unknown = true;
      return;
    }
    Dwarf_Word size = 0;
    int tag = dwarf_tag(&t);
    switch (tag) {
      case DW_TAG_base_type: {
        Dwarf_Word enc = 0;
        udata_of(&t, DW_AT_encoding, &enc);
        udata_of(&t, DW_AT_byte_size, &size);
        if (enc == DW_ATE_float && size <= 8) {
          put(offset, size, Eight::kSse);
        } else if (enc == DW_ATE_float || enc == DW_ATE_complex_float) {
          put(offset, size, Eight::kMemory);  // long double (x87), complex: not in eightbytes we read
        } else {
          put(offset, size, Eight::kInteger);
        }
        return;
      }
      case DW_TAG_pointer_type:
      case DW_TAG_reference_type:
      case DW_TAG_rvalue_reference_type:
      case DW_TAG_enumeration_type:
      case DW_TAG_ptr_to_member_type:
        if (!udata_of(&t, DW_AT_byte_size, &size)) size = 8;
        put(offset, size, Eight::kInteger);
        return;
      case DW_TAG_array_type: {
        Dwarf_Die elem, sub;
        if (!ref_of(&t, DW_AT_type, &elem) || flag_of(&t, DW_AT_GNU_vector)) {
          unknown = true;
          return;
        }
        Dwarf_Word count = 0;
        if (dwarf_child(&t, &sub) != 0 || !udata_of(&sub, DW_AT_count, &count)) {
          Dwarf_Word upper = 0;
          if (dwarf_child(&t, &sub) == 0 && udata_of(&sub, DW_AT_upper_bound, &upper)) count = upper + 1;
        }
        Dwarf_Die e;
        Dwarf_Word esize = 0;
        if (!peel(&elem, &e) || (esize = static_cast<Dwarf_Word>(std::max(dwarf_bytesize(&e), 0))) == 0) {
          unknown = count > 0;
          return;
        }
        for (Dwarf_Word i = 0; i < count && i * esize < 16; ++i) add(&elem, offset + i * esize, depth + 1);
        return;
      }
      default: break;
    }
    if (!is_class_tag(tag)) {
      unknown = true;
      return;
    }
    add_members(&t, offset, depth);
  }

  void add_members(Dwarf_Die* cls, uint64_t offset, int depth) {
    Dwarf_Die child;
    if (dwarf_child(cls, &child) != 0) return;
    do {
      int tag = dwarf_tag(&child);
      if (tag != DW_TAG_member && tag != DW_TAG_inheritance) continue;
      if (flag_of(&child, DW_AT_declaration) || flag_of(&child, DW_AT_external)) continue;  // static
      Dwarf_Word at = 0;
      Dwarf_Attribute loc;
      if (dwarf_attr(&child, DW_AT_data_member_location, &loc) != nullptr &&
          dwarf_formudata(&loc, &at) != 0) {
        unknown = true;  // a location expression (virtual base)
        return;
      }
      Dwarf_Word bit = 0;
      if (udata_of(&child, DW_AT_data_bit_offset, &bit)) at = bit / 8;
      Dwarf_Die type;
      if (!ref_of(&child, DW_AT_type, &type)) {
        unknown = true;
        return;
      }
      if (udata_of(&child, DW_AT_bit_size, &bit)) {
        put(offset + at, 1, Eight::kInteger);  // a bit-field: an integer, in the eightbyte of its start
        continue;
      }
      add(&type, offset + at, depth + 1);
    } while (!unknown && dwarf_siblingof(&child, &child) == 0);
  }
};

// A class whose copy is not trivial (a user-provided destructor, copy or
// move constructor, here or in a base or member) is passed by invisible
// reference. Clang says so (DW_AT_calling_convention); GCC does not, so its
// special members are looked for.
bool not_trivially_copyable(Dwarf_Die* cls, int depth) {
  if (depth > kMaxDepth) return false;
  Dwarf_Word cc = 0;
  if (udata_of(cls, DW_AT_calling_convention, &cc)) return cc == DW_CC_pass_by_reference;
  std::string name = name_of(cls);
  std::string bare = name.substr(0, name.find('<'));
  Dwarf_Die child;
  if (dwarf_child(cls, &child) != 0) return false;
  int looked = 0;
  do {
    if (++looked > kMaxMembers) return false;
    int tag = dwarf_tag(&child);
    if (tag == DW_TAG_subprogram) {
      std::string fn = name_of(&child);
      Dwarf_Word defaulted = 0;
      bool trivial_default =
          udata_of(&child, DW_AT_defaulted, &defaulted) && defaulted == DW_DEFAULTED_in_class;
      if (fn.starts_with('~') && !trivial_default) return true;
      if (fn == bare && !trivial_default) {
        // A copy or move constructor: `this` and one reference to this class.
        Dwarf_Die p;
        int params = 0;
        bool ref_to_self = false;
        if (dwarf_child(&child, &p) == 0) {
          do {
            if (dwarf_tag(&p) != DW_TAG_formal_parameter || flag_of(&p, DW_AT_artificial)) continue;
            ++params;
            Dwarf_Die t, target, peeled;
            if (ref_of(&p, DW_AT_type, &t) &&
                (dwarf_tag(&t) == DW_TAG_reference_type || dwarf_tag(&t) == DW_TAG_rvalue_reference_type) &&
                ref_of(&t, DW_AT_type, &target) && peel(&target, &peeled)) {
              ref_to_self = name_of(&peeled) == name;
            }
          } while (dwarf_siblingof(&p, &p) == 0);
        }
        if (params == 1 && ref_to_self) return true;
      }
    } else if ((tag == DW_TAG_member && !flag_of(&child, DW_AT_external) &&
                !flag_of(&child, DW_AT_declaration)) ||
               tag == DW_TAG_inheritance) {
      Dwarf_Die t, peeled;
      if (ref_of(&child, DW_AT_type, &t) && peel(&t, &peeled) && is_class_tag(dwarf_tag(&peeled)) &&
          not_trivially_copyable(&peeled, depth + 1)) {
        return true;
      }
    }
  } while (dwarf_siblingof(&child, &child) == 0);
  return false;
}

void classify_class(Dwarf_Die* cls, DebugType& out) {
  out.is_class = true;
  Dwarf_Word size = 0;
  if (flag_of(cls, DW_AT_declaration) || !udata_of(cls, DW_AT_byte_size, &size)) {
    out.layout_unknown = true;
    return;
  }
  if (not_trivially_copyable(cls, 0)) {
    out.by_reference = true;
    out.ints = 1;
    return;
  }
  if (size > 16) {
    out.in_memory = true;
    return;
  }
  Classifier c;
  c.add_members(cls, 0, 0);
  if (c.unknown) {
    out.layout_unknown = true;
    return;
  }
  for (uint64_t i = 0; i < (size + 7) / 8; ++i) {
    switch (c.eight[i]) {
      case Eight::kMemory: out.in_memory = true; break;
      case Eight::kInteger: ++out.ints; break;
      case Eight::kSse: ++out.sses; break;
      case Eight::kNone: break;
    }
  }
  if (out.in_memory) out.ints = out.sses = 0;
}

void describe_base(Dwarf_Die* base, DebugType& out) {
  Dwarf_Word enc = 0, size = 0;
  udata_of(base, DW_AT_encoding, &enc);
  udata_of(base, DW_AT_byte_size, &size);
  switch (enc) {
    case DW_ATE_boolean:
      out.kind = ArgKind::kBool;
      out.ints = 1;
      return;
    case DW_ATE_signed:
    case DW_ATE_signed_char:
    case DW_ATE_unsigned:
    case DW_ATE_unsigned_char:
    case DW_ATE_UTF:
      if (size == 1 || size == 2 || size == 4 || size == 8) {
        out.kind = ArgKind::kInt;
        out.width = static_cast<uint8_t>(size);
        out.is_signed = enc == DW_ATE_signed || enc == DW_ATE_signed_char;
        out.ints = 1;
      } else if (size == 16) {
        out.why = "128-bit integers are not supported";
        out.ints = 2;
      } else {
        out.layout_unknown = true;
        out.why = "an integer of " + std::to_string(size) + " bytes is not supported";
      }
      return;
    case DW_ATE_float:
      if (size == 4 || size == 8) {
        out.kind = size == 4 ? ArgKind::kFloat : ArgKind::kDouble;
        out.sses = 1;
      } else if (size == 2) {
        out.why = "_Float16 is not supported";
        out.sses = 1;
      } else if (out.spelling.find("long double") != std::string::npos || size == 10) {
        out.why = "long double is not supported (it is passed on the stack)";
        out.in_memory = true;
      } else {
        out.why = out.spelling + " is not supported";
        out.sses = 1;  // __float128: one SSE register
      }
      return;
    default:
      out.why = "type " + out.spelling + " is not supported";
      out.layout_unknown = true;
      return;
  }
}

}  // namespace

DebugType describe_type(Dwarf_Die* type) {
  DebugType out;
  if (type == nullptr) {
    out.spelling = "void";
    out.is_void = true;
    return out;
  }
  out.spelling = spell(type);
  Dwarf_Die t;
  if (!peel(type, &t)) {
    out.is_void = true;  // a typedef of void, or too deep
    return out;
  }
  int tag = dwarf_tag(&t);
  Dwarf_Die target, peeled;
  bool has_target = ref_of(&t, DW_AT_type, &target) && peel(&target, &peeled);
  switch (tag) {
    case DW_TAG_base_type: describe_base(&t, out); return out;
    case DW_TAG_enumeration_type: {
      Dwarf_Word size = 4;
      udata_of(&t, DW_AT_byte_size, &size);
      out.kind = ArgKind::kInt;
      out.width = static_cast<uint8_t>(size == 1 || size == 2 || size == 8 ? size : 4);
      out.ints = 1;
      // Signed unless its underlying type says otherwise (or, without one,
      // no enumerator is negative and DW_AT_encoding says unsigned).
      Dwarf_Word enc = 0;
      if (has_target && dwarf_tag(&peeled) == DW_TAG_base_type && udata_of(&peeled, DW_AT_encoding, &enc)) {
        out.is_signed = enc == DW_ATE_signed || enc == DW_ATE_signed_char;
      } else if (udata_of(&t, DW_AT_encoding, &enc)) {
        out.is_signed = enc == DW_ATE_signed;
      } else {
        out.is_signed = true;
      }
      return out;
    }
    case DW_TAG_pointer_type:
    case DW_TAG_reference_type:
    case DW_TAG_rvalue_reference_type:
      out.ints = 1;
      if (tag == DW_TAG_pointer_type && has_target && is_char(&peeled)) {
        out.kind = ArgKind::kCString;
      } else if (has_target && is_std_string(&peeled)) {
        out.kind = ArgKind::kStdString;
      } else {
        out.kind = ArgKind::kPointer;
      }
      return out;
    case DW_TAG_ptr_to_member_type: {
      Dwarf_Die fn;
      bool to_function = ref_of(&t, DW_AT_type, &fn) && dwarf_tag(&fn) == DW_TAG_subroutine_type;
      out.ints = to_function ? 2 : 1;
      out.why = "a pointer to member is not supported";
      return out;
    }
    default: break;
  }
  if (is_class_tag(tag)) {
    if (is_std_string(&t)) {
      out.kind = ArgKind::kStdString;  // not trivially copyable: passed by invisible reference
      out.is_class = true;
      out.by_reference = true;
      out.ints = 1;
      return out;
    }
    if (is_string_view(&t)) {
      out.kind = ArgKind::kStringView;
      out.is_class = true;
      out.ints = 2;
      return out;
    }
    classify_class(&t, out);
    out.why = out.spelling + " is a class passed by value";
    return out;
  }
  out.layout_unknown = true;
  out.why = "type " + out.spelling + " is not supported";
  return out;
}

namespace {

// DWARF's x86-64 register numbers -> where the stub keeps them at entry.
bool stub_register(unsigned reg, Location* loc, uint8_t* index) {
  static constexpr int kIntArg[] = {-1, 2, 3, -1, 1, 0, -1, -1, 4, 5};  // rdx=1 rcx=2 rsi=4 rdi=5 r8 r9
  if (reg < std::size(kIntArg) && kIntArg[reg] >= 0) {
    *loc = Location::kIntReg;
    *index = static_cast<uint8_t>(kIntArg[reg]);
    return true;
  }
  if (reg >= 17 && reg <= 24) {  // xmm0..xmm7
    *loc = Location::kSseReg;
    *index = static_cast<uint8_t>(reg - 17);
    return true;
  }
  return false;
}

bool op_register(const Dwarf_Op& op, unsigned* reg) {
  if (op.atom >= DW_OP_reg0 && op.atom <= DW_OP_reg31) {
    *reg = op.atom - DW_OP_reg0;
    return true;
  }
  if (op.atom == DW_OP_regx) {
    *reg = static_cast<unsigned>(op.number);
    return true;
  }
  return false;
}

EntryPlace elsewhere(std::string what) {
  EntryPlace p;
  p.kind = EntryPlace::Kind::kElsewhere;
  p.what = std::move(what);
  return p;
}

EntryPlace place_of(const Dwarf_Op* ops, size_t n) {
  EntryPlace p;
  unsigned reg = 0;
  if (n == 1 && op_register(ops[0], &reg)) {
    if (!stub_register(reg, &p.location, &p.index)) {
      return elsewhere("in DWARF register " + std::to_string(reg) + ", which a hook does not read");
    }
    p.kind = EntryPlace::Kind::kRegister;
    return p;
  }
  if (n == 1 && ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31 && ops[0].number == 0) {
    reg = ops[0].atom - DW_OP_breg0;
    if (!stub_register(reg, &p.location, &p.index) || p.location != Location::kIntReg) {
      return elsewhere("in memory at DWARF register " + std::to_string(reg));
    }
    p.kind = EntryPlace::Kind::kMemory;
    return p;
  }
  // Two registers of 8 bytes each (a std::string_view by value).
  unsigned reg2 = 0;
  if (n == 4 && op_register(ops[0], &reg) && ops[1].atom == DW_OP_piece && ops[1].number == 8 &&
      op_register(ops[2], &reg2) && ops[3].atom == DW_OP_piece && ops[3].number == 8) {
    Location l2;
    if (stub_register(reg, &p.location, &p.index) && stub_register(reg2, &l2, &p.index2) &&
        p.location == Location::kIntReg && l2 == Location::kIntReg) {
      p.kind = EntryPlace::Kind::kRegister;
      return p;
    }
  }
  if (n >= 1 && ops[0].atom == DW_OP_fbreg) return elsewhere("on the stack");
  return elsewhere("computed by the compiler from other values");
}

}  // namespace

EntryPlace entry_place(Dwarf_Die* die, Dwarf_Addr pc) {
  EntryPlace p;
  Dwarf_Attribute attr;
  if (dwarf_attr(die, DW_AT_const_value, &attr) != nullptr) {
    Dwarf_Sword s = 0;
    Dwarf_Word u = 0;
    if (dwarf_whatform(&attr) == DW_FORM_sdata && dwarf_formsdata(&attr, &s) == 0) {
      p.value = s;
    } else if (dwarf_formudata(&attr, &u) == 0) {
      p.value = static_cast<int64_t>(u);
    } else {
      return elsewhere("a constant pivot cannot read");
    }
    p.kind = EntryPlace::Kind::kConstant;
    return p;
  }
  if (dwarf_attr(die, DW_AT_location, &attr) == nullptr) return p;  // kNone
  Dwarf_Op* ops = nullptr;
  size_t n = 0;
  int got = dwarf_getlocation_addr(&attr, pc, &ops, &n, 1);
  if (got < 0) return elsewhere("described by a location pivot cannot read");
  if (got == 0 || n == 0) return p;  // not available at the entry
  return place_of(ops, n);
}

}  // namespace pivot::hook::internal
