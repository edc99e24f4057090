#include "baggage/wire.h"

#include <cassert>
#include <cstdio>
#include <cstring>

namespace pivot::internal {

namespace {

std::string hex_byte(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b);
  return buf;
}

Error fail(const std::string& what) { return Error("baggage: " + what); }
Error fail_at(const std::string& what, size_t at) { return fail(what + " at byte " + std::to_string(at)); }
Error too_many(const char* what, uint64_t n, size_t remaining, size_t at) {
  return fail_at(std::string(what) + " " + std::to_string(n) + " too large for " + std::to_string(remaining) +
                     " remaining bytes",
                 at);
}

// Parses the bags of a baggage whose header has been read.
Result<BagPtr> read_bags(ByteReader& r, BagPtr d) {
  size_t at = r.offset();
  uint64_t n_bags;
  if (!r.varint(n_bags)) return fail(r.error_message());
  if (n_bags > r.remaining() / kMinBagBytes) return too_many("bag count", n_bags, r.remaining(), at);
  uint64_t prev_bag = 0;
  for (uint64_t b = 0; b < n_bags; ++b) {
    at = r.offset();
    uint64_t bag_id, count;
    if (!r.varint(bag_id)) break;
    if (b > 0 && bag_id <= prev_bag) return fail_at("bag ids not ascending", at);
    prev_bag = bag_id;
    at = r.offset();
    if (!r.varint(count)) break;
    if (count == 0) return fail_at("empty bag", at);
    if (count > r.remaining() / kMinEntryBytes) return too_many("entry count", count, r.remaining(), at);
    for (uint64_t i = 0; i < count; ++i) {
      Entry e{};
      e.bag_id = bag_id;
      at = r.offset();
      uint8_t flags = 0;
      uint64_t n_values = 0;
      if (!r.fixed64(e.id) || !r.varint(e.seq)) break;
      size_t flags_at = r.offset();
      if (!r.u8(flags)) break;
      if (flags & ~kSharedFlag) return fail_at("unknown entry flags " + hex_byte(flags), flags_at);
      if (i > 0 && !entry_less(d->entries.back(), e)) return fail_at("entries not in (seq, id) order", at);
      size_t n_at = r.offset();
      if (!r.varint(n_values)) break;
      if (n_values > r.remaining()) return too_many("value count", n_values, r.remaining(), n_at);
      size_t start = r.offset();
      for (uint64_t v = 0; v < n_values && r.skip_value();) ++v;
      if (!r.ok()) break;
      e.shared = (flags & kSharedFlag) != 0;
      e.n_values = static_cast<uint32_t>(n_values);
      e.offset = static_cast<uint32_t>(d->arena.size());
      e.size = static_cast<uint32_t>(r.offset() - start);
      d->arena.append(r.input().substr(start, e.size));
      d->entries.push_back(e);
      if (e.seq > d->max_seq) d->max_seq = e.seq;
    }
    if (!r.ok()) break;
  }
  if (!r.ok()) return fail(r.error_message());
  if (!r.at_end()) return fail_at(std::to_string(r.remaining()) + " trailing bytes", r.offset());
  return d;
}

}  // namespace

char* write_binary_to(const BagData& d, char* p) noexcept {
  if (d.empty()) return p;
  *p++ = static_cast<char>(kWireVersion);
  *p++ = static_cast<char>(d.overflow ? kOverflowFlag : 0);
  p = put_varint(p, d.n_bags);
  const std::vector<Entry>& es = d.entries;
  for (size_t i = 0; i < es.size();) {
    size_t j = i;
    while (j < es.size() && es[j].bag_id == es[i].bag_id) ++j;
    p = put_varint(p, es[i].bag_id);
    p = put_varint(p, j - i);
    for (; i < j; ++i) {
      const Entry& e = es[i];
      p = put_fixed64(p, e.id);
      p = put_varint(p, e.seq);
      *p++ = static_cast<char>(kSharedFlag);
      p = put_varint(p, e.n_values);
      std::memcpy(p, d.arena.data() + e.offset, e.size);
      p += e.size;
    }
  }
  return p;
}

void write_binary(const BagData& d, std::string& out) {
  size_t old = out.size();
  out.resize(old + d.bytes());
  [[maybe_unused]] char* end = write_binary_to(d, out.data() + old);
  assert(end == out.data() + out.size());
}

std::string write_text(const BagData& d) {
  // Small baggage (the common case) goes through the stack.
  size_t n = d.bytes();
  char stack[512];
  std::string heap;
  char* buf = stack;
  if (n > sizeof stack) {
    heap.resize(n);
    buf = heap.data();
  }
  [[maybe_unused]] char* end = write_binary_to(d, buf);
  assert(end == buf + n);
  std::string out(base64url_encoded_size(n), '\0');
  base64url_encode(std::string_view(buf, n), out.data());
  return out;
}

Result<BagPtr> read_binary(std::string_view bytes, size_t cap) {
  if (bytes.size() > kMaxBinaryBytes) {
    return fail("input too long (" + std::to_string(bytes.size()) + " bytes, limit " +
                std::to_string(kMaxBinaryBytes) + ")");
  }
  if (bytes.empty()) return BagPtr();
  ByteReader r(bytes);
  uint8_t version = 0, flags = 0;
  if (!r.u8(version)) return fail(r.error_message());
  if (version != kWireVersion) return fail("unknown version " + std::to_string(version));
  if (!r.u8(flags)) return fail(r.error_message());
  if (flags & ~kOverflowFlag) return fail_at("unknown flags " + hex_byte(flags), 1);
  BagPtr d = make_bag_data();
  d->overflow = (flags & kOverflowFlag) != 0;
  Result<BagPtr> parsed = read_bags(r, std::move(d));
  if (!parsed) return parsed;
  BagData& got = **parsed;
  if (got.empty()) return BagPtr();
  recount(got);
  shrink_to_cap(got, cap);
  return parsed;
}

Result<BagPtr> read_text(std::string_view text, size_t cap) {
  if (text.size() > kMaxTextBytes) {
    return fail("input too long (" + std::to_string(text.size()) + " bytes, limit " +
                std::to_string(kMaxTextBytes) + ")");
  }
  constexpr std::string_view kSpace = " \t\r\n";
  size_t b = text.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return BagPtr();
  text = text.substr(b, text.find_last_not_of(kSpace) - b + 1);

  // Small baggage (the common case) decodes through the stack.
  char stack[512];
  std::string heap;
  size_t room = base64url_decoded_size(text.size());
  char* buf = stack;
  if (room > sizeof stack) {
    heap.resize(room);
    buf = heap.data();
  }
  Result<size_t> n = base64url_decode(text, buf);
  if (!n) return fail(n.error().message());
  return read_binary(std::string_view(buf, *n), cap);
}

}  // namespace pivot::internal
