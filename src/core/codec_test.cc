#include "core/codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace pivot {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

TEST(Codec, VarintBytesAndSizes) {
  struct Case {
    uint64_t v;
    std::string enc;
  };
  const Case cases[] = {
      {0, bytes({0x00})},
      {1, bytes({0x01})},
      {127, bytes({0x7f})},
      {128, bytes({0x80, 0x01})},
      {300, bytes({0xac, 0x02})},
      {16383, bytes({0xff, 0x7f})},
      {16384, bytes({0x80, 0x80, 0x01})},
      {std::numeric_limits<uint64_t>::max(),
       bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
  };
  for (const Case& c : cases) {
    std::string out;
    ByteWriter(out).varint(c.v);
    EXPECT_EQ(out, c.enc) << c.v;
    EXPECT_EQ(varint_size(c.v), c.enc.size()) << c.v;
    ByteReader r(out);
    uint64_t got = 0;
    ASSERT_TRUE(r.varint(got)) << c.v;
    EXPECT_EQ(got, c.v);
    EXPECT_TRUE(r.at_end());
  }
}

// A varint with 10 bytes or more after its start is read by an unrolled
// loop without bounds checks, a shorter one byte by byte: with any amount
// of padding after it, each length and boundary reads as the exact-size input.
TEST(Codec, VarintsFollowedByMoreBytesReadTheSame) {
  std::vector<uint64_t> values;
  for (int bits = 0; bits <= 64; ++bits) {
    uint64_t top = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    values.push_back(top);
    values.push_back(top + 1);
    values.push_back(top / 3);
  }
  for (uint64_t v : values) {
    for (size_t padding = 0; padding <= 12; ++padding) {
      for (char pad : {'\x00', '\x80', '\xff'}) {
        std::string in;
        ByteWriter(in).varint(v);
        const size_t n = in.size();
        in.append(padding, pad);
        ByteReader r(in);
        uint64_t got = 0;
        ASSERT_TRUE(r.varint(got)) << v;
        EXPECT_EQ(got, v);
        EXPECT_EQ(r.offset(), n) << v;
      }
    }
  }
  // Not minimal (a final 0x00 after the first byte), at every length.
  for (size_t len = 2; len <= 10; ++len) {
    for (size_t padding : {size_t{0}, size_t{12}}) {
      std::string in(len - 1, '\x80');
      in += '\x00';
      in.append(padding, '\x01');
      ByteReader r(in);
      uint64_t got;
      EXPECT_FALSE(r.varint(got)) << len;
      EXPECT_EQ(r.error_message(), "bad varint at byte 0") << len;
    }
  }
}

TEST(Codec, Zigzag) {
  EXPECT_EQ(zigzag_encode(0), 0u);
  EXPECT_EQ(zigzag_encode(-1), 1u);
  EXPECT_EQ(zigzag_encode(1), 2u);
  EXPECT_EQ(zigzag_encode(-2), 3u);
  EXPECT_EQ(zigzag_encode(std::numeric_limits<int64_t>::max()), std::numeric_limits<uint64_t>::max() - 1);
  EXPECT_EQ(zigzag_encode(std::numeric_limits<int64_t>::min()), std::numeric_limits<uint64_t>::max());
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{63}, int64_t{-64}, int64_t{64},
                    std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(zigzag_decode(zigzag_encode(v)), v);
  }
}

TEST(Codec, Fixed64AndDoubleAreLittleEndian) {
  std::string out;
  ByteWriter w(out);
  w.fixed64(0x0102030405060708ull);
  w.f64(1.0);
  EXPECT_EQ(out, bytes({8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}));
  ByteReader r(out);
  uint64_t f;
  double d;
  ASSERT_TRUE(r.fixed64(f));
  ASSERT_TRUE(r.f64(d));
  EXPECT_EQ(f, 0x0102030405060708ull);
  EXPECT_EQ(d, 1.0);
}

TEST(Codec, ValueBytes) {
  struct Case {
    Value v;
    std::string enc;
  };
  const Case cases[] = {
      {Value(), bytes({0x00})},
      {Value(false), bytes({0x01})},
      {Value(true), bytes({0x02})},
      {Value(int64_t{-3}), bytes({0x03, 0x05})},
      {Value(int64_t{150}), bytes({0x03, 0xac, 0x02})},
      {Value(0.5), bytes({0x04, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f})},
      {Value("hi"), bytes({0x05, 0x02, 'h', 'i'})},
      {Value(""), bytes({0x05, 0x00})},
  };
  for (const Case& c : cases) {
    std::string out;
    ByteWriter(out).value(c.v);
    EXPECT_EQ(out, c.enc) << c.v.to_json();
    EXPECT_EQ(value_size(c.v), c.enc.size()) << c.v.to_json();
  }
}

TEST(Codec, ValueRoundTripsEveryType) {
  const Value values[] = {Value(),
                          Value(true),
                          Value(false),
                          Value(int64_t{0}),
                          Value(std::numeric_limits<int64_t>::min()),
                          Value(std::numeric_limits<int64_t>::max()),
                          Value(-0.0),
                          Value(3.25),
                          Value(std::numeric_limits<double>::infinity()),
                          Value(std::numeric_limits<double>::denorm_min()),
                          Value(""),
                          Value(std::string(1000, 'x')),
                          Value(std::string("a\0b", 3))};
  std::string out;
  ByteWriter w(out);
  for (const Value& v : values) w.value(v);
  w.value(Value(std::nan("")));
  ByteReader r(out);
  for (const Value& v : values) {
    Value got;
    ASSERT_TRUE(r.value(got));
    EXPECT_EQ(got.type(), v.type());
    EXPECT_EQ(got, v) << v.to_json();
  }
  Value nan;
  ASSERT_TRUE(r.value(nan));
  EXPECT_TRUE(nan.is_double() && std::isnan(nan.as_double()));
  EXPECT_TRUE(r.at_end());
  EXPECT_TRUE(r.ok());
}

TEST(Codec, SkipValueChecksWithoutBuilding) {
  std::string out;
  ByteWriter w(out);
  w.value(Value("abc"));
  w.value(Value(int64_t{7}));
  ByteReader r(out);
  ASSERT_TRUE(r.skip_value());
  EXPECT_EQ(r.offset(), 5u);
  ASSERT_TRUE(r.skip_value());
  EXPECT_TRUE(r.at_end());
}

struct BadRead {
  std::string input;
  std::string message;
};

TEST(Codec, ReaderErrorsNameTheFieldOffset) {
  const BadRead cases[] = {
      {"", "truncated at byte 0"},
      {bytes({0x05}), "truncated at byte 1"},
      {bytes({0x05, 0x80}), "truncated at byte 1"},
      {bytes({0x05, 0x04, 'a'}), "length 4 exceeds the 1 remaining bytes at byte 1"},
      {bytes({0x03, 0x80, 0x00}), "bad varint at byte 1"},
      {bytes({0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}), "bad varint at byte 1"},
      {bytes({0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00}),
       "bad varint at byte 1"},
      {bytes({0x04, 1, 2, 3, 4, 5, 6, 7}), "truncated at byte 1"},
      {bytes({0x09}), "unknown value tag 9 at byte 0"},
      {bytes({0xff}), "unknown value tag 255 at byte 0"},
  };
  for (const BadRead& c : cases) {
    ByteReader r(c.input);
    Value v;
    EXPECT_FALSE(r.value(v));
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error_message(), c.message);
    ByteReader s(c.input);
    EXPECT_FALSE(s.skip_value());
    EXPECT_EQ(s.error_message(), c.message);
  }
}

TEST(Codec, FirstErrorSticks) {
  std::string in = bytes({0x80});
  ByteReader r(in);
  uint64_t v;
  uint8_t b;
  EXPECT_FALSE(r.varint(v));
  EXPECT_FALSE(r.u8(b));  // would succeed on a fresh reader
  EXPECT_EQ(r.error(), ReadError::kTruncated);
  EXPECT_EQ(r.error_message(), "truncated at byte 0");
}

TEST(Codec, Base64UrlKnownVectors) {
  // RFC 4648 test vectors, without padding.
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {bytes({0xfb, 0xff}), "-_8"},
  };
  for (const auto& [raw, text] : cases) {
    std::string out;
    base64url_encode(raw, out);
    EXPECT_EQ(out, text);
    EXPECT_EQ(base64url_encoded_size(raw.size()), text.size());
    Result<std::string> back = base64url_decode(text);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, raw);
  }
}

TEST(Codec, Base64UrlRoundTripsAllByteValues) {
  std::string raw;
  for (int i = 0; i < 256; ++i) raw.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= raw.size(); n += 37) {
    std::string text;
    base64url_encode(std::string_view(raw).substr(0, n), text);
    EXPECT_EQ(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    Result<std::string> back = base64url_decode(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, raw.substr(0, n));
  }
}

TEST(Codec, Base64UrlAcceptsPadding) {
  Result<std::string> a = base64url_decode("Zg==");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, "f");
  Result<std::string> b = base64url_decode("Zm8=");
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, "fo");
}

TEST(Codec, Base64UrlErrors) {
  const std::pair<std::string, std::string> cases[] = {
      {"Z", "invalid base64url length 1"},
      {"Zm9vY", "invalid base64url length 5"},
      {"Zm+v", "invalid base64url character '+' at offset 2"},
      {"Zm/v", "invalid base64url character '/' at offset 2"},
      {"Zm v", "invalid base64url character 0x20 at offset 2"},
      {"Z=g=", "invalid base64url character '=' at offset 1"},
      {"====", "invalid base64url character '=' at offset 0"},
      {"Zh", "invalid base64url: non-zero trailing bits"},
      {"Zm9", "invalid base64url: non-zero trailing bits"},
  };
  for (const auto& [text, message] : cases) {
    Result<std::string> r = base64url_decode(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().message(), message) << text;
  }
}

}  // namespace
}  // namespace pivot
