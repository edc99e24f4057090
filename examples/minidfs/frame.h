// minidfs wire framing: how every RPC message travels over TCP.
//
// A frame is a small binary envelope: a fixed 12-byte prefix, a block of
// string headers, then an opaque body.
//
//   offset  size  field
//   0       2     magic "MD"
//   2       1     version, kFrameVersion
//   3       1     kind: 1 request, 2 response, 3 data (a chunk of block bytes)
//   4       4     header block size in bytes, big-endian
//   8       4     body size in bytes, big-endian
//   12      ...   header block: entries of  u16 key size, key, u16 value size, value
//   ...     ...   body
//
// Requests carry "op", "baggage" (pivot::baggage::encode_binary() of the
// caller; absent when empty) and op arguments; responses carry "status"
// ("ok" or "error"), "message" on error, and the server's "baggage" (absent
// when empty or what the request carried; rpc.h). ReadBlock answers with data frames followed by one response
// frame.
//
// Everything read from a socket is untrusted: decode_frame() checks magic,
// version, kind, every size against the limits below, key syntax and
// duplicate keys, and answers bad input with an error, never a crash.
//
//   minidfs::Frame f{minidfs::FrameKind::kRequest};
//   f.set("op", "GetBlockLocations");
//   auto bytes = minidfs::encode_frame(f);      // Result<std::string>
//   auto back = minidfs::decode_frame(*bytes);  // Result<Frame>
//
// Thread safety: plain values and free functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pivot/result.h"

namespace minidfs {

inline constexpr uint8_t kFrameVersion = 1;
inline constexpr size_t kFramePrefixBytes = 12;
inline constexpr size_t kMaxHeaderBlockBytes = 64 * 1024;
inline constexpr size_t kMaxHeaderEntries = 64;
inline constexpr size_t kMaxKeyBytes = 64;
inline constexpr size_t kMaxBodyBytes = 1024 * 1024;

enum class FrameKind : uint8_t { kRequest = 1, kResponse = 2, kData = 3 };

struct Frame {
  FrameKind kind = FrameKind::kRequest;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The value of `key`, "" when absent.
  std::string_view get(std::string_view key) const;
  bool has(std::string_view key) const;
  // Replaces the value of `key`, or appends it.
  void set(std::string_view key, std::string_view value);
};

// The sizes a frame prefix announces, already checked against the limits.
struct FramePrefix {
  FrameKind kind;
  uint32_t header_bytes;
  uint32_t body_bytes;
};

pivot::Result<FramePrefix> decode_prefix(std::string_view prefix);
// Decodes exactly one whole frame; trailing bytes are an error.
pivot::Result<Frame> decode_frame(std::string_view bytes);
// Fails when the frame exceeds a limit or has a bad key.
pivot::Result<std::string> encode_frame(const Frame& frame);

// Convenience constructors.
Frame make_request(std::string_view op);
Frame make_ok_response();
Frame make_error_response(std::string_view message);

}  // namespace minidfs
