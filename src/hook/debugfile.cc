// Where an object's DWARF is: find_debug_file() (debuginfo.h), and the
// ELF facts it needs, read with libelf.
#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "hook/debuginfo.h"
#include "hook/debuginfo_dwarf.h"

namespace pivot::hook {
namespace internal {
namespace {

std::string hex_of(const unsigned char* bytes, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

// The size a GNU-style ".zdebug_" section inflates to ("ZLIB" and a
// big-endian 64-bit size open it), or 0.
uint64_t zdebug_size(Elf_Scn* scn) {
  Elf_Data* raw = elf_rawdata(scn, nullptr);
  if (raw == nullptr || raw->d_buf == nullptr || raw->d_size < 12) return 0;
  const auto* p = static_cast<const unsigned char*>(raw->d_buf);
  if (std::memcmp(p, "ZLIB", 4) != 0) return 0;
  uint64_t size = 0;
  for (int i = 4; i < 12; ++i) size = (size << 8) | p[i];
  return size;
}

void read_build_id(Elf_Scn* scn, ElfFacts& facts) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (data == nullptr || data->d_buf == nullptr) return;
  size_t at = 0, name_at = 0, desc_at = 0;
  GElf_Nhdr nhdr;
  while ((at = gelf_getnote(data, at, &nhdr, &name_at, &desc_at)) > 0) {
    if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
        std::memcmp(static_cast<const char*>(data->d_buf) + name_at, "GNU", 4) == 0) {
      facts.build_id = hex_of(static_cast<const unsigned char*>(data->d_buf) + desc_at, nhdr.n_descsz);
      return;
    }
  }
}

void read_debuglink(Elf_Scn* scn, ElfFacts& facts) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (data == nullptr || data->d_buf == nullptr || data->d_size < 8) return;
  const char* p = static_cast<const char*>(data->d_buf);
  size_t len = strnlen(p, data->d_size);
  size_t crc_at = (len + 4) & ~size_t{3};  // the name, its NUL, padding to 4
  if (len == 0 || crc_at + 4 > data->d_size) return;
  facts.debuglink.assign(p, len);
  if (facts.debuglink.find('/') != std::string::npos) facts.debuglink.clear();  // a name, not a path
  std::memcpy(&facts.debuglink_crc, p + crc_at, 4);
}

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

bool readable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

bool elf_ready() {
  static const bool ready = elf_version(EV_CURRENT) != EV_NONE;
  return ready;
}

Elf* open_elf(const std::string& path, int* fd) {
  *fd = -1;
  if (!elf_ready()) return nullptr;
  int f = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f < 0) return nullptr;
  Elf* elf = elf_begin(f, ELF_C_READ_MMAP, nullptr);
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) {
    if (elf != nullptr) elf_end(elf);
    close(f);
    return nullptr;
  }
  *fd = f;
  return elf;
}

ElfFacts elf_facts(Elf* elf) {
  ElfFacts facts;
  size_t shstrndx = 0;
  if (elf == nullptr || elf_getshdrstrndx(elf, &shstrndx) != 0) return facts;
  facts.valid = true;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (name == nullptr) continue;
    std::string_view n = name;
    if (shdr.sh_type == SHT_NOTE && facts.build_id.empty()) read_build_id(scn, facts);
    if (n == ".gnu_debuglink") read_debuglink(scn, facts);
    if (shdr.sh_type == SHT_NOBITS) continue;
    bool gnu_compressed = n.starts_with(".zdebug_");
    if (!n.starts_with(".debug_") && !gnu_compressed) continue;
    uint64_t size = shdr.sh_size;
    bool compressed = false;
    if (shdr.sh_flags & SHF_COMPRESSED) {
      GElf_Chdr chdr;
      if (gelf_getchdr(scn, &chdr) != nullptr) size = chdr.ch_size;
      compressed = true;
    } else if (gnu_compressed) {
      size = zdebug_size(scn);
      compressed = true;
    }
    facts.debug_bytes += size;
    if (compressed) facts.inflated_bytes += size;
    if ((n == ".debug_info" || n == ".zdebug_info") && size > 0) facts.has_dwarf = true;
  }
  return facts;
}

bool file_crc32(const std::string& path, uint32_t* crc) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) > kMaxDebugBytes) {
    close(fd);  // too large to be read anyway: not worth reading whole to check it
    return false;
  }
  const auto& table = crc_table();
  uint32_t c = 0xFFFFFFFFu;
  std::array<unsigned char, 65536> buf;
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0) {
      close(fd);
      return false;
    }
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) c = table[(c ^ buf[static_cast<size_t>(i)]) & 0xFF] ^ (c >> 8);
  }
  close(fd);
  *crc = c ^ 0xFFFFFFFFu;
  return true;
}

}  // namespace internal

Result<std::string> find_debug_file(const ObjectFile& object) {
  using internal::ElfFacts;
  auto facts_of = [](const std::string& path) {
    int fd = -1;
    Elf* elf = internal::open_elf(path, &fd);
    ElfFacts f = internal::elf_facts(elf);
    if (elf != nullptr) elf_end(elf);
    if (fd >= 0) close(fd);
    return f;
  };
  if (!internal::elf_ready()) return Error("libelf cannot be used in this process");
  ElfFacts self = facts_of(object.file);
  if (!self.valid) return Error("cannot read " + object.file + " as an ELF file");
  if (self.has_dwarf) return object.file;
  const std::string build_id = object.build_id.empty() ? self.build_id : object.build_id;
  std::string mismatch;
  if (!self.debuglink.empty()) {
    // Where GDB looks for a .gnu_debuglink's file.
    const std::string dir = internal::dir_of(object.path);
    for (const std::string& candidate : {dir + "/" + self.debuglink, dir + "/.debug/" + self.debuglink,
                                         "/usr/lib/debug" + dir + "/" + self.debuglink}) {
      if (!internal::readable(candidate)) continue;
      ElfFacts theirs = facts_of(candidate);
      if (!theirs.has_dwarf) continue;
      bool same = false;
      if (!build_id.empty() && !theirs.build_id.empty()) {
        same = build_id == theirs.build_id;
      } else {
        uint32_t crc = 0;
        same = internal::file_crc32(candidate, &crc) && crc == self.debuglink_crc;
      }
      if (same) return candidate;
      mismatch = "; its debug link names " + candidate + ", which is of another build";
    }
  }
  if (build_id.size() > 2) {
    std::string by_id =
        "/usr/lib/debug/.build-id/" + build_id.substr(0, 2) + "/" + build_id.substr(2) + ".debug";
    if (internal::readable(by_id)) {
      ElfFacts theirs = facts_of(by_id);
      if (theirs.has_dwarf && (theirs.build_id.empty() || theirs.build_id == build_id)) return by_id;
    }
  }
  return Error("no debug information for " + object.path + mismatch +
               " (built without -g, or its debug file is not installed)");
}

}  // namespace pivot::hook
