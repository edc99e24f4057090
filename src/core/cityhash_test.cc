#include "core/cityhash.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace pivot {
namespace {

// The vectors of design section 7.
TEST(CityHash64, DesignVectors) {
  EXPECT_EQ(CityHash64(""), 0x9ae16a3b2f90404fULL);
  EXPECT_EQ(CityHash64("abc"), 4220206313085259313ULL);
  EXPECT_EQ(CityHash64("Moscow"), 12507901496292878638ULL);
  EXPECT_EQ(CityHash64("test"), 17703940110308125106ULL);
}

// The pseudorandom bytes of the reference test program (city-test.cc of
// CityHash v1.0.3, google/cityhash): data[i] = bits 37..44 of a generator.
const std::vector<char>& reference_data() {
  static const std::vector<char> data = [] {
    constexpr uint64_t k0 = 0xc3a5c85c97cb3127ULL;
    std::vector<char> d(1 << 20);
    uint64_t a = 9, b = 777;
    for (size_t i = 0; i < d.size(); ++i) {
      a = (a ^ (a >> 41)) * k0 + b;
      b = (b ^ (b >> 41)) * k0 + i;
      auto u = static_cast<uint8_t>(b >> 37);
      std::memcpy(&d[i], &u, 1);
    }
    return d;
  }();
  return data;
}

struct Vector {
  size_t len;
  uint64_t hash;
};

// Rows of the test table published with CityHash v1.0.3 (city-test.cc,
// `testdata[len][0]` = CityHash64(data + len * len, len)). Every length that
// selects a different code path is here: 0, 1..3, 4..8, 9..16, 17..32,
// 33..64, and over 64 with several remainders modulo 64 and chunk counts.
constexpr Vector kOfficial[] = {
    {0, 0x9ae16a3b2f90404fULL},   {1, 0x75e9dee28ded761dULL},   {2, 0x75de892fdc5ba914ULL},
    {3, 0x69cfe9fca1cc683aULL},   {4, 0x675b04c582a34966ULL},   {5, 0x46fa817397ea8b68ULL},
    {7, 0x46663908b4169b95ULL},   {8, 0xf214b86cffeab596ULL},   {9, 0xeba670441d1a4f7dULL},
    {12, 0x8f42b1fbb2fc0302ULL},  {15, 0xe1dd010487d2d647ULL},  {16, 0x2994f9245194a7e2ULL},
    {17, 0x32e2ed6fa03e5b22ULL},  {20, 0x4dabcb5c1d382e5cULL},  {24, 0xc0a86ed83908560bULL},
    {31, 0x061d95225bc2293eULL},  {32, 0x81247c01ab6a9cc1ULL},  {33, 0xc17f3ebd3257cb8bULL},
    {40, 0x05cc268bac4bd55fULL},  {48, 0x33c0128e62122440ULL},  {56, 0x215c2eaacdb48f6fULL},
    {63, 0x91c89971b3c20a8aULL},  {64, 0x16468c55a1b3f2b4ULL},  {65, 0x1a2bd6641870b0e4ULL},
    {66, 0x1d2f92f23d3e811aULL},  {70, 0x71c8287225d96c9aULL},  {80, 0x11b3bdda68b0725dULL},
    {95, 0xf6bbcba92b11f5c8ULL},  {197, 0x2ce2f3e89fa141feULL}, {200, 0x6f11f9c1131f1182ULL},
    {210, 0xa194c120f440fd48ULL}, {220, 0x6be2903d8f07af90ULL}, {230, 0x1100f797ce53a629ULL},
    {240, 0xe15074b077c6e560ULL}, {246, 0xd10b70dde60270a6ULL}, {298, 0x91288884ebfcf145ULL},
};

TEST(CityHash64, OfficialV103TestTable) {
  const auto& data = reference_data();
  for (const auto& v : kOfficial) {
    EXPECT_EQ(CityHash64(data.data() + v.len * v.len, v.len), v.hash) << "length " << v.len;
  }
  // The table's last row: all 1 MiB of the data.
  EXPECT_EQ(CityHash64(data.data(), data.size()), 0x754c7e98ae3495eaULL);
}

// Lengths 300..1100 (the official table stops at 298 bytes). Expected values
// from an independent implementation: the BigInt CityHash64 of the npm
// package @anglinb/city-hash 1.1.0 with its over-64-byte function replaced
// by the one of google/cityhash v1.0.3/v1.1 (identical in both versions),
// which reproduces every row of the official table above.
TEST(CityHash64, LongInputsUpTo1100Bytes) {
  constexpr Vector kLong[] = {
      {300, 0xc58d61f2bc12bde2ULL},  {384, 0x97345982c9fdf1cfULL},  {511, 0xc76d29fd46e1ff12ULL},
      {512, 0xffa8652f58195306ULL},  {640, 0x0ce4fca803f4d69bULL},  {777, 0x53d7dafdceb0afa9ULL},
      {1000, 0xfc898feacb49f38fULL}, {1023, 0xcdb2a69544c92b3dULL}, {1024, 0x5275b98fdb607a7eULL},
      {1100, 0x8dbf501c7e4de27bULL},
  };
  const auto& data = reference_data();
  for (const auto& v : kLong) EXPECT_EQ(CityHash64(data.data() + v.len, v.len), v.hash) << "length " << v.len;
}

// Ids as traces use them. Expected values from @anglinb/city-hash 1.1.0, a
// ClickHouse-compatible (v1.0.2) implementation, which agrees with v1.0.3 up
// to 64 bytes.
TEST(CityHash64, TextIds) {
  EXPECT_EQ(CityHash64("a"), 2603192927274642682ULL);
  EXPECT_EQ(CityHash64("ab"), 1725057946192985918ULL);
  EXPECT_EQ(CityHash64("hello world"), 12386028635079221413ULL);
  EXPECT_EQ(CityHash64("auction-0000001"), 3551525143989193195ULL);
  EXPECT_EQ(CityHash64("0123456789abcdef"), 692747204941329175ULL);
  EXPECT_EQ(CityHash64("0123456789abcdefg"), 792568009951096890ULL);
  EXPECT_EQ(CityHash64("f47ac10b-58cc-4372-a567-0e02b2c3d479"), 12197139818418894651ULL);
  EXPECT_EQ(CityHash64("The quick brown fox jumps over the lazy dog"), 16697807905646383735ULL);
}

// CityHash v1.1 hashes 1..3-byte inputs with k0 where v1.0.3 uses k3, which
// gives "abc" 0x24a5b3a074e7f369 (worked out from google/cityhash v1.1).
TEST(CityHash64, IsNotVersion11) { EXPECT_NE(CityHash64("abc"), 0x24a5b3a074e7f369ULL); }

TEST(CityHash64, ReadsOnlyItsInput) {
  // Unaligned starts and lengths ending at a page-like boundary must not
  // read past the end (ASan checks this).
  std::vector<char> buf(1100);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<char>(i * 7);
  for (size_t len = 0; len <= 130; ++len) {
    std::vector<char> exact(buf.begin() + 3, buf.begin() + 3 + len);
    EXPECT_EQ(CityHash64(exact.data(), exact.size()), CityHash64(buf.data() + 3, len));
  }
}

}  // namespace
}  // namespace pivot
