// CityHash64 v1.0.3 (Geoff Pike and Jyrki Alakuijala, Google, 2011), written
// for pivot from the published algorithm. Inputs of 0..64 bytes use the v1.0
// short-string functions (HashLen0to16, HashLen17to32, HashLen33to64); longer
// inputs hash the last 64 bytes first and then the 64-byte chunks, with the
// loop that v1.0.3 introduced. cityhash_test.cc checks it against the test
// vectors published with v1.0.3.
#include "core/cityhash.h"

#include <bit>
#include <cstring>
#include <utility>

namespace pivot {
namespace {

// Some primes between 2^63 and 2^64, from the reference.
constexpr uint64_t k0 = 0xc3a5c85c97cb3127ULL;
constexpr uint64_t k1 = 0xb492b66fbe98f273ULL;
constexpr uint64_t k2 = 0x9ae16a3b2f90404fULL;
constexpr uint64_t k3 = 0xc949d7c7509e6557ULL;

inline uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

inline uint64_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

inline uint64_t rotate(uint64_t v, int shift) { return shift == 0 ? v : (v >> shift) | (v << (64 - shift)); }

// Same as rotate() for 1 <= shift <= 63, which lets it compile to one ror.
inline uint64_t rotate_at_least_1(uint64_t v, int shift) { return (v >> shift) | (v << (64 - shift)); }

inline uint64_t shift_mix(uint64_t v) { return v ^ (v >> 47); }

// Hash128to64 of the reference: a Murmur-inspired mix of two words.
inline uint64_t hash_len16(uint64_t u, uint64_t v) {
  constexpr uint64_t kMul = 0x9ddfea08eb382d69ULL;
  uint64_t a = (u ^ v) * kMul;
  a ^= a >> 47;
  uint64_t b = (v ^ a) * kMul;
  b ^= b >> 47;
  return b * kMul;
}

uint64_t hash_len_0_to_16(const char* s, size_t len) {
  if (len > 8) {
    uint64_t a = load64(s);
    uint64_t b = load64(s + len - 8);
    return hash_len16(a, rotate_at_least_1(b + len, static_cast<int>(len))) ^ b;
  }
  if (len >= 4) {
    uint64_t a = load32(s);
    return hash_len16(len + (a << 3), load32(s + len - 4));
  }
  if (len > 0) {
    uint8_t a = static_cast<uint8_t>(s[0]);
    uint8_t b = static_cast<uint8_t>(s[len >> 1]);
    uint8_t c = static_cast<uint8_t>(s[len - 1]);
    uint32_t y = static_cast<uint32_t>(a) + (static_cast<uint32_t>(b) << 8);
    uint32_t z = static_cast<uint32_t>(len) + (static_cast<uint32_t>(c) << 2);
    return shift_mix(y * k2 ^ z * k3) * k2;
  }
  return k2;
}

uint64_t hash_len_17_to_32(const char* s, size_t len) {
  uint64_t a = load64(s) * k1;
  uint64_t b = load64(s + 8);
  uint64_t c = load64(s + len - 8) * k2;
  uint64_t d = load64(s + len - 16) * k0;
  return hash_len16(rotate(a - b, 43) + rotate(c, 30) + d, a + rotate(b ^ k3, 20) - c + len);
}

uint64_t hash_len_33_to_64(const char* s, size_t len) {
  uint64_t z = load64(s + 24);
  uint64_t a = load64(s) + (len + load64(s + len - 16)) * k0;
  uint64_t b = rotate(a + z, 52);
  uint64_t c = rotate(a, 37);
  a += load64(s + 8);
  c += rotate(a, 7);
  a += load64(s + 16);
  uint64_t vf = a + z;
  uint64_t vs = b + rotate(a, 31) + c;
  a = load64(s + 16) + load64(s + len - 32);
  z = load64(s + len - 8);
  b = rotate(a + z, 52);
  c = rotate(a, 37);
  a += load64(s + len - 24);
  c += rotate(a, 7);
  a += load64(s + len - 16);
  uint64_t wf = a + z;
  uint64_t ws = b + rotate(a, 31) + c;
  uint64_t r = shift_mix((vf + ws) * k2 + (wf + vs) * k0);
  return shift_mix(r * k0 + vs) * k2;
}

// A 16-byte hash of 32 bytes (w, x, y, z) and two seeds. Quick and dirty.
inline std::pair<uint64_t, uint64_t> weak_hash_32(uint64_t w, uint64_t x, uint64_t y, uint64_t z, uint64_t a,
                                                  uint64_t b) {
  a += w;
  b = rotate(b + a + z, 21);
  uint64_t c = a;
  a += x;
  a += y;
  b += rotate(a, 44);
  return {a + z, b + c};
}

inline std::pair<uint64_t, uint64_t> weak_hash_32(const char* s, uint64_t a, uint64_t b) {
  return weak_hash_32(load64(s), load64(s + 8), load64(s + 16), load64(s + 24), a, b);
}

}  // namespace

uint64_t CityHash64(const char* s, size_t len) noexcept {
  if (len <= 16) return hash_len_0_to_16(s, len);
  if (len <= 32) return hash_len_17_to_32(s, len);
  if (len <= 64) return hash_len_33_to_64(s, len);

  // Over 64 bytes: hash the end first, then loop over 64-byte chunks keeping
  // 56 bytes of state (v, w, x, y, z).
  uint64_t x = load64(s + len - 40);
  uint64_t y = load64(s + len - 16) + load64(s + len - 56);
  uint64_t z = hash_len16(load64(s + len - 48) + len, load64(s + len - 24));
  std::pair<uint64_t, uint64_t> v = weak_hash_32(s + len - 64, len, z);
  std::pair<uint64_t, uint64_t> w = weak_hash_32(s + len - 32, y + k1, x);
  x = x * k1 + load64(s);

  size_t left = (len - 1) & ~static_cast<size_t>(63);  // whole chunks, the tail already counted
  do {
    x = rotate(x + y + v.first + load64(s + 8), 37) * k1;
    y = rotate(y + v.second + load64(s + 48), 42) * k1;
    x ^= w.second;
    y += v.first + load64(s + 40);
    z = rotate(z + w.first, 33) * k1;
    v = weak_hash_32(s, v.second * k1, x + w.first);
    w = weak_hash_32(s + 32, z + w.second, y + load64(s + 16));
    std::swap(z, x);
    s += 64;
    left -= 64;
  } while (left != 0);
  return hash_len16(hash_len16(v.first, w.first) + shift_mix(y) * k1 + z, hash_len16(v.second, w.second) + x);
}

}  // namespace pivot
