#include "core/codec.h"

#include <array>
#include <cstring>

namespace pivot {

size_t value_size(const Value& v) noexcept {
  switch (v.type()) {
    case ValueType::kNull:
    case ValueType::kBool: return 1;
    case ValueType::kInt: return 1 + varint_size(zigzag_encode(v.as_int()));
    case ValueType::kDouble: return 1 + 8;
    case ValueType::kString: {
      size_t n = v.as_string().size();
      return 1 + varint_size(n) + n;
    }
  }
  return 1;
}

void ByteWriter::varint_long(uint64_t v) {
  char buf[10];
  out_.append(buf, put_varint(buf, v) - buf);
}

void ByteWriter::f64(double v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  fixed64(bits);
}

void ByteWriter::length_prefixed(std::string_view s) {
  varint(s.size());
  out_.append(s);
}

char* put_value(char* p, const Value& v) noexcept {
  switch (v.type()) {
    case ValueType::kNull: *p++ = static_cast<char>(ValueTag::kNull); return p;
    case ValueType::kBool:
      *p++ = static_cast<char>(v.as_bool() ? ValueTag::kTrue : ValueTag::kFalse);
      return p;
    case ValueType::kInt:
      *p++ = static_cast<char>(ValueTag::kInt);
      return put_varint(p, zigzag_encode(v.as_int()));
    case ValueType::kDouble: {
      *p++ = static_cast<char>(ValueTag::kDouble);
      double d = v.as_double();
      uint64_t bits = 0;
      std::memcpy(&bits, &d, sizeof bits);
      return put_fixed64(p, bits);
    }
    case ValueType::kString: {
      const std::string& s = v.as_string();
      *p++ = static_cast<char>(ValueTag::kString);
      p = put_varint(p, s.size());
      std::memcpy(p, s.data(), s.size());
      return p + s.size();
    }
  }
  return p;
}

void ByteWriter::value(const Value& v) {
  switch (v.type()) {
    case ValueType::kNull: u8(static_cast<uint8_t>(ValueTag::kNull)); return;
    case ValueType::kBool: u8(static_cast<uint8_t>(v.as_bool() ? ValueTag::kTrue : ValueTag::kFalse)); return;
    case ValueType::kInt:
      u8(static_cast<uint8_t>(ValueTag::kInt));
      zigzag(v.as_int());
      return;
    case ValueType::kDouble:
      u8(static_cast<uint8_t>(ValueTag::kDouble));
      f64(v.as_double());
      return;
    case ValueType::kString:
      u8(static_cast<uint8_t>(ValueTag::kString));
      length_prefixed(v.as_string());
      return;
  }
}

bool ByteReader::fail(ReadError e, size_t at, uint64_t detail) noexcept {
  if (error_ == ReadError::kNone) {
    error_ = e;
    error_offset_ = at;
    error_detail_ = detail;
  }
  return false;
}

bool ByteReader::varint_long(uint64_t& v) noexcept {
  if (!ok()) return false;
  const size_t start = pos_;
  const auto* p = reinterpret_cast<const uint8_t*>(in_.data()) + pos_;
  // At most 10 bytes; read no further than the input.
  const size_t limit = remaining() < 10 ? remaining() : 10;
  uint64_t result = 0;
  size_t i = 0;
  if (limit == 10) {
    // The common case: no bounds to check, so the loop unrolls.
#pragma GCC unroll 10
    for (size_t k = 0; k < 10; ++k) {
      uint64_t byte = p[k];
      result |= (byte & 0x7f) << (7 * k);
      i = k;
      if (byte < 0x80) break;
      i = 10;
    }
  } else {
    for (; i < limit; ++i) {
      uint64_t byte = p[i];
      result |= (byte & 0x7f) << (7 * i);
      if (byte < 0x80) break;
    }
  }
  if (i == limit) return fail(limit < 10 ? ReadError::kTruncated : ReadError::kBadVarint, start);
  // Minimal (no final 0x00 after the first byte), and the tenth byte may
  // only hold the 64th bit.
  if ((i > 0 && p[i] == 0) || (i == 9 && p[i] > 1)) return fail(ReadError::kBadVarint, start);
  pos_ += i + 1;
  v = result;
  return true;
}

bool ByteReader::zigzag(int64_t& v) noexcept {
  uint64_t raw;
  if (!varint(raw)) return false;
  v = zigzag_decode(raw);
  return true;
}

bool ByteReader::f64(double& v) noexcept {
  uint64_t bits = 0;
  if (!fixed64(bits)) return false;
  std::memcpy(&v, &bits, sizeof v);
  return true;
}

bool ByteReader::bytes(size_t n, std::string_view& v) noexcept {
  if (!ok()) return false;
  if (remaining() < n) return fail(ReadError::kTruncated, pos_);
  v = in_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool ByteReader::value(Value& v) {
  size_t start = pos_;
  uint8_t tag = 0;
  if (!u8(tag)) return false;
  switch (static_cast<ValueTag>(tag)) {
    case ValueTag::kNull: v = Value(); return true;
    case ValueTag::kFalse: v = Value(false); return true;
    case ValueTag::kTrue: v = Value(true); return true;
    case ValueTag::kInt: {
      int64_t i;
      if (!zigzag(i)) return false;
      v = Value(i);
      return true;
    }
    case ValueTag::kDouble: {
      double d;
      if (!f64(d)) return false;
      v = Value(d);
      return true;
    }
    case ValueTag::kString: {
      std::string_view s;
      if (!length_prefixed(s)) return false;
      v = Value(s);
      return true;
    }
  }
  return fail(ReadError::kBadTag, start, tag);
}

std::string ByteReader::error_message() const {
  std::string at = " at byte " + std::to_string(error_offset_);
  switch (error_) {
    case ReadError::kNone: return "";
    case ReadError::kTruncated: return "truncated" + at;
    case ReadError::kBadVarint: return "bad varint" + at;
    case ReadError::kBadTag: return "unknown value tag " + std::to_string(error_detail_) + at;
    case ReadError::kTooLong:
      return "length " + std::to_string(error_detail_) + " exceeds the " +
             std::to_string(in_.size() - error_offset_ - varint_size(error_detail_)) + " remaining bytes" +
             at;
  }
  return "";
}

namespace {

constexpr char kBase64UrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> make_base64url_table() {
  std::array<int8_t, 256> t{};
  for (auto& x : t) x = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kBase64UrlAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kBase64UrlTable = make_base64url_table();

// Encoding 12 bits at a time: two characters, first in the low byte.
constexpr std::array<uint16_t, 4096> make_pair_table() {
  std::array<uint16_t, 4096> t{};
  for (int i = 0; i < 4096; ++i) {
    t[i] = static_cast<uint16_t>(static_cast<uint8_t>(kBase64UrlAlphabet[i >> 6]) |
                                 static_cast<uint8_t>(kBase64UrlAlphabet[i & 63]) << 8);
  }
  return t;
}
constexpr std::array<uint16_t, 4096> kPairTable = make_pair_table();

// Decoding: one table per position in a 4-character group, each value
// already shifted into place; an invalid character sets bit 24.
constexpr uint32_t kInvalid = 1u << 24;
constexpr std::array<uint32_t, 256> make_shifted_table(int shift) {
  std::array<uint32_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    int8_t d = kBase64UrlTable[c];
    t[c] = d < 0 ? kInvalid : static_cast<uint32_t>(d) << shift;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kDecode0 = make_shifted_table(18);
constexpr std::array<uint32_t, 256> kDecode1 = make_shifted_table(12);
constexpr std::array<uint32_t, 256> kDecode2 = make_shifted_table(6);
constexpr std::array<uint32_t, 256> kDecode3 = make_shifted_table(0);

std::string describe_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("0x") + kHex[u >> 4] + kHex[u & 15];
}

}  // namespace

void base64url_encode(std::string_view in, std::string& out) {
  size_t old = out.size();
  out.resize(old + base64url_encoded_size(in.size()));
  base64url_encode(in, out.data() + old);
}

char* base64url_encode(std::string_view in, char* o) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  size_t n = in.size(), i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t w = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    uint32_t four = uint32_t{kPairTable[w >> 12]} | uint32_t{kPairTable[w & 0xfff]} << 16;
    for (int k = 0; k < 4; ++k) o[k] = static_cast<char>(four >> (8 * k));
    o += 4;
  }
  if (n - i == 1) {
    uint32_t w = uint32_t{p[i]} << 16;
    *o++ = kBase64UrlAlphabet[w >> 18];
    *o++ = kBase64UrlAlphabet[(w >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t w = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    *o++ = kBase64UrlAlphabet[w >> 18];
    *o++ = kBase64UrlAlphabet[(w >> 12) & 63];
    *o++ = kBase64UrlAlphabet[(w >> 6) & 63];
  }
  return o;
}

Result<size_t> base64url_decode(std::string_view text, char* out) {
  // Padding is optional, but when present it must complete a 4-character group.
  if (text.size() % 4 == 0 && !text.empty()) {
    size_t pad = text.back() == '=' ? (text[text.size() - 2] == '=' ? 2 : 1) : 0;
    text.remove_suffix(pad);
  }
  if (text.size() % 4 == 1) return Error("invalid base64url length " + std::to_string(text.size()));
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const int8_t* t = kBase64UrlTable.data();
  size_t n = text.size(), i = 0;
  char* o = out;
  auto bad_char = [&](size_t from) -> Error {
    while (t[p[from]] >= 0) ++from;
    return Error("invalid base64url character " + describe_char(text[from]) + " at offset " +
                 std::to_string(from));
  };
  for (; i + 4 <= n; i += 4) {
    uint32_t w = kDecode0[p[i]] | kDecode1[p[i + 1]] | kDecode2[p[i + 2]] | kDecode3[p[i + 3]];
    if (w & kInvalid) [[unlikely]] {
      return bad_char(i);
    }
    o[0] = static_cast<char>(w >> 16);
    o[1] = static_cast<char>(w >> 8);
    o[2] = static_cast<char>(w);
    o += 3;
  }
  if (size_t rest = n - i; rest > 0) {
    int32_t a = t[p[i]], b = t[p[i + 1]], c = rest == 3 ? t[p[i + 2]] : 0;
    if ((a | b | c) < 0) return bad_char(i);
    uint32_t w = static_cast<uint32_t>(a << 18 | b << 12 | c << 6);
    // Unused low bits of the last character must be zero.
    if (w & (rest == 2 ? 0xffff : 0xff)) return Error("invalid base64url: non-zero trailing bits");
    *o++ = static_cast<char>(w >> 16);
    if (rest == 3) *o++ = static_cast<char>(w >> 8);
  }
  return static_cast<size_t>(o - out);
}

Result<std::string> base64url_decode(std::string_view text) {
  std::string out(base64url_decoded_size(text.size()), '\0');
  Result<size_t> n = base64url_decode(text, out.data());
  if (!n) return n.error();
  out.resize(*n);
  return out;
}

}  // namespace pivot
