// The binary and text encodings: pinned bytes, round trips, hostile input.
#include "baggage/wire.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>

#include "baggage/test_util.h"

namespace pivot::internal {
namespace {

using testing::BaggageTest;
using testing::expect_valid;
using testing::pack;
using testing::spec;
using testing::unpacked;

using WireTest = BaggageTest;

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

std::string b64(std::string_view raw) {
  std::string out;
  base64url_encode(raw, out);
  return out;
}

std::string varint(uint64_t v) {
  char buf[10];
  return std::string(buf, put_varint(buf, v) - buf);
}

// A baggage made by hand: bag 5 holds one empty tuple; bag 300 holds
// (-3, "ab") and (null, false, true, 0.5).
const std::string kKnown = bytes({
    0x02,                                            // version 2
    0x00,                                            // flags: not overflowed
    0x02,                                            // 2 bags
    0x05,                                            // bag id 5
    0x01,                                            //   1 entry
    0x03,                                            //     seq 3
    0xb9, 0xf3, 0xdd, 0xf1, 0x09,                    //     id 0x9e3779b9
    0x00,                                            //     0 values
    0xac, 0x02,                                      // bag id 300
    0x02,                                            //   2 entries
    0x01,                                            //     seq 1
    0x11,                                            //     id 0x11
    0x02,                                            //     2 values
    0x03, 0x05,                                      //       int -3 (zigzag 5)
    0x05, 0x02, 'a',  'b',                           //       string "ab"
    0x02,                                            //     seq 2
    0x22,                                            //     id 0x22
    0x04,                                            //     4 values
    0x00,                                            //       null
    0x01,                                            //       false
    0x02,                                            //       true
    0x04, 0,    0,    0,    0,    0, 0, 0xe0, 0x3f,  //       double 0.5
});

// The same tuples in version 1, as pivot wrote them before the compact
// layout (golden bytes: decoders keep reading them), with 64-bit entry ids.
const std::string kKnownV1 = bytes({
    0x01,                                                  // version 1
    0x00,                                                  // flags: not overflowed
    0x02,                                                  // 2 bags
    0x05,                                                  // bag id 5
    0x01,                                                  //   1 entry
    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,        //     id 0x0102030405060708
    0x03,                                                  //     seq 3
    0x01,                                                  //     flags: shared
    0x00,                                                  //     0 values
    0xac, 0x02,                                            // bag id 300
    0x02,                                                  //   2 entries
    0x11, 0,    0,    0,    0,    0,    0,    0,           //     id 0x11
    0x01,                                                  //     seq 1
    0x01,                                                  //     flags: shared
    0x02,                                                  //     2 values
    0x03, 0x05,                                            //       int -3 (zigzag 5)
    0x05, 0x02, 'a',  'b',                                 //       string "ab"
    0x22, 0,    0,    0,    0,    0,    0,    0,           //     id 0x22
    0x02,                                                  //     seq 2
    0x01,                                                  //     flags: shared
    0x04,                                                  //     4 values
    0x00,                                                  //       null
    0x01,                                                  //       false
    0x02,                                                  //       true
    0x04, 0,    0,    0,    0,    0,    0,    0xe0, 0x3f,  //       double 0.5
});
const char kKnownV1Text[] = "AQACBQEIBwYFBAMCAQMBAKwCAhEAAAAAAAAAAQECAwUFAmFiIgAAAAAAAAACAQQAAQIEAAAAAAAA4D8";

// kKnownV1 re-encoded: version 2, its 64-bit id a 9-byte varint.
const std::string kKnownV1AsV2 =
    bytes({0x02, 0x00, 0x02, 0x05, 0x01, 0x03}) + varint(0x0102030405060708) + kKnown.substr(11);

TEST_F(WireTest, KnownBytesDecodeAndEncodeBackExactly) {
  ASSERT_EQ(kKnown.size(), 39u);
  Result<Baggage> b = baggage::decode_binary(kKnown);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->byte_size(), 39u);
  EXPECT_FALSE(b->overflowed());
  EXPECT_EQ(baggage::encode_binary(*b), kKnown);
  EXPECT_EQ(baggage::encode(*b), "AgACBQEDufPd8QkArAICARECAwUFAmFiAiIEAAECBAAAAAAAAOA_");
  expect_valid(*b);
  baggage::Scope scope(std::move(*b));
  EXPECT_EQ(unpacked(spec(5)), "[]");
  EXPECT_EQ(unpacked(spec(300)), R"([-3,"ab"] [null,false,true,0.5])");
}

TEST_F(WireTest, Version1BytesStillDecodeAndReEncodeAsVersion2) {
  ASSERT_EQ(kKnownV1.size(), 59u);
  ASSERT_EQ(kKnownV1AsV2.size(), 43u);
  Result<Baggage> text = baggage::try_decode(kKnownV1Text);
  ASSERT_TRUE(text) << text.error().message();
  Result<Baggage> b = baggage::decode_binary(kKnownV1);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(baggage::encode_binary(*text), kKnownV1AsV2);
  EXPECT_EQ(baggage::encode_binary(*b), kKnownV1AsV2);
  EXPECT_EQ(b->byte_size(), 43u);
  expect_valid(*b);
  const BagData* d = BagAccess::get(*b);
  ASSERT_EQ(d->entries.size(), 3u);
  EXPECT_EQ(d->entries[0].id, 0x0102030405060708u);
  EXPECT_EQ(d->entries[0].seq, 3u);
  EXPECT_TRUE(d->entries[0].shared);
  baggage::Scope scope(std::move(*b));
  EXPECT_EQ(unpacked(spec(5)), "[]");
  EXPECT_EQ(unpacked(spec(300)), R"([-3,"ab"] [null,false,true,0.5])");
  // And the re-encoding reads back as itself.
  Result<Baggage> again = baggage::decode_binary(kKnownV1AsV2);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(baggage::encode_binary(*again), kKnownV1AsV2);
}

TEST_F(WireTest, PackedBaggageBytes) {
  seed_entry_ids_for_testing(42);
  pack(spec(1), {7});
  pack(spec(1), {"x"});
  pack(spec(200), {true});
  Baggage b = baggage::take();
  const BagData* d = BagAccess::get(b);
  ASSERT_EQ(d->entries.size(), 3u);
  for (const Entry& e : d->entries) EXPECT_LE(e.id, 0xffffffffu) << "new entry ids are 32 bits";
  const std::string expected = bytes({0x02, 0x00, 0x02, 0x01, 0x02, 0x01}) + varint(d->entries[0].id) +
                               bytes({0x01, 0x03, 0x0e, 0x02}) + varint(d->entries[1].id) +
                               bytes({0x01, 0x05, 0x01, 'x', 0xc8, 0x01, 0x01, 0x03}) +
                               varint(d->entries[2].id) + bytes({0x01, 0x02});
  EXPECT_EQ(baggage::encode_binary(b), expected);
  EXPECT_EQ(b.byte_size(), expected.size());
  EXPECT_EQ(baggage::encode(b), b64(expected));
}

TEST_F(WireTest, OneSmallTupleIsTwentyOneBytes) {
  // The typical request: one bag with a 32-bit id (the planner's), one
  // entry with a 32-bit id, ("GET").
  seed_entry_ids_for_testing(7);
  pack(spec(0x9e3779b9), {"GET"});
  EXPECT_EQ(baggage::encode_binary().size(), 21u);
  EXPECT_EQ(baggage::encode().size(), 28u);
}

TEST_F(WireTest, OverflowFlagIsTheFirstFlagBit) {
  std::string overflowed = kKnown;
  overflowed[1] = 0x01;
  Result<Baggage> b = baggage::decode_binary(overflowed);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_TRUE(b->overflowed());
  EXPECT_EQ(baggage::encode_binary(*b), overflowed);
}

TEST_F(WireTest, EveryValueTypeRoundTripsThroughText) {
  const std::vector<Value> values = {Value(),
                                     Value(true),
                                     Value(false),
                                     Value(int64_t{0}),
                                     Value(std::numeric_limits<int64_t>::min()),
                                     Value(std::numeric_limits<int64_t>::max()),
                                     Value(-1.25),
                                     Value(std::numeric_limits<double>::infinity()),
                                     Value(""),
                                     Value("héllo, wörld; \"quoted\"\n"),
                                     Value(std::string(200, '\xff'))};
  bag_pack(spec(9), values);
  std::string text = baggage::encode();
  Baggage sent = baggage::take();
  Baggage back = baggage::decode(text);
  EXPECT_EQ(baggage::encode_binary(back), baggage::encode_binary(sent));
  baggage::Scope scope(std::move(back));
  std::vector<Tuple> out;
  ASSERT_TRUE(bag_unpack(spec(9), out, nullptr));
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(out[0][i].type(), values[i].type()) << i;
    EXPECT_EQ(out[0][i], values[i]) << i;
  }
}

TEST_F(WireTest, NanSurvivesBitForBit) {
  bag_pack(spec(1), std::vector<Value>{Value(std::nan("0x123"))});
  Baggage back = baggage::decode(baggage::encode());
  baggage::Scope scope(std::move(back));
  std::vector<Tuple> out;
  ASSERT_TRUE(bag_unpack(spec(1), out, nullptr));
  EXPECT_TRUE(std::isnan(out[0][0].as_double()));
}

TEST_F(WireTest, TextIsAW3CBaggageMemberValue) {
  for (int i = 0; i < 50; ++i) pack(spec(i % 3), {i, std::string(i, static_cast<char>(i * 5))});
  std::string text = baggage::encode();
  ASSERT_FALSE(text.empty());
  // W3C baggage: a value is baggage-octets (no space, '"', ',', ';', '\');
  // base64url without padding stays within letters, digits, '-' and '_'.
  EXPECT_EQ(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  std::string header = "userId=alice,pivot=" + text + ",isProduction=false";
  size_t start = header.find("pivot=") + 6;
  std::string member = header.substr(start, header.find(',', start) - start);
  EXPECT_EQ(member, text);
}

TEST_F(WireTest, DecodeIgnoresSurroundingWhitespace) {
  pack(spec(1), {"ws"});
  std::string text = baggage::encode();
  Result<Baggage> b = baggage::try_decode(" \t" + text + "\r\n ");
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(baggage::encode(*b), text);
  EXPECT_TRUE(baggage::decode(" \t\r\n").empty());
}

TEST_F(WireTest, DecodeAcceptsPadding) {
  std::string text = b64(kKnownV1AsV2);  // 43 bytes: needs "=="
  ASSERT_EQ(text.size() % 4, 2u);
  Result<Baggage> b = baggage::try_decode(text + "==");
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(baggage::encode_binary(*b), kKnownV1AsV2);
}

TEST_F(WireTest, AHeaderWithNoBagsIsTheEmptyBaggage) {
  for (int version : {1, 2}) {
    Result<Baggage> b = baggage::decode_binary(bytes({version, 0x00, 0x00}));
    ASSERT_TRUE(b) << version;
    EXPECT_TRUE(b->empty()) << version;
  }
}

TEST_F(WireTest, EntriesDecodeAsShared) {
  Result<Baggage> b = baggage::decode_binary(kKnown);
  ASSERT_TRUE(b) << b.error().message();
  for (const Entry& e : BagAccess::get(*b)->entries) EXPECT_TRUE(e.shared);
}

TEST_F(WireTest, Version1EntryFlagIsReadButNeverWritten) {
  std::string unshared = kKnownV1;
  unshared[14] = 0x00;  // bag 5's entry: not shared
  Result<Baggage> b = baggage::decode_binary(unshared);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_FALSE(BagAccess::get(*b)->entries[0].shared);
  // Version 2 has no entry flags: whoever reads the bytes holds a copy.
  EXPECT_EQ(baggage::encode_binary(*b), kKnownV1AsV2);
}

// Hostile input: each is rejected with its exact message, decode() gives
// the empty baggage and counts one error.
struct Hostile {
  const char* name;
  std::string text;
  std::string message;
};

// kKnown's bag 5 alone: 3 header bytes + bag 5 (9 bytes).
std::string one_entry() {
  std::string s = kKnown.substr(0, 12);
  s[2] = 0x01;
  return s;
}

std::vector<Hostile> hostile_inputs() {
  auto with_in = [](const std::string& v, size_t at, std::string_view replacement, size_t len = 1) {
    std::string s = v;
    s.replace(at, len, replacement);
    return b64(s);
  };
  const std::string& v = kKnown;
  auto with = [&](size_t at, std::string_view replacement, size_t len = 1) {
    return with_in(v, at, replacement, len);
  };
  return {
      {"bad character", "%%%%", "baggage: invalid base64url character '%' at offset 0"},
      {"standard base64", "Ag+A", "baggage: invalid base64url character '+' at offset 2"},
      {"space inside", "Ag A", "baggage: invalid base64url character 0x20 at offset 2"},
      {"bad length", "AgACB", "baggage: invalid base64url length 5"},
      {"trailing bits", "AB", "baggage: invalid base64url: non-zero trailing bits"},
      {"version 0", b64(bytes({0x00})), "baggage: unknown version 0"},
      {"version 9", b64(bytes({0x09, 0x00, 0x00})), "baggage: unknown version 9"},
      {"version only", b64(bytes({0x02})), "baggage: truncated at byte 1"},
      {"unknown flags", b64(bytes({0x02, 0x80, 0x00})), "baggage: unknown flags 0x80 at byte 1"},
      {"no bag count", b64(bytes({0x02, 0x00})), "baggage: truncated at byte 2"},
      {"huge bag count", b64(bytes({0x02, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f})),
       "baggage: bag count 4294967295 too large for 0 remaining bytes at byte 2"},
      {"bag count past the bags", with(2, bytes({0x08})),
       "baggage: bag count 8 too large for 36 remaining bytes at byte 2"},
      {"overlong varint", b64(bytes({0x02, 0x00, 0x80, 0x00})), "baggage: bad varint at byte 2"},
      {"varint over 64 bits",
       b64(bytes({0x02, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})),
       "baggage: bad varint at byte 2"},
      {"empty bag", with(4, bytes({0x00})), "baggage: empty bag at byte 4"},
      {"huge entry count", with(4, bytes({0xff, 0xff, 0x03})),
       "baggage: entry count 65535 too large for 34 remaining bytes at byte 4"},
      {"entry count past the entries", with(14, bytes({0x09})),
       "baggage: entry count 9 too large for 24 remaining bytes at byte 14"},
      {"truncated id", b64(one_entry().substr(0, 9)), "baggage: truncated at byte 6"},
      {"truncated seq", b64(v.substr(0, 24)), "baggage: truncated at byte 24"},
      {"huge value count", with(11, bytes({0x64})),
       "baggage: value count 100 too large for 27 remaining bytes at byte 11"},
      {"bags out of order", with(12, bytes({0x05}), 2), "baggage: bag ids not ascending at byte 12"},
      {"duplicate entry", b64(v.substr(0, 24) + v.substr(15, 9) + v.substr(24)),
       "baggage: entries not in (seq, id) order at byte 24"},
      {"entries out of order", with(24, bytes({0x00})), "baggage: entries not in (seq, id) order at byte 24"},
      {"bad value tag", with(18, bytes({0x09})), "baggage: unknown value tag 9 at byte 18"},
      {"string past the end", with(21, bytes({0x7f})),
       "baggage: length 127 exceeds the 17 remaining bytes at byte 21"},
      {"truncated double", b64(v.substr(0, 35)), "baggage: truncated at byte 31"},
      {"trailing bytes", b64(v + bytes({0x00, 0x00})), "baggage: 2 trailing bytes at byte 39"},
      {"trailing garbage text", b64(one_entry()) + " x",
       "baggage: invalid base64url character 0x20 at offset 16"},
      {"too long", std::string(70000, 'A'), "baggage: input too long (70000 bytes, limit 65536)"},
      // Version 1 is still checked field by field.
      {"v1 truncated id", b64(kKnownV1.substr(0, 41)), "baggage: truncated at byte 36"},
      {"v1 unknown entry flags", with_in(kKnownV1, 14, bytes({0x02})),
       "baggage: unknown entry flags 0x02 at byte 14"},
      {"v1 huge entry count", with_in(kKnownV1, 4, bytes({0xff, 0xff, 0x03})),
       "baggage: entry count 65535 too large for 54 remaining bytes at byte 4"},
      {"v1 entries out of order", with_in(kKnownV1, 44, bytes({0x00})),
       "baggage: entries not in (seq, id) order at byte 36"},
  };
}

TEST_F(WireTest, HostileInputsAreRejectedWithAClearMessage) {
  {
    // The table's base: one_entry() is valid.
    Result<Baggage> ok = baggage::try_decode(b64(one_entry()));
    ASSERT_TRUE(ok) << ok.error().message();
  }
  std::vector<Hostile> cases = hostile_inputs();
  ASSERT_GE(cases.size(), 15u);
  for (const Hostile& c : cases) {
    Result<Baggage> r = baggage::try_decode(c.text);
    if (r) {
      ADD_FAILURE() << c.name << " was accepted";
      continue;
    }
    EXPECT_EQ(r.error().message(), c.message) << c.name;
    uint64_t errors = baggage::decode_errors();
    Baggage b = baggage::decode(c.text);
    EXPECT_TRUE(b.empty()) << c.name;
    EXPECT_EQ(baggage::decode_errors(), errors + 1) << c.name;
  }
}

TEST_F(WireTest, BinaryInputLimit) {
  Result<Baggage> r = baggage::decode_binary(std::string(kMaxBinaryBytes + 1, '\x01'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "baggage: input too long (49153 bytes, limit 49152)");
}

TEST_F(WireTest, TryDecodeDoesNotCountErrors) {
  uint64_t errors = baggage::decode_errors();
  EXPECT_FALSE(baggage::try_decode("%"));
  EXPECT_FALSE(baggage::decode_binary("\x09"));
  EXPECT_EQ(baggage::decode_errors(), errors);
}

TEST_F(WireTest, EveryTruncationOfAValidEncodingIsRejected) {
  for (const std::string* valid : {&kKnown, &kKnownV1}) {
    for (size_t n = 1; n < valid->size(); ++n) {
      Result<Baggage> r = baggage::decode_binary(valid->substr(0, n));
      EXPECT_FALSE(r) << n;
    }
  }
}

// Writes the fuzzer's seed corpus when PIVOT_WRITE_CORPUS names a
// directory (fuzz/corpus/baggage_decoder); otherwise does nothing.
TEST_F(WireTest, WriteSeedCorpus) {
  const char* dir = std::getenv("PIVOT_WRITE_CORPUS");
  if (dir == nullptr) GTEST_SKIP() << "set PIVOT_WRITE_CORPUS to write the corpus";
  auto write = [&](const std::string& name, const std::string& data) {
    std::ofstream(std::string(dir) + "/" + name, std::ios::binary) << data;
  };
  write("known.bin", kKnown);
  write("known.txt", b64(kKnown));
  write("known_v1.bin", kKnownV1);
  write("known_v1.txt", kKnownV1Text);
  seed_entry_ids_for_testing(7);
  pack(spec(1), {"GET"});
  write("one_string.txt", baggage::encode());
  write("one_string.bin", baggage::encode_binary());
  BagSpec agg = testing::aggregate_spec(77, 1, {Combine::kSum, Combine::kMax});
  for (int i = 0; i < 5; ++i) pack(agg, {i % 2, i * 10, 0.5 * i});
  for (int i = 0; i < 4; ++i) pack(spec(3, PackMode::kMostRecentN, 2), {std::string(i * 40, 'q')});
  write("mixed.txt", baggage::encode());
  write("mixed.bin", baggage::encode_binary());
  baggage::set_byte_cap(60);
  pack(spec(1), {std::string(100, 'x')});
  write("overflowed.bin", baggage::encode_binary());
  for (const Hostile& c : hostile_inputs()) {
    std::string name = std::string("hostile_") + c.name + ".txt";
    for (char& ch : name) ch = ch == ' ' ? '_' : ch;
    if (c.text.size() < 1000) write(name, c.text);
  }
}

}  // namespace
}  // namespace pivot::internal
