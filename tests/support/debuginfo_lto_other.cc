// A second file of the -flto build (dbg_lto), with a static function of the
// same name as one in debuginfo_subject.inc: link-time optimization merges
// the files, so GCC renames both (scaled.lto_priv.0, .lto_priv.1).
#include <cstdint>

namespace dbg_lto {

// noinline: without it GCC inlines it into its only caller (see debuginfo_subject.inc).
[[gnu::noinline]] static int64_t scaled(int64_t amount, int times) {
  int64_t product = 1;
  for (int i = 0; i < times; ++i) product *= amount + i;
  return product;
}

int64_t scale_other(int64_t a, int times) { return scaled(a, times) + scaled(a + 1, times + 1); }

}  // namespace dbg_lto
