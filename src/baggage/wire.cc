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

// Parse errors. Messages are built only when the caller wants them:
// decode() does not, so rejecting a flood of bad input stays cheap.
class Failure {
 public:
  explicit Failure(Error* error) : error_(error) {}

  bool error_wanted() const { return error_ != nullptr; }

  bool fail(const std::string& what) {
    if (error_ != nullptr) *error_ = Error("baggage: " + what);
    return false;
  }
  bool fail_at(const char* what, size_t at) {
    if (error_ == nullptr) return false;
    return fail(std::string(what) + " at byte " + std::to_string(at));
  }
  bool reader(const ByteReader& r) {
    if (error_ == nullptr) return false;
    return fail(r.error_message());
  }
  bool too_many(const char* what, uint64_t n, size_t remaining, size_t at) {
    if (error_ == nullptr) return false;
    return fail(std::string(what) + " " + std::to_string(n) + " too large for " + std::to_string(remaining) +
                " remaining bytes at byte " + std::to_string(at));
  }
  bool too_long(size_t size, size_t limit) {
    if (error_ == nullptr) return false;
    return fail("input too long (" + std::to_string(size) + " bytes, limit " + std::to_string(limit) + ")");
  }
  bool flags(const char* what, uint8_t flags, size_t at) {
    if (error_ == nullptr) return false;
    return fail(std::string(what) + " " + hex_byte(flags) + " at byte " + std::to_string(at));
  }

 private:
  Error* error_;
};

// One entry's fixed fields, as each version lays them out: version 2
// (seq, id), version 1 (id:fixed64, seq, flags). Fails through `f`.
bool read_entry_head(ByteReader& r, uint8_t version, Entry& e, Failure& f) {
  if (version == kWireVersion) {
    if (!r.varint(e.seq) || !r.varint(e.id)) return f.reader(r);
    e.shared = true;  // whoever decodes holds a copy
    return true;
  }
  uint8_t flags = 0;
  if (!r.fixed64(e.id) || !r.varint(e.seq)) return f.reader(r);
  size_t flags_at = r.offset();
  if (!r.u8(flags)) return f.reader(r);
  if (flags & ~kV1SharedFlag) return f.flags("unknown entry flags", flags, flags_at);
  e.shared = (flags & kV1SharedFlag) != 0;
  return true;
}

// Parses the bags of a baggage whose header has been read, into d.
bool read_bags(ByteReader& r, uint8_t version, BagData& d, Failure& f) {
  const size_t min_bag = version == kWireVersion ? kMinBagBytes : kMinBagBytesV1;
  const size_t min_entry = version == kWireVersion ? kMinEntryBytes : kMinEntryBytesV1;
  size_t at = r.offset();
  uint64_t n_bags;
  if (!r.varint(n_bags)) return f.reader(r);
  if (n_bags > r.remaining() / min_bag) return f.too_many("bag count", n_bags, r.remaining(), at);
  const size_t bags_start = r.offset();
  // The values are copied out of the input, so they fit in its size.
  if (r.remaining() > d.arena.capacity()) d.arena.reserve(r.remaining());
  uint64_t prev_bag = 0;
  for (uint64_t b = 0; b < n_bags; ++b) {
    at = r.offset();
    uint64_t bag_id, count;
    if (!r.varint(bag_id)) return f.reader(r);
    if (b > 0 && bag_id <= prev_bag) return f.fail_at("bag ids not ascending", at);
    prev_bag = bag_id;
    at = r.offset();
    if (!r.varint(count)) return f.reader(r);
    if (count == 0) return f.fail_at("empty bag", at);
    if (count > r.remaining() / min_entry) return f.too_many("entry count", count, r.remaining(), at);
    d.entries.reserve(d.entries.size() + count);  // bounded by the input size, checked just above
    for (uint64_t i = 0; i < count; ++i) {
      Entry e{};
      e.bag_id = bag_id;
      at = r.offset();
      if (!read_entry_head(r, version, e, f)) return false;
      if (i > 0 && !entry_less(d.entries.back(), e)) return f.fail_at("entries not in (seq, id) order", at);
      size_t n_at = r.offset();
      uint64_t n_values = 0;
      if (!r.varint(n_values)) return f.reader(r);
      if (n_values > r.remaining()) return f.too_many("value count", n_values, r.remaining(), n_at);
      size_t start = r.offset();
      for (uint64_t v = 0; v < n_values; ++v) {
        if (!r.skip_value()) return f.reader(r);
      }
      e.n_values = static_cast<uint32_t>(n_values);
      e.offset = static_cast<uint32_t>(d.arena.size());
      e.size = static_cast<uint32_t>(r.offset() - start);
      d.arena.append(r.input().data() + start, e.size);
      d.entries.push_back(e);
      if (e.seq > d.max_seq) d.max_seq = e.seq;
    }
  }
  if (!r.at_end()) {
    return f.error_wanted() ? f.fail(std::to_string(r.remaining()) + " trailing bytes at byte " +
                                     std::to_string(r.offset()))
                            : false;
  }
  if (version == kWireVersion) {
    // Varints are minimal, so the input's bags are exactly as long as their
    // encoding.
    d.body = r.offset() - bags_start;
    d.n_bags = static_cast<uint32_t>(n_bags);
  } else {
    recount(d);  // re-encoded as version 2, whose entries are shorter
  }
  return true;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

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
      p = put_varint(p, e.seq);
      p = put_varint(p, e.id);
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

namespace {

// d's binary encoding in `stack`, or in `heap` when it does not fit:
// small baggage (the common case) is encoded without allocating.
std::string_view binary_on_stack(const BagData& d, char (&stack)[512], std::string& heap) {
  size_t n = d.bytes();
  char* buf = stack;
  if (n > sizeof stack) {
    heap.resize(n);
    buf = heap.data();
  }
  [[maybe_unused]] char* end = write_binary_to(d, buf);
  assert(end == buf + n);
  return std::string_view(buf, n);
}

}  // namespace

const KeptEncoding* kept_encoding(const BagData& d) noexcept {
  KeptEncoding& k = d.kept;
  if (k.valid) {
#ifndef NDEBUG
    char stack[512];
    std::string heap;
    assert(binary_on_stack(d, stack, heap) == k.view() &&
           "a kept encoding outlived a change: a writer skipped own()");
#endif
    return &k;
  }
  size_t n = d.bytes();
  if (n > KeptEncoding::kCapacity || !sole_holder(d)) return nullptr;
  [[maybe_unused]] char* end = write_binary_to(d, k.bytes);
  assert(end == k.bytes + n);
  k.size = static_cast<uint32_t>(n);
  k.valid = true;
  return &k;
}

void write_text(const BagData& d, std::string& out) {
  char stack[512];
  std::string heap;
  std::string_view binary = binary_on_stack(d, stack, heap);
  out.resize(base64url_encoded_size(binary.size()));
  base64url_encode(binary, out.data());
}

namespace {

// read_binary past its length checks: parses into d, an empty BagData from
// make_bag_data() (whose kept encoding's buffer `bytes` may be).
[[gnu::always_inline]] inline bool parse_binary(std::string_view bytes, size_t cap, BagPtr& d, BagPtr& out,
                                                Failure& f) {
  ByteReader r(bytes);
  uint8_t version = 0, flags = 0;
  if (!r.u8(version)) return f.reader(r);
  if (version != kWireVersion && version != kWireVersion1) {
    return f.error_wanted() ? f.fail("unknown version " + std::to_string(version)) : false;
  }
  if (!r.u8(flags)) return f.reader(r);
  if (flags & ~kOverflowFlag) return f.flags("unknown flags", flags, 1);
  d->overflow = (flags & kOverflowFlag) != 0;
  if (!read_bags(r, version, *d, f)) return false;
  if (d->empty()) return true;
  if (d->bytes() > cap) {
    shrink_to_cap(*d, cap);
  } else if (version == kWireVersion) {
    // Version 2 is canonical (minimal varints, sorted entries), so these
    // bytes are what encoding would give; a decoded baggage is often sent
    // on unchanged.
    d->kept.keep(bytes);
  }
  out = std::move(d);
  return true;
}

}  // namespace

bool read_binary(std::string_view bytes, size_t cap, BagPtr& out, Error* error) {
  Failure f(error);
  out.reset();
  if (bytes.size() > kMaxBinaryBytes) return f.too_long(bytes.size(), kMaxBinaryBytes);
  if (bytes.empty()) return true;
  BagPtr d = make_bag_data();
  return parse_binary(bytes, cap, d, out, f);
}

bool read_text(std::string_view text, size_t cap, BagPtr& out, Error* error) {
  Failure f(error);
  out.reset();
  if (text.size() > kMaxTextBytes) return f.too_long(text.size(), kMaxTextBytes);
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.empty()) return true;

  // Small baggage (the common case) decodes into the buffer that keeps its
  // encoding, else through the stack.
  BagPtr d = make_bag_data();
  char stack[512];
  std::string heap;
  size_t room = base64url_decoded_size(text.size());
  char* buf = d->kept.bytes;
  if (room > KeptEncoding::kCapacity) {
    buf = stack;
    if (room > sizeof stack) {
      heap.resize(room);
      buf = heap.data();
    }
  }
  Result<size_t> n = base64url_decode(text, buf);
  if (!n) return f.error_wanted() ? f.fail(n.error().message()) : false;
  if (*n == 0) return true;
  return parse_binary(std::string_view(buf, *n), cap, d, out, f);
}

}  // namespace pivot::internal
