// Reading one ELF file's function symbols: the part of function_symbols()
// (symbols.h) that parses files, apart so tests can feed it damaged ones.
//
// Thread safety: a pure function of the file's bytes.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "hook/symbols.h"

namespace pivot::hook::internal {

struct ElfFunction {
  FunctionSymbol symbol;
  int rank = 0;        // among names of one address the smallest wins (see function_symbols())
  bool ifunc = false;  // STT_GNU_IFUNC: the address is the resolver's
};

// The function symbols of the ELF file at `file` (.symtab, else .dynsym;
// IFUNC symbols marked as such),
// loaded with `bias`, whose run-time address lies in one of `code` ([begin,
// end) ranges); `object` is what their FunctionSymbol::object says. Adds the
// classes named by vtable and typeinfo symbols to `classes` when given.
// Unsorted, not deduplicated. A missing, truncated or malformed file gives
// what can be read of it, often nothing; it never reads out of bounds.
std::vector<ElfFunction> read_elf_functions(const std::string& file, const std::string& object,
                                            uintptr_t bias,
                                            const std::vector<std::pair<uintptr_t, uintptr_t>>& code,
                                            std::unordered_set<std::string>* classes);

}  // namespace pivot::hook::internal
