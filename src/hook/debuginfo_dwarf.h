// The parts of debug_function() (debuginfo.h) that read DWARF and ELF
// files, apart so each file does one job and tests can reach them.
//
// Thread safety: a Dwarf handle is used by one thread at a time (libdw is
// not thread-safe); the functions here keep no state of their own.
#pragma once

#include <elfutils/libdw.h>
#include <libelf.h>

#include <cstdint>
#include <string>

#include "hook/debuginfo.h"

namespace pivot::hook::internal {

// elf_version() once per process; false when libelf cannot work here.
bool elf_ready();

// Facts about one ELF file, read with libelf (sections only, no DWARF).
struct ElfFacts {
  bool valid = false;
  bool has_dwarf = false;  // a .debug_info section with contents
  std::string build_id;    // hex, from the NT_GNU_BUILD_ID note
  std::string debuglink;   // .gnu_debuglink's file name
  uint32_t debuglink_crc = 0;
  uint64_t debug_bytes = 0;     // the debug sections' sizes, inflated
  uint64_t inflated_bytes = 0;  // of which compressed in the file (inflated into memory when read)
};
ElfFacts elf_facts(Elf* elf);
// Opens `path` read-only; nullptr (and *fd -1) when it cannot be read as ELF.
Elf* open_elf(const std::string& path, int* fd);

// The CRC-32 a .gnu_debuglink records (zlib's), of the file at `path`;
// false when it cannot be read.
bool file_crc32(const std::string& path, uint32_t* crc);

// How a value of the type at `type` (a DW_TAG_*_type DIE, or nullptr for
// void) is exported and passed. Bounded: deep or huge types are "unknown".
DebugType describe_type(Dwarf_Die* type);

// Where the parameter described by `die` (a DW_TAG_formal_parameter with
// DW_AT_location or DW_AT_const_value, or neither) is at file address `pc`.
EntryPlace entry_place(Dwarf_Die* die, Dwarf_Addr pc);

// The DIE an attribute refers to (DW_AT_type, DW_AT_abstract_origin, ...).
inline bool ref_of(Dwarf_Die* die, unsigned int attr, Dwarf_Die* out) {
  Dwarf_Attribute a;
  return dwarf_attr(die, attr, &a) != nullptr && dwarf_formref_die(&a, out) != nullptr;
}

// A flag attribute (DW_AT_external, DW_AT_declaration, ...), through
// DW_AT_abstract_origin and DW_AT_specification.
inline bool flag_of(Dwarf_Die* die, unsigned int attr) {
  Dwarf_Attribute a;
  bool v = false;
  return dwarf_attr_integrate(die, attr, &a) != nullptr && dwarf_formflag(&a, &v) == 0 && v;
}

}  // namespace pivot::hook::internal
