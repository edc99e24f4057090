// debug_function() (debuginfo.h): an object's DWARF, opened once and kept
// in a bounded cache; a function found in its compile unit by address.
#include "hook/debuginfo.h"

#include <dwarf.h>
#include <unistd.h>

#include <algorithm>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "hook/debuginfo_dwarf.h"

namespace pivot::hook {
namespace {

using internal::flag_of;
using internal::ref_of;

// Compile units named by one object, at most: more is a malformed file.
constexpr size_t kMaxUnits = 1'000'000;
// Memory the cache may hold in inflated sections, all objects together.
constexpr uint64_t kMaxInflatedTotal = uint64_t{512} << 20;
// Objects remembered as having no (usable) debug information.
constexpr size_t kMaxRemembered = 1024;

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

std::string name_of(Dwarf_Die* die) {
  Dwarf_Attribute a;
  const char* n = dwarf_attr_integrate(die, DW_AT_name, &a) != nullptr ? dwarf_formstring(&a) : nullptr;
  return n != nullptr ? n : "";
}

// Where a function's code starts: its entry pc, low pc, or first range.
bool entry_of(Dwarf_Die* fn, Dwarf_Addr* pc) {
  if (dwarf_entrypc(fn, pc) == 0) return true;
  Dwarf_Addr base, start, end;
  if (dwarf_ranges(fn, 0, &base, &start, &end) > 0) {
    *pc = start;
    return true;
  }
  return false;
}

struct Counters {
  uint64_t units_indexed = 0;
  uint64_t dies_read = 0;
};

// One object's DWARF. Used under the cache's lock only.
class Module {
 public:
  ~Module() {
    if (dwarf_ != nullptr) dwarf_end(dwarf_);
    if (elf_ != nullptr) elf_end(elf_);
    if (fd_ >= 0) close(fd_);
  }

  static Result<std::unique_ptr<Module>> open(const ObjectFile& object) {
    auto file = find_debug_file(object);
    if (!file) return file.error();
    std::unique_ptr<Module> m(new Module);
    // Named as users know it: the executable's path, not /proc/self/exe.
    m->file_ = *file == object.file ? object.path : *file;
    m->elf_ = internal::open_elf(*file, &m->fd_);
    if (m->elf_ == nullptr) return Error("cannot read " + m->file_ + " as an ELF file");
    internal::ElfFacts facts = internal::elf_facts(m->elf_);
    if (facts.debug_bytes > kMaxDebugBytes) {
      return Error("the debug information in " + m->file_ + " (" + mib(facts.debug_bytes) +
                   ") is larger than pivot reads (" + mib(kMaxDebugBytes) + ")");
    }
    if (facts.inflated_bytes > kMaxInflatedBytes) {
      return Error("the compressed debug information in " + m->file_ + " would take " +
                   mib(facts.inflated_bytes) + " of memory, more than pivot allows (" +
                   mib(kMaxInflatedBytes) + ")");
    }
    m->inflated_ = facts.inflated_bytes;
    m->mapped_ = facts.debug_bytes - facts.inflated_bytes;
    m->dwarf_ = dwarf_begin_elf(m->elf_, DWARF_C_READ, nullptr);
    if (m->dwarf_ == nullptr) {
      return Error("the debug information in " + m->file_ + " cannot be read: " + dwarf_errmsg(-1));
    }
    if (Status s = m->index_units(); !s) return s.error();
    return m;
  }

  Result<DebugFunction> function(Dwarf_Addr pc, Counters& counters) {
    // .debug_aranges names the unit at once, where the compiler wrote it
    // (GCC does; clang does not, nor do some assembler units): then only
    // that unit is indexed.
    Dwarf_Die cudie;
    if (dwarf_addrdie(dwarf_, pc, &cudie) != nullptr) {
      auto fns = unit_functions(dwarf_dieoffset(&cudie), counters);
      if (!fns) return fns.error();
      auto it = (*fns)->find(pc);
      if (it != (*fns)->end()) return describe(it->second, pc);
    }
    bool in_some_unit = false;
    for (const UnitRange& u : units_) {
      if (u.lo > pc) break;
      if (pc >= u.hi) continue;
      in_some_unit = true;
      auto fns = unit_functions(u.unit, counters);
      if (!fns) return fns.error();
      auto it = (*fns)->find(pc);
      if (it != (*fns)->end()) return describe(it->second, pc);
    }
    if (!in_some_unit) {
      return Error("no debug information for it in " + file_ + " (its source file was compiled without -g)");
    }
    return Error("the debug information in " + file_ + " has no function starting there");
  }

  uint64_t inflated() const { return inflated_; }
  uint64_t mapped() const { return mapped_; }

 private:
  struct UnitRange {
    Dwarf_Addr lo, hi;
    Dwarf_Off unit;  // the compile unit's DIE
  };
  using Index = std::unordered_map<Dwarf_Addr, Dwarf_Off>;  // entry pc -> subprogram DIE

  Module() = default;

  Status index_units() {
    Dwarf_CU* cu = nullptr;
    Dwarf_CU* next = nullptr;
    Dwarf_Half version = 0;
    uint8_t unit_type = 0;
    Dwarf_Die cudie, subdie;
    size_t units = 0, split = 0;
    while (dwarf_get_units(dwarf_, cu, &next, &version, &unit_type, &cudie, &subdie) == 0) {
      cu = next;
      if (++units > kMaxUnits) return Error("the debug information in " + file_ + " has too many units");
      if (unit_type == DW_UT_skeleton || unit_type == DW_UT_split_compile) {
        ++split;
        continue;
      }
      if (unit_type != DW_UT_compile && unit_type != DW_UT_partial) continue;
      Dwarf_Addr base, start, end;
      ptrdiff_t off = 0;
      while ((off = dwarf_ranges(&cudie, off, &base, &start, &end)) > 0) {
        if (start < end) units_.push_back({start, end, dwarf_dieoffset(&cudie)});
      }
    }
    if (units_.empty() && split > 0) {
      return Error("the debug information of " + file_ +
                   " is split into .dwo files, which pivot does not read");
    }
    std::sort(units_.begin(), units_.end(),
              [](const UnitRange& a, const UnitRange& b) { return a.lo < b.lo; });
    return Status();
  }

  // The functions of one compile unit by entry pc, indexed on first use.
  Result<const Index*> unit_functions(Dwarf_Off unit, Counters& counters) {
    if (auto it = indexed_.find(unit); it != indexed_.end()) return &it->second;
    Dwarf_Die cudie;
    if (dwarf_offdie(dwarf_, unit, &cudie) == nullptr)
      return Error("malformed debug information in " + file_);
    Index index;
    std::vector<Dwarf_Die> lists;  // first DIEs of sibling lists still to walk
    Dwarf_Die child;
    if (dwarf_child(&cudie, &child) == 0) lists.push_back(child);
    size_t dies = 0;
    while (!lists.empty()) {
      Dwarf_Die d = lists.back();
      lists.pop_back();
      do {
        if (++dies > kMaxDiesPerUnit) {
          return Error("a compile unit in " + file_ + " has more than " + std::to_string(kMaxDiesPerUnit) +
                       " entries; not read");
        }
        int tag = dwarf_tag(&d);
        Dwarf_Addr pc = 0;
        if (tag == DW_TAG_subprogram && entry_of(&d, &pc)) {
          index.emplace(pc, dwarf_dieoffset(&d));
        } else if (tag == DW_TAG_namespace || tag == DW_TAG_structure_type || tag == DW_TAG_class_type ||
                   tag == DW_TAG_union_type) {
          if (dwarf_child(&d, &child) == 0) lists.push_back(child);
        }
      } while (dwarf_siblingof(&d, &d) == 0);
    }
    counters.dies_read += dies;
    ++counters.units_indexed;
    return &indexed_.emplace(unit, std::move(index)).first->second;
  }

  Result<DebugFunction> describe(Dwarf_Off offset, Dwarf_Addr pc) {
    Dwarf_Die fn;
    if (dwarf_offdie(dwarf_, offset, &fn) == nullptr) return Error("malformed debug information in " + file_);
    // A concrete instance (of an inline function, or a clone) points at the
    // abstract one, whose parameters are in declaration order and named;
    // an out-of-line member points at its declaration in the class.
    Dwarf_Die origin = fn;
    for (int i = 0; i < 4; ++i) {
      Dwarf_Die up;
      if (!ref_of(&origin, DW_AT_abstract_origin, &up)) break;
      origin = up;
    }
    Dwarf_Die decl = origin;
    Dwarf_Die spec;
    if (ref_of(&origin, DW_AT_specification, &spec)) decl = spec;

    DebugFunction out;
    out.file = file_;
    std::vector<Dwarf_Die> declared = children(&origin, DW_TAG_formal_parameter, &out.variadic);
    if (declared.empty()) declared = children(&decl, DW_TAG_formal_parameter, &out.variadic);
    bool concrete_is_origin = dwarf_dieoffset(&fn) == dwarf_dieoffset(&origin);
    std::vector<Dwarf_Die> concrete;
    if (!concrete_is_origin) {
      bool ignored = false;
      concrete = children(&fn, DW_TAG_formal_parameter, &ignored);
    }
    for (Dwarf_Die& p : declared) {
      DebugParam param;
      param.name = name_of(&p);
      param.artificial = flag_of(&p, DW_AT_artificial);
      if (param.artificial && param.name.empty()) param.name = "this";
      Dwarf_Attribute ta;
      Dwarf_Die type;
      bool typed =
          dwarf_attr_integrate(&p, DW_AT_type, &ta) != nullptr && dwarf_formref_die(&ta, &type) != nullptr;
      param.type = internal::describe_type(typed ? &type : nullptr);
      if (concrete_is_origin) {
        param.at_entry = internal::entry_place(&p, pc);
      } else {
        Dwarf_Off want = dwarf_dieoffset(&p);
        for (Dwarf_Die& c : concrete) {
          Dwarf_Die o;
          if (ref_of(&c, DW_AT_abstract_origin, &o) && dwarf_dieoffset(&o) == want) {
            param.at_entry = internal::entry_place(&c, pc);
            break;
          }
        }
      }
      // GCC's in-charge and VTT parameters belong to the abstract
      // constructor or destructor: a variant that is not passed them has
      // no entry for them.
      if (param.artificial && !out.params.empty() && !concrete_is_origin &&
          param.at_entry.kind == EntryPlace::Kind::kNone) {
        continue;
      }
      out.params.push_back(std::move(param));
    }
    out.is_member = !out.params.empty() && out.params[0].artificial;
    Dwarf_Attribute ra;
    Dwarf_Die ret;
    bool returns =
        dwarf_attr_integrate(&fn, DW_AT_type, &ra) != nullptr && dwarf_formref_die(&ra, &ret) != nullptr;
    out.ret = internal::describe_type(returns ? &ret : nullptr);
    Dwarf_Attribute cc;
    Dwarf_Word conv = 0;
    out.nocall = dwarf_attr_integrate(&fn, DW_AT_calling_convention, &cc) != nullptr &&
                 dwarf_formudata(&cc, &conv) == 0 && conv == DW_CC_nocall;
    return out;
  }

  // The children of `die` with `tag`, in order; notes a `...`.
  static std::vector<Dwarf_Die> children(Dwarf_Die* die, int tag, bool* variadic) {
    std::vector<Dwarf_Die> out;
    Dwarf_Die c;
    if (dwarf_child(die, &c) != 0) return out;
    do {
      int t = dwarf_tag(&c);
      if (t == tag) out.push_back(c);
      if (t == DW_TAG_unspecified_parameters) *variadic = true;
    } while (dwarf_siblingof(&c, &c) == 0 && out.size() < 256);
    return out;
  }

  std::string file_;
  int fd_ = -1;
  Elf* elf_ = nullptr;
  Dwarf* dwarf_ = nullptr;
  uint64_t inflated_ = 0, mapped_ = 0;
  std::vector<UnitRange> units_;
  std::map<Dwarf_Off, Index> indexed_;
};

// The cache: most recently used first. An entry without a module remembers
// why its object has no usable debug information.
struct Entry {
  std::string key;
  std::unique_ptr<Module> module;
  std::string why;
};

struct Cache {
  std::mutex mu;
  std::list<Entry> entries;
  Counters counters;
};

Cache& cache() {
  static auto* c = new Cache;  // never destroyed: a lookup may run while the process exits
  return *c;
}

// Closes the least recently used modules beyond the bounds.
void evict(Cache& c) {
  size_t open = 0;
  uint64_t inflated = 0;
  for (auto it = c.entries.begin(); it != c.entries.end();) {
    if (it->module == nullptr) {
      ++it;
      continue;
    }
    ++open;
    inflated += it->module->inflated();
    bool over = open > kMaxOpenModules || inflated > kMaxInflatedTotal;
    it = over && it != c.entries.begin() ? c.entries.erase(it) : std::next(it);
  }
  size_t remembered = 0;
  for (auto it = c.entries.begin(); it != c.entries.end();) {
    bool drop = it->module == nullptr && ++remembered > kMaxRemembered;
    it = drop ? c.entries.erase(it) : std::next(it);
  }
}

}  // namespace

Result<DebugFunction> debug_function(const ObjectFile& object, uintptr_t address) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  try {
    const std::string key = object.path + '\n' + object.build_id;
    auto it = std::find_if(c.entries.begin(), c.entries.end(), [&](const Entry& e) { return e.key == key; });
    if (it == c.entries.end()) {
      Entry e;
      e.key = key;
      auto m = Module::open(object);
      if (m) {
        e.module = std::move(*m);
      } else {
        e.why = m.error().message();
      }
      c.entries.push_front(std::move(e));
      it = c.entries.begin();
      evict(c);
    } else if (it != c.entries.begin()) {
      c.entries.splice(c.entries.begin(), c.entries, it);
      it = c.entries.begin();
    }
    if (it->module == nullptr) return Error(it->why);
    if (address < object.bias) return Error("the address is outside " + object.path);
    return it->module->function(address - object.bias, c.counters);
  } catch (const std::exception& e) {
    return Error(std::string("reading debug information failed: ") + e.what());
  }
}

DebugInfoStats debug_info_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  DebugInfoStats s;
  for (const Entry& e : c.entries) {
    if (e.module == nullptr) continue;
    ++s.open_modules;
    s.inflated_bytes += e.module->inflated();
    s.mapped_bytes += e.module->mapped();
  }
  s.units_indexed = c.counters.units_indexed;
  s.dies_read = c.counters.dies_read;
  return s;
}

void drop_debug_info() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.entries.clear();
  c.counters = Counters();
}

}  // namespace pivot::hook
