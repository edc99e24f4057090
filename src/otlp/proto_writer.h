// A protocol buffers wire-format writer for the few OTLP messages pivot
// sends (otlp/otlp_encode.h). Not public API.
//
//   ProtoWriter w;
//   size_t span = w.begin(2);        // a nested message in field 2
//   w.bytes_field(1, trace_id);      // length-delimited (wire type 2)
//   w.fixed64_field(7, start_ns);    // wire type 1
//   w.varint_field(6, 1);            // wire type 0
//   w.end(span);                     // writes the message's length before it
//   std::string body = w.take();
//
// Why not libprotobuf: the exporter sends two request types and a dozen
// message kinds, all append-only; a hand-written writer needs no .proto
// files, no generated code and no protoc at build time, and no library that
// every consumer of libpivot would then link. The tests decode what it
// writes with protoc and the official opentelemetry-proto definitions.
//
// Encoding follows https://protobuf.dev/programming-guides/encoding/:
// minimal varints, little-endian fixed64, and a nested message's length
// as a minimal varint (end() moves the message's bytes to make room).
//
// Thread safety: a plain value; one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pivot::otlp {

class ProtoWriter {
 public:
  // Wire type 0: int32, int64, uint32, uint64, bool, enum.
  void varint_field(uint32_t field, uint64_t v);
  // Wire type 1: fixed64, sfixed64, double.
  void fixed64_field(uint32_t field, uint64_t v);
  void double_field(uint32_t field, double v);
  // Wire type 2: string, bytes.
  void bytes_field(uint32_t field, std::string_view s);

  // A nested message in `field`; returns the mark end() takes. Marks nest:
  // end them innermost first.
  [[nodiscard]] size_t begin(uint32_t field);
  void end(size_t mark);

  const std::string& bytes() const noexcept { return out_; }
  size_t size() const noexcept { return out_.size(); }
  std::string take() noexcept { return std::move(out_); }
  void clear() noexcept { out_.clear(); }

 private:
  void tag(uint32_t field, uint32_t wire_type);
  void varint(uint64_t v);

  std::string out_;
};

}  // namespace pivot::otlp
