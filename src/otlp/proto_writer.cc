#include "otlp/proto_writer.h"

#include <bit>

#include "core/codec.h"

namespace pivot::otlp {
namespace {

constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;

}  // namespace

void ProtoWriter::tag(uint32_t field, uint32_t wire_type) { varint((uint64_t{field} << 3) | wire_type); }

void ProtoWriter::varint(uint64_t v) { ByteWriter(out_).varint(v); }

void ProtoWriter::varint_field(uint32_t field, uint64_t v) {
  tag(field, kVarint);
  varint(v);
}

void ProtoWriter::fixed64_field(uint32_t field, uint64_t v) {
  tag(field, kFixed64);
  ByteWriter(out_).fixed64(v);
}

void ProtoWriter::double_field(uint32_t field, double v) { fixed64_field(field, std::bit_cast<uint64_t>(v)); }

void ProtoWriter::bytes_field(uint32_t field, std::string_view s) {
  tag(field, kLengthDelimited);
  varint(s.size());
  out_.append(s);
}

size_t ProtoWriter::begin(uint32_t field) {
  tag(field, kLengthDelimited);
  return out_.size();
}

void ProtoWriter::end(size_t mark) {
  // The length goes between the tag and the message: a minimal varint
  // cannot be sized before the message is written, so the message moves
  // by the varint's size (one byte for messages under 128 bytes).
  std::string length;
  ByteWriter(length).varint(out_.size() - mark);
  out_.insert(mark, length);
}

}  // namespace pivot::otlp
