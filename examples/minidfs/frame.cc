#include "frame.h"

#include <array>
#include <cstring>
#include <string>

namespace minidfs {
namespace {

constexpr char kMagic[2] = {'M', 'D'};

char* put_u16(char* p, size_t v) {
  p[0] = static_cast<char>((v >> 8) & 0xff);
  p[1] = static_cast<char>(v & 0xff);
  return p + 2;
}

char* put_u32(char* p, size_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) *p++ = static_cast<char>((v >> shift) & 0xff);
  return p;
}

char* put_bytes(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

uint32_t get_u16(std::string_view s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 8) | static_cast<uint8_t>(s[at + 1]);
}

uint32_t get_u32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

// The characters a key may hold: [A-Za-z0-9._-].
constexpr std::array<bool, 256> kKeyChars = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  }
  return t;
}();

bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) return false;
  for (char c : key) {
    if (!kKeyChars[static_cast<uint8_t>(c)]) return false;
  }
  return true;
}

pivot::Error frame_error(const std::string& what) { return pivot::Error("bad frame: " + what); }

// Parses the header block into `out`.
pivot::Status decode_headers(std::string_view block, Frame& out) {
  // Room for a usual frame's headers at once, rather than growing the
  // vector entry by entry; kept small (512 bytes), since malloc serves
  // bigger blocks on a slower path.
  out.headers.reserve(8);
  size_t at = 0;
  while (at < block.size()) {
    if (out.headers.size() == kMaxHeaderEntries) return frame_error("more than 64 header entries");
    if (block.size() - at < 2) return frame_error("truncated header key size");
    size_t key_size = get_u16(block, at);
    at += 2;
    if (block.size() - at < key_size) return frame_error("header key overruns the header block");
    std::string_view key = block.substr(at, key_size);
    at += key_size;
    if (!valid_key(key)) return frame_error("header key is not 1-64 characters of [A-Za-z0-9._-]");
    if (out.has(key)) return frame_error("duplicate header key \"" + std::string(key) + "\"");
    if (block.size() - at < 2) return frame_error("truncated header value size");
    size_t value_size = get_u16(block, at);
    at += 2;
    if (block.size() - at < value_size) return frame_error("header value overruns the header block");
    out.headers.emplace_back(std::string(key), std::string(block.substr(at, value_size)));
    at += value_size;
  }
  return pivot::Status::Ok();
}

}  // namespace

std::string_view Frame::get(std::string_view key) const {
  for (const auto& [k, v] : headers) {
    if (k == key) return v;
  }
  return {};
}

bool Frame::has(std::string_view key) const {
  for (const auto& [k, v] : headers) {
    if (k == key) return true;
  }
  return false;
}

void Frame::set(std::string_view key, std::string_view value) {
  for (auto& [k, v] : headers) {
    if (k == key) {
      v = value;
      return;
    }
  }
  headers.emplace_back(std::string(key), std::string(value));
}

pivot::Result<FramePrefix> decode_prefix(std::string_view prefix) {
  if (prefix.size() != kFramePrefixBytes) return frame_error("prefix is not 12 bytes");
  if (prefix[0] != kMagic[0] || prefix[1] != kMagic[1]) return frame_error("bad magic");
  if (static_cast<uint8_t>(prefix[2]) != kFrameVersion) {
    return frame_error("unsupported version " + std::to_string(static_cast<uint8_t>(prefix[2])));
  }
  uint8_t kind = static_cast<uint8_t>(prefix[3]);
  if (kind < 1 || kind > 3) return frame_error("unknown kind " + std::to_string(kind));
  FramePrefix p{static_cast<FrameKind>(kind), get_u32(prefix, 4), get_u32(prefix, 8)};
  if (p.header_bytes > kMaxHeaderBlockBytes) return frame_error("header block larger than 64 KiB");
  if (p.body_bytes > kMaxBodyBytes) return frame_error("body larger than 1 MiB");
  return p;
}

pivot::Result<Frame> decode_frame(std::string_view bytes) {
  if (bytes.size() < kFramePrefixBytes) return frame_error("shorter than its 12-byte prefix");
  auto prefix = decode_prefix(bytes.substr(0, kFramePrefixBytes));
  if (!prefix) return prefix.error();
  size_t want = kFramePrefixBytes + size_t{prefix->header_bytes} + size_t{prefix->body_bytes};
  if (bytes.size() < want) return frame_error("truncated");
  if (bytes.size() > want) return frame_error("trailing bytes after the body");
  Frame f;
  f.kind = prefix->kind;
  if (auto s = decode_headers(bytes.substr(kFramePrefixBytes, prefix->header_bytes), f); !s) return s.error();
  f.body.assign(bytes.substr(kFramePrefixBytes + prefix->header_bytes));
  return f;
}

pivot::Result<std::string> encode_frame(const Frame& frame) {
  if (frame.headers.size() > kMaxHeaderEntries) return frame_error("more than 64 header entries");
  size_t block = 0;
  for (const auto& [k, v] : frame.headers) {
    if (!valid_key(k))
      return frame_error("header key \"" + k + "\" is not 1-64 characters of [A-Za-z0-9._-]");
    if (v.size() > 0xffff) return frame_error("header \"" + k + "\" value larger than 65535 bytes");
    block += 2 + k.size() + 2 + v.size();
  }
  if (block > kMaxHeaderBlockBytes) return frame_error("header block larger than 64 KiB");
  if (frame.body.size() > kMaxBodyBytes) return frame_error("body larger than 1 MiB");
  // One allocation: the prefix and the headers written in place, then the body.
  std::string out;
  out.reserve(kFramePrefixBytes + block + frame.body.size());
  out.resize(kFramePrefixBytes + block);
  char* p = out.data();
  *p++ = kMagic[0];
  *p++ = kMagic[1];
  *p++ = static_cast<char>(kFrameVersion);
  *p++ = static_cast<char>(frame.kind);
  p = put_u32(p, block);
  p = put_u32(p, frame.body.size());
  for (const auto& [k, v] : frame.headers) {
    p = put_bytes(put_u16(p, k.size()), k);
    p = put_bytes(put_u16(p, v.size()), v);
  }
  out += frame.body;
  return out;
}

Frame make_request(std::string_view op) {
  Frame f;
  f.kind = FrameKind::kRequest;
  f.set("op", op);
  return f;
}

Frame make_ok_response() {
  Frame f;
  f.kind = FrameKind::kResponse;
  f.set("status", "ok");
  return f;
}

Frame make_error_response(std::string_view message) {
  Frame f;
  f.kind = FrameKind::kResponse;
  f.set("status", "error");
  f.set("message", message.substr(0, 4096));
  return f;
}

}  // namespace minidfs
