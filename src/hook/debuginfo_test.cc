// The debug-information reader (debuginfo.h) on this test binary's own
// DWARF (the test builds are compiled with -g): what it says of a function,
// that its cache stays within its bounds, and that damaged DWARF is skipped
// with a reason, never crashed on.
#include "hook/debuginfo.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hook/debuginfo_dwarf.h"
#include "hook/symbols.h"

namespace debuginfo_test {

enum class Color : unsigned char { kRed = 1, kBlue = 200 };

// A function to describe; noinline so that it exists out of line.
[[gnu::noinline]] int64_t describe_me(int64_t count, const std::string& name, double ratio, Color color,
                                      std::string_view note) {
  return count + static_cast<int64_t>(name.size() + note.size()) + static_cast<int64_t>(ratio) +
         static_cast<int>(color);
}

}  // namespace debuginfo_test

// A C function: its symbol says nothing of its parameters; its DWARF does.
extern "C" [[gnu::noinline]] int debuginfo_test_printf_like(const char* format, ...) {
  return static_cast<int>(std::strlen(format));
}

namespace pivot::hook {
namespace {

ObjectFile self_object() {
  for (ObjectFile& o : loaded_objects()) return o;  // the executable comes first
  return {};
}

uintptr_t address_of_describe_me() { return reinterpret_cast<uintptr_t>(&debuginfo_test::describe_me); }

TEST(DebugInfo, DescribesAFunctionOfThisBinary) {
  auto f = debug_function(self_object(), address_of_describe_me());
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_FALSE(f->is_member);
  EXPECT_FALSE(f->variadic);
  ASSERT_EQ(f->params.size(), 5u);
  const char* names[] = {"count", "name", "ratio", "color", "note"};
  const ArgKind kinds[] = {ArgKind::kInt, ArgKind::kStdString, ArgKind::kDouble, ArgKind::kInt,
                           ArgKind::kStringView};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(f->params[i].name, names[i]);
    EXPECT_EQ(f->params[i].type.kind, kinds[i]) << names[i];
  }
  EXPECT_EQ(f->params[0].type.width, 8);
  EXPECT_TRUE(f->params[0].type.is_signed);
  EXPECT_EQ(f->params[3].type.width, 1);  // an enum class of unsigned char
  EXPECT_FALSE(f->params[3].type.is_signed);
  EXPECT_EQ(f->params[4].type.ints, 2);  // a string_view: two integer registers
  EXPECT_EQ(f->ret.kind, ArgKind::kInt);
  EXPECT_EQ(f->file, self_object().path);

  // Placed by the ABI where the DWARF does not say (at -O0/-O1 locations are stack slots).
  Function fn;
  fn.symbol.demangled =
      "debuginfo_test::describe_me(long, std::string const&, double, Color, std::string_view)";
  apply_debug_info(fn, *f);
  ASSERT_EQ(fn.args.size(), 5u);
  EXPECT_EQ(fn.args[0].location, Location::kIntReg);
  EXPECT_EQ(fn.args[0].index, 0);
  EXPECT_EQ(fn.args[1].index, 1);
  EXPECT_EQ(fn.args[2].location, Location::kSseReg);
  EXPECT_EQ(fn.args[2].index, 0);
  EXPECT_EQ(fn.args[3].index, 2);
  EXPECT_EQ(fn.args[4].location, Location::kIntReg);
  EXPECT_EQ(fn.args[4].index, 3);
  EXPECT_EQ(fn.args[4].index2, 4);
  EXPECT_EQ(fn.source, ArgSource::kDebugInfo);
}

TEST(DebugInfo, ACFunctionGetsItsParametersAndVariadicFromDwarf) {
  auto d = debug_function(self_object(), reinterpret_cast<uintptr_t>(&debuginfo_test_printf_like));
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_TRUE(d->variadic);
  ASSERT_EQ(d->params.size(), 1u);
  EXPECT_EQ(d->params[0].name, "format");
  EXPECT_EQ(d->params[0].type.kind, ArgKind::kCString);
  Function f;
  f.symbol.demangled = f.symbol.mangled = "debuginfo_test_printf_like";
  f.signature.name = "debuginfo_test_printf_like";
  f.signature.params_known = false;
  apply_debug_info(f, *d);
  EXPECT_TRUE(f.signature.variadic);  // so Return is refused: its call would move the stack arguments
  ASSERT_EQ(f.args.size(), 1u);
  EXPECT_EQ(f.args[0].spelling, "const char *");
  EXPECT_EQ(f.args[0].location, Location::kIntReg);
}

TEST(DebugInfo, SaysWhyThereIsNone) {
  ObjectFile none;
  none.path = none.file = "/nonexistent/libnothing.so";
  auto f = debug_function(none, 0x1000);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message(), "cannot read /nonexistent/libnothing.so as an ELF file");
  // An address no compile unit covers (the C library's, asked of this binary).
  auto outside = debug_function(self_object(), reinterpret_cast<uintptr_t>(&::getpid));
  ASSERT_FALSE(outside);
}

TEST(DebugInfo, TheCacheStaysWithinItsBounds) {
  drop_debug_info();
  ObjectFile self = self_object();
  // Each path is another object to the cache.
  for (size_t i = 0; i < kMaxOpenModules + 4; ++i) {
    ObjectFile o = self;
    o.path = self.path + "#" + std::to_string(i);
    o.file = "/proc/self/exe";
    ASSERT_TRUE(debug_function(o, address_of_describe_me()));
    EXPECT_LE(debug_info_stats().open_modules, kMaxOpenModules);
  }
  DebugInfoStats s = debug_info_stats();
  EXPECT_EQ(s.open_modules, kMaxOpenModules);
  EXPECT_LE(s.inflated_bytes, uint64_t{512} << 20);
  drop_debug_info();
  EXPECT_EQ(debug_info_stats().open_modules, 0u);
}

// Where the debug sections are in an ELF file: [offset, size) of each.
std::vector<std::pair<size_t, size_t>> debug_sections(const std::string& path) {
  std::vector<std::pair<size_t, size_t>> out;
  int fd = -1;
  Elf* elf = internal::open_elf(path, &fd);
  if (elf == nullptr) return out;
  size_t shstrndx = 0;
  elf_getshdrstrndx(elf, &shstrndx);
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type == SHT_NOBITS) continue;
    const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (name != nullptr && std::strncmp(name, ".debug_", 7) == 0 && shdr.sh_size > 0) {
      out.emplace_back(shdr.sh_offset, shdr.sh_size);
    }
  }
  elf_end(elf);
  close(fd);
  return out;
}

TEST(DebugInfo, DamagedDwarfIsSkippedNotCrashedOn) {
  ObjectFile self = self_object();
  std::string copy = "/tmp/pivot-debuginfo-test-" + std::to_string(getpid());
  ASSERT_EQ(system(("cp /proc/" + std::to_string(getpid()) + "/exe '" + copy + "'").c_str()), 0);
  auto sections = debug_sections(copy);
  ASSERT_FALSE(sections.empty());
  int fd = open(copy.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  std::mt19937 rng(12345);
  int answered = 0, refused = 0;
  for (int round = 0; round < 60; ++round) {
    // Flip a few bytes of one debug section (.debug_info, .debug_abbrev,
    // location lists, strings...), then ask.
    auto [offset, size] = sections[rng() % sections.size()];
    std::vector<std::pair<size_t, uint8_t>> saved;
    for (int i = 0; i < 8; ++i) {
      size_t at = offset + rng() % size;
      uint8_t b = 0;
      ASSERT_EQ(pread(fd, &b, 1, static_cast<off_t>(at)), 1);
      saved.emplace_back(at, b);
      uint8_t flipped = static_cast<uint8_t>(b ^ (1u << (rng() % 8)) ^ (rng() % 2 ? 0xff : 0));
      ASSERT_EQ(pwrite(fd, &flipped, 1, static_cast<off_t>(at)), 1);
    }
    drop_debug_info();
    ObjectFile o = self;
    o.path = o.file = copy;
    auto f = debug_function(o, address_of_describe_me());
    (f ? answered : refused)++;
    for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
      ASSERT_EQ(pwrite(fd, &it->second, 1, static_cast<off_t>(it->first)), 1);
    }
  }
  close(fd);
  unlink(copy.c_str());
  drop_debug_info();
  EXPECT_EQ(answered + refused, 60);  // every round answered one way or the other, none crashed
}

int64_t rss_kb() {
  FILE* f = fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  int64_t kb = 0;
  while (fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) kb = std::atoll(line + 6);
  }
  fclose(f);
  return kb;
}

// The C library's debug information (libc6-dbg): what opening it costs, as
// docs/hooks.md reports. Prints the numbers; checks the bounds.
TEST(DebugInfo, CostOfTheCLibrarysDebugInformation) {
  ObjectFile libc;
  for (ObjectFile& o : loaded_objects()) {
    if (o.path.find("/libc.so") != std::string::npos) libc = o;
  }
  ASSERT_FALSE(libc.path.empty());
  void* handle = dlopen(libc.path.c_str(), RTLD_NOLOAD | RTLD_LAZY);
  ASSERT_NE(handle, nullptr);
  auto read_fn = reinterpret_cast<uintptr_t>(dlsym(handle, "read"));
  dlclose(handle);
  drop_debug_info();
  int64_t rss0 = rss_kb();
  auto t0 = std::chrono::steady_clock::now();
  auto f = debug_function(libc, read_fn);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!f) GTEST_SKIP() << "no debug information for the C library: " << f.error().message();
  DebugInfoStats s = debug_info_stats();
  std::printf(
      "libc debug info: %.1f ms to open and describe read(); %.1f MiB inflated, %.1f MiB mapped, "
      "%llu units indexed, %llu entries read; RSS +%lld kB\n",
      ms, s.inflated_bytes / 1048576.0, s.mapped_bytes / 1048576.0,
      static_cast<unsigned long long>(s.units_indexed), static_cast<unsigned long long>(s.dies_read),
      static_cast<long long>(rss_kb() - rss0));
  ASSERT_EQ(f->params.size(), 3u);
  EXPECT_EQ(f->params[0].name, "fd");
  EXPECT_EQ(f->params[2].name, "nbytes");
  EXPECT_LE(s.inflated_bytes, kMaxInflatedBytes);
  EXPECT_EQ(s.open_modules, 1u);
  drop_debug_info();
}

}  // namespace
}  // namespace pivot::hook
