// function_symbols() (symbols.h): the ELF symbol tables of the loaded objects,
// read from their files.
#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string_view>
#include <tuple>
#include <unordered_set>

#include "hook/debuginfo.h"
#include "hook/symbols_elf.h"

namespace pivot::hook {
namespace {

// The hex build id in a loaded PT_NOTE segment, or "".
std::string build_id_of(const char* notes, size_t size) {
  size_t at = 0;
  while (at + 12 <= size) {
    uint32_t namesz, descsz, type;
    std::memcpy(&namesz, notes + at, 4);
    std::memcpy(&descsz, notes + at + 4, 4);
    std::memcpy(&type, notes + at + 8, 4);
    size_t name_at = at + 12, desc_at = name_at + ((namesz + 3) & ~3u);
    size_t next = desc_at + ((descsz + 3) & ~3u);
    if (next > size) break;
    if (type == NT_GNU_BUILD_ID && namesz == 4 && std::memcmp(notes + name_at, "GNU", 4) == 0) {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string out;
      for (size_t i = 0; i < descsz; ++i) {
        auto b = static_cast<unsigned char>(notes[desc_at + i]);
        out += kHex[b >> 4];
        out += kHex[b & 15];
      }
      return out;
    }
    at = next;
  }
  return "";
}

std::string self_exe_path() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("/proc/self/exe");
}

}  // namespace

std::vector<ObjectFile> loaded_objects() {
  std::vector<ObjectFile> objects;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto& out = *static_cast<std::vector<ObjectFile>*>(data);
        std::string_view name = info->dlpi_name ? info->dlpi_name : "";
        if (!out.empty() && name.empty()) return 0;  // only the first object is the executable
        if (name.starts_with("linux-vdso") || name.starts_with("linux-gate")) return 0;
        ObjectFile obj;
        obj.path = name.empty() ? self_exe_path() : std::string(name);
        obj.file = name.empty() ? std::string("/proc/self/exe") : obj.path;
        obj.bias = info->dlpi_addr;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
            obj.code.emplace_back(info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
          }
          if (ph.p_type == PT_NOTE && obj.build_id.empty()) {
            obj.build_id =
                build_id_of(reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr), ph.p_memsz);
          }
        }
        out.push_back(std::move(obj));
        return 0;
      },
      &objects);
  return objects;
}

namespace {

// A read-only mapping of a whole file; empty when it cannot be read.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const char*>(p);
        size_ = static_cast<size_t>(st.st_size);
      }
    }
    close(fd);
  }
  ~MappedFile() {
    if (data_) munmap(const_cast<char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  // [offset, offset + length) lies inside the file.
  bool contains(uint64_t offset, uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

// __cxa_demangle with one buffer reused across calls.
class Demangler {
 public:
  ~Demangler() { std::free(buf_); }
  // The demangled name, or `name` itself when it is not a mangled C++ name.
  std::string operator()(const char* name) {
    if (name[0] != '_' || name[1] != 'Z') return name;
    int status = 0;
    char* out = abi::__cxa_demangle(name, buf_, &len_, &status);
    if (status != 0 || !out) return name;
    buf_ = out;
    return out;
  }

 private:
  char* buf_ = nullptr;
  size_t len_ = 0;
};

int name_rank(unsigned char binding, const std::string& mangled) {
  int global = binding == STB_GLOBAL || binding == STB_WEAK ? 0 : 1;
  size_t underscores = 0;
  while (underscores < mangled.size() && mangled[underscores] == '_') ++underscores;
  if (mangled.starts_with("_Z")) underscores = 0;  // every mangled C++ name starts so
  return global * 100 + static_cast<int>(std::min<size_t>(underscores, 99));
}

// Class names from vtable and typeinfo symbols ("_ZTV", "_ZTI", "_ZTS").
void add_class(const char* name, Demangler& demangle, std::unordered_set<std::string>& classes) {
  if (std::strncmp(name, "_ZT", 3) != 0 || (name[3] != 'V' && name[3] != 'I' && name[3] != 'S')) return;
  std::string d = demangle(name);
  for (std::string_view prefix : {"vtable for ", "typeinfo for ", "typeinfo name for "}) {
    if (d.starts_with(prefix)) {
      classes.insert(d.substr(prefix.size()));
      return;
    }
  }
}

}  // namespace

namespace internal {

std::vector<ElfFunction> read_elf_functions(const std::string& path, const std::string& object,
                                            uintptr_t bias,
                                            const std::vector<std::pair<uintptr_t, uintptr_t>>& code,
                                            std::unordered_set<std::string>* classes) {
  std::vector<ElfFunction> out;
  Demangler demangle;
  MappedFile file(path);
  if (!file.data() || file.size() < sizeof(Elf64_Ehdr)) return out;
  Elf64_Ehdr eh;
  std::memcpy(&eh, file.data(), sizeof(eh));
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff == 0) {
    return out;
  }
  auto section = [&](size_t i, Elf64_Shdr& sh) {
    uint64_t at = eh.e_shoff + i * sizeof(Elf64_Shdr);
    if (!file.contains(at, sizeof(Elf64_Shdr))) return false;
    std::memcpy(&sh, file.data() + at, sizeof(sh));
    return true;
  };
  size_t shnum = eh.e_shnum;
  Elf64_Shdr sh0;
  if (shnum == 0 && section(0, sh0)) shnum = sh0.sh_size;  // extended numbering
  if (shnum > file.size() / sizeof(Elf64_Shdr) || !file.contains(eh.e_shoff, shnum * sizeof(Elf64_Shdr)))
    return out;

  Elf64_Shdr symtab{}, strtab{};
  bool found = false;
  for (uint32_t want : {SHT_SYMTAB, SHT_DYNSYM}) {
    for (size_t i = 0; i < shnum && !found; ++i) {
      Elf64_Shdr sh;
      if (section(i, sh) && sh.sh_type == want && sh.sh_entsize == sizeof(Elf64_Sym) && sh.sh_link < shnum &&
          section(sh.sh_link, strtab) && strtab.sh_type == SHT_STRTAB &&
          file.contains(sh.sh_offset, sh.sh_size) && file.contains(strtab.sh_offset, strtab.sh_size) &&
          strtab.sh_size > 0) {
        symtab = sh;
        found = true;
      }
    }
    if (found) break;
  }
  if (!found) return out;

  const char* strings = file.data() + strtab.sh_offset;
  size_t count = symtab.sh_size / sizeof(Elf64_Sym);
  for (size_t i = 0; i < count; ++i) {
    Elf64_Sym sym;
    std::memcpy(&sym, file.data() + symtab.sh_offset + i * sizeof(Elf64_Sym), sizeof(sym));
    if (sym.st_name == 0 || sym.st_name >= strtab.sh_size) continue;
    const char* name = strings + sym.st_name;
    if (!std::memchr(name, '\0', strtab.sh_size - sym.st_name)) continue;
    if (classes) add_class(name, demangle, *classes);
    bool ifunc = ELF64_ST_TYPE(sym.st_info) == STT_GNU_IFUNC;
    if ((ELF64_ST_TYPE(sym.st_info) != STT_FUNC && !ifunc) || sym.st_size == 0) continue;
    if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS) continue;
    uintptr_t address = bias + sym.st_value;
    bool in_code = std::any_of(code.begin(), code.end(),
                               [&](const auto& seg) { return address >= seg.first && address < seg.second; });
    if (!in_code) continue;  // not this file's code: a mismatched file or an odd symbol
    ElfFunction c;
    c.symbol.mangled = name;
    c.symbol.demangled = demangle(name);
    c.symbol.address = address;
    c.symbol.size = sym.st_size;
    c.symbol.object = object;
    c.rank = name_rank(ELF64_ST_BIND(sym.st_info), c.symbol.mangled);
    c.ifunc = ifunc;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace internal

namespace {

// What the process calls through each IFUNC symbol: the address the dynamic
// linker resolves the name to (dlsym runs the resolver, as binding does),
// named after the symbol found there. Added to `out` (sorted by address) as
// entries named like the IFUNC; plain symbols of that name in the same
// object (older symbol versions, such as memcpy@GLIBC_2.2.5) are dropped.
//
// In linear time: `out` holds every function of the process (some 20000
// under ThreadSanitizer, whose runtime is one more library), and this runs
// on the first install that hooks a function, which has a deadline.
void add_ifuncs(const std::vector<const internal::ElfFunction*>& ifuncs, std::vector<FunctionSymbol>& out) {
  std::vector<FunctionSymbol> aliases;
  std::unordered_set<std::string> seen;
  for (const internal::ElfFunction* i : ifuncs) {
    if (!seen.insert(i->symbol.mangled).second) continue;
    void* impl = dlsym(RTLD_DEFAULT, i->symbol.mangled.c_str());
    FunctionSymbol a = i->symbol;
    a.size = 0;
    a.ifunc = "?";
    if (impl != nullptr) {
      a.address = reinterpret_cast<uintptr_t>(impl);
      auto at = std::lower_bound(out.begin(), out.end(), a.address,
                                 [](const FunctionSymbol& f, uintptr_t v) { return f.address < v; });
      if (at != out.end() && at->address == a.address) {
        a.size = at->size;
        a.object = at->object;
        a.ifunc = at->demangled;
      }
    }
    aliases.push_back(std::move(a));
  }
  std::unordered_set<std::string_view> alias_names;
  std::unordered_set<std::string> alias_keys;  // object '\0' mangled
  for (const FunctionSymbol& a : aliases) {
    alias_names.insert(a.mangled);
    alias_keys.insert(a.object + '\0' + a.mangled);
  }
  std::erase_if(out, [&](const FunctionSymbol& f) {
    return f.ifunc.empty() && alias_names.contains(f.mangled) &&
           alias_keys.contains(f.object + '\0' + f.mangled);
  });
  // Appended after every plain symbol, merged stably: at one address the
  // plain symbols stay first, as a stable sort of the whole would keep them.
  std::stable_sort(aliases.begin(), aliases.end(),
                   [](const FunctionSymbol& a, const FunctionSymbol& b) { return a.address < b.address; });
  auto plain = static_cast<ptrdiff_t>(out.size());
  std::move(aliases.begin(), aliases.end(), std::back_inserter(out));
  std::inplace_merge(out.begin(), out.begin() + plain, out.end(),
                     [](const FunctionSymbol& a, const FunctionSymbol& b) { return a.address < b.address; });
}

}  // namespace

std::vector<FunctionSymbol> function_symbols(std::vector<std::string>* classes,
                                             std::vector<ObjectFile>* objects) {
  // Each object's functions stay where they were read; they are ordered
  // through pointers, which is much cheaper than moving entries of three
  // strings each (and ThreadSanitizer checks every byte moved).
  std::vector<std::vector<internal::ElfFunction>> read;
  std::unordered_set<std::string> class_set;
  std::vector<ObjectFile> loaded = loaded_objects();
  for (const ObjectFile& obj : loaded) {
    read.push_back(
        internal::read_elf_functions(obj.file, obj.path, obj.bias, obj.code, classes ? &class_set : nullptr));
    // A separate debug file has the full symbol table of a stripped library
    // (the C library's internal functions, IFUNC implementations among them;
    // a program's static functions and their clones), found by build id or
    // .gnu_debuglink (debuginfo.h). Not the dynamic loader's: its private
    // copies of getpid, memcpy, ... would stand beside the C library's (and
    // it cannot be hooked anyway).
    if (obj.path.find("/ld-linux") != std::string::npos) continue;
    if (auto debug = find_debug_file(obj); debug && *debug != obj.file) {
      read.push_back(
          internal::read_elf_functions(*debug, obj.path, obj.bias, obj.code, classes ? &class_set : nullptr));
    }
  }
  std::vector<internal::ElfFunction*> all;
  std::vector<const internal::ElfFunction*> ifuncs;
  for (auto& some : read) {
    for (internal::ElfFunction& c : some) {
      if (c.ifunc) {
        ifuncs.push_back(&c);
      } else {
        all.push_back(&c);
      }
    }
  }

  std::sort(all.begin(), all.end(), [](const internal::ElfFunction* a, const internal::ElfFunction* b) {
    return std::tie(a->symbol.address, a->rank, a->symbol.mangled) <
           std::tie(b->symbol.address, b->rank, b->symbol.mangled);
  });
  std::vector<FunctionSymbol> out;
  out.reserve(all.size());
  // One entry per address and name: the best name, and every other global
  // or weak name there ("free" and "cfree"; "getpid" and "__getpid"), so each
  // can be asked for. Local aliases ("__GI___getpid") are dropped.
  size_t first_at = 0;
  for (internal::ElfFunction* c : all) {
    bool same_address = !out.empty() && out[first_at].address == c->symbol.address;
    if (same_address) {
      bool local = c->rank >= 100;
      bool named = std::any_of(out.begin() + static_cast<ptrdiff_t>(first_at), out.end(),
                               [&](const FunctionSymbol& f) { return f.demangled == c->symbol.demangled; });
      if (local || named) continue;
    } else {
      first_at = out.size();
    }
    out.push_back(std::move(c->symbol));
  }
  add_ifuncs(ifuncs, out);
  if (classes) {
    classes->assign(class_set.begin(), class_set.end());
    std::sort(classes->begin(), classes->end());
  }
  if (objects) *objects = std::move(loaded);
  return out;
}

}  // namespace pivot::hook
