// Binary building blocks shared by every pivot wire format (baggage today,
// transport messages later): LEB128 varints, zigzag, little-endian fixed64
// and doubles, tagged pivot::Values, and base64url text.
//
//   std::string out;
//   pivot::ByteWriter w(out);
//   w.varint(300);
//   w.value(pivot::Value("GET"));
//
//   pivot::ByteReader r(out);
//   uint64_t n;
//   pivot::Value v;
//   if (!r.varint(n) || !r.value(v)) return Error("msg: " + r.error_message());
//
// ByteWriter only appends. ByteReader never reads past the end of its input:
// every read checks the remaining bytes first, and the first failure sticks
// (later reads fail too) with its kind and the offset of the field that
// failed, so a decoder can report "truncated at byte 17" without
// bookkeeping of its own. Varints must be minimal (no redundant 0x80
// continuation bytes), so a valid encoding has exactly one spelling.
//
// Value encoding: a tag byte, then the payload.
//   0x00 null   0x01 false   0x02 true
//   0x03 int    zigzag varint
//   0x04 double 8 bytes, IEEE 754 bits little-endian
//   0x05 string varint byte length, then the bytes
//
// Thread safety: plain values; one writer or reader per thread.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "pivot/result.h"
#include "pivot/value.h"

namespace pivot {

enum class ValueTag : uint8_t {
  kNull = 0,
  kFalse = 1,
  kTrue = 2,
  kInt = 3,
  kDouble = 4,
  kString = 5,
};

// Encoded sizes, for callers that account bytes without encoding.
constexpr size_t varint_size(uint64_t v) noexcept {
  // 1 + (bits - 1) / 7, for bits = bit width of v (at least 1).
  return (static_cast<size_t>(std::bit_width(v | 1)) * 9 + 64) / 64;
}
constexpr uint64_t zigzag_encode(int64_t v) noexcept {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
constexpr int64_t zigzag_decode(uint64_t v) noexcept {
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}
size_t value_size(const Value& v) noexcept;

// Raw puts for callers that know the exact size up front and write into a
// buffer they sized: each writes at p and returns the end.
inline char* put_varint(char* p, uint64_t v) noexcept {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
inline char* put_fixed64(char* p, uint64_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(p, &v, 8);
  } else {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
  }
  return p + 8;
}
// Writes value_size(v) bytes.
char* put_value(char* p, const Value& v) noexcept;
inline uint64_t get_fixed64(const char* p) noexcept {
  uint64_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, 8);
  } else {
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  }
  return v;
}

class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) noexcept : out_(out) {}

  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void varint(uint64_t v) {
    if (v < 0x80) {
      out_.push_back(static_cast<char>(v));
    } else {
      varint_long(v);
    }
  }
  void zigzag(int64_t v) { varint(zigzag_encode(v)); }
  void fixed64(uint64_t v) {
    char buf[8];
    out_.append(buf, put_fixed64(buf, v) - buf);
  }
  void f64(double v);
  void bytes(std::string_view s) { out_.append(s); }
  // Varint length, then the bytes.
  void length_prefixed(std::string_view s);
  void value(const Value& v);

  size_t size() const noexcept { return out_.size(); }

 private:
  void varint_long(uint64_t v);

  std::string& out_;
};

enum class ReadError : uint8_t {
  kNone,
  kTruncated,  // the field runs past the end of the input
  kBadVarint,  // more than 10 bytes, more than 64 bits, or not minimal
  kBadTag,     // unknown value tag (detail: the tag)
  kTooLong,    // a length prefix larger than the remaining bytes (detail: the length)
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) noexcept : in_(in) {}

  // Each returns false, leaving `v` unspecified, if the reader has failed
  // before or fails now.
  bool u8(uint8_t& v) noexcept {
    if (!ok()) [[unlikely]]
      return false;
    if (pos_ >= in_.size()) [[unlikely]]
      return fail(ReadError::kTruncated, pos_);
    v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool varint(uint64_t& v) noexcept {
    if (ok() && pos_ < in_.size() && static_cast<uint8_t>(in_[pos_]) < 0x80) [[likely]] {
      v = static_cast<uint8_t>(in_[pos_++]);
      return true;
    }
    return varint_long(v);
  }
  bool zigzag(int64_t& v) noexcept;
  bool fixed64(uint64_t& v) noexcept {
    if (!ok()) [[unlikely]]
      return false;
    if (remaining() < 8) [[unlikely]]
      return fail(ReadError::kTruncated, pos_);
    v = get_fixed64(in_.data() + pos_);
    pos_ += 8;
    return true;
  }
  bool f64(double& v) noexcept;
  bool bytes(size_t n, std::string_view& v) noexcept;
  bool length_prefixed(std::string_view& v) noexcept {
    size_t start = pos_;
    uint64_t n;
    if (!varint(n)) return false;
    if (n > remaining()) [[unlikely]]
      return fail(ReadError::kTooLong, start, n);
    v = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // Allocates for strings longer than the small-string buffer; may throw
  // std::bad_alloc like any Value construction.
  bool value(Value& v);
  // Checks one encoded value and steps over it, without building it.
  bool skip_value() noexcept {
    size_t start = pos_;
    uint8_t tag = 0;
    if (!u8(tag)) return false;
    uint64_t scratch;
    std::string_view s;
    switch (static_cast<ValueTag>(tag)) {
      case ValueTag::kNull:
      case ValueTag::kFalse:
      case ValueTag::kTrue: return true;
      case ValueTag::kInt: return varint(scratch);
      case ValueTag::kDouble: return fixed64(scratch);
      case ValueTag::kString: return length_prefixed(s);
    }
    return fail(ReadError::kBadTag, start, tag);
  }

  size_t offset() const noexcept { return pos_; }
  size_t remaining() const noexcept { return in_.size() - pos_; }
  bool at_end() const noexcept { return pos_ == in_.size(); }
  bool ok() const noexcept { return error_ == ReadError::kNone; }
  std::string_view input() const noexcept { return in_; }

  ReadError error() const noexcept { return error_; }
  // Offset of the field whose read failed.
  size_t error_offset() const noexcept { return error_offset_; }
  // "truncated at byte 17", "bad varint at byte 3", "unknown value tag 9 at
  // byte 4", "length 1000 exceeds the 3 remaining bytes at byte 20"; "" if ok.
  std::string error_message() const;

 private:
  bool fail(ReadError e, size_t at, uint64_t detail = 0) noexcept;
  bool varint_long(uint64_t& v) noexcept;

  std::string_view in_;
  size_t pos_ = 0;
  ReadError error_ = ReadError::kNone;
  size_t error_offset_ = 0;
  uint64_t error_detail_ = 0;
};

// base64url (RFC 4648 section 5) without padding: A-Z a-z 0-9 - _ only, so
// the text is safe in URLs, HTTP header values and W3C baggage members.
constexpr size_t base64url_encoded_size(size_t n) noexcept { return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0); }
// The decoded size of `n` characters of valid input (rounding down).
constexpr size_t base64url_decoded_size(size_t n) noexcept { return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0); }

// Appends the encoding of `in` to `out`. `in` must not point into `out`.
void base64url_encode(std::string_view in, std::string& out);
// Writes the encoding of `in` (base64url_encoded_size(in.size()) chars) at
// `out`, a buffer that does not overlap `in`; returns the end.
char* base64url_encode(std::string_view in, char* out) noexcept;

// Decodes `text` into `out`, which has room for
// base64url_decoded_size(text.size()) bytes; returns the bytes written.
// Accepts "=" padding to a multiple of 4 characters; rejects any other
// character, a length of 1 mod 4, and non-zero unused bits in the last
// character (so each byte string has one spelling). Errors read
// "invalid base64url character '%' at offset 3", "invalid base64url
// length 5", "invalid base64url: non-zero trailing bits".
Result<size_t> base64url_decode(std::string_view text, char* out);
Result<std::string> base64url_decode(std::string_view text);

}  // namespace pivot
