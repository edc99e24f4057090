// The functions of this process a pattern names, as `pivot functions` lists
// them: signature, parameters (names, types and where a hook reads them,
// from debug information where there is some), whether they can be hooked
// and why not, and their compiler-made clones, which a hook on the
// function also takes. What `bpftrace -lv 'uprobe:...'` is to uprobes.
//
//   Listing l = list_functions("minidfs::DataNode::*", symbols(), 200);
//   for (const ListedFunction& f : l.functions) print(f.signature, f.params, f.hookable);
//
// Thread safety: as make_probe() (hook.h); slow: reads debug information and
// decodes each listed function's code. Never on a hook path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hook/hook.h"

namespace pivot::hook {

struct ListedParam {
  std::string name;   // "" without debug information; "this"
  std::string type;   // as demangled, std::string abbreviated; as DWARF says for C
  std::string where;  // "rdi", "xmm0", "rcx, r8", "the constant 3", or why it cannot be read
  bool readable = false;
};

struct ListedFunction {
  std::string signature;  // demangled ("ns::f(int) [clone .isra.0]" for a clone)
  std::string object;     // the executable or library
  uintptr_t address = 0;  // in the object, as nm shows it (the same in every process)
  size_t size = 0;
  bool debug_info = false;
  std::string how;  // Function::how: debug info, or the symbol-table rule and why
  bool is_member = false;
  std::vector<ListedParam> params;
  std::string returns;  // what `ret` reads: "double (xmm0)", "int (rax)", ...
  bool hookable = false;
  std::string why_not;                 // when not hookable
  std::string ifunc;                   // for an IFUNC: the implementation the process calls
  std::vector<ListedFunction> clones;  // whole-body clones, hooked with the function
};

struct Listing {
  std::vector<ListedFunction> functions;  // sorted by signature
  size_t more = 0;                        // matched beyond `limit`, not listed
  std::string note;                       // nothing matched: why, with similar names
};

Listing list_functions(std::string_view pattern, const SymbolTable& symbols, size_t limit);

}  // namespace pivot::hook
