// pivot's member of the W3C `baggage` header: inject_header, extract_header
// (pivot/baggage.h). The header's grammar is in w3c_header.h.
#include <string>
#include <vector>

#include "baggage/bag_data.h"
#include "baggage/w3c_header.h"
#include "core/codec.h"
#include "pivot/baggage.h"

namespace pivot::baggage {
namespace {

using internal::HeaderMember;

bool is_pivot_key(const HeaderMember& m) { return m.key == kMemberKey; }

// The current baggage, shrunk as the byte cap would shrink it so that its
// text is at most `chars` long, and marked overflowed; "" when not even the
// overflow mark fits. Only a baggage too big for its header gets here.
std::string text_within(size_t chars) {
  const size_t cap = base64url_decoded_size(chars);
  try {
    Baggage b = fork();
    internal::BagPtr& p = internal::BagAccess::data(b);
    if (p == nullptr) return std::string();
    internal::BagData* d = &internal::own(p);
    d->overflow = true;
    internal::shrink_to_cap(*d, cap);
    if (d->bytes() > cap) return std::string();  // the bare overflow mark is 3 bytes
    return encode(b);
  } catch (...) {
    return std::string();  // out of memory: the member is left out
  }
}

}  // namespace

std::string inject_header(std::string_view header, bool* complete) {
  if (complete != nullptr) *complete = true;
  std::string text = encode();

  // The other members, kept as they are, and where pivot's goes: where the
  // first pivot member was, else last. Later pivot members are dropped.
  std::vector<std::string_view> others;
  size_t others_bytes = 0;
  size_t pivot_at = SIZE_MAX;
  size_t pos = 0;
  HeaderMember m;
  while (internal::next_member(header, pos, m)) {
    if (is_pivot_key(m)) {
      if (pivot_at == SIZE_MAX) pivot_at = others.size();
      continue;
    }
    others.push_back(m.text);
    others_bytes += m.text.size();
  }
  if (pivot_at == SIZE_MAX && text.empty()) return std::string(header);  // nothing of pivot's either way
  if (pivot_at == SIZE_MAX) pivot_at = others.size();

  if (!text.empty()) {
    // Bytes left for "pivot=<text>" with one "," per other member.
    const size_t used = others_bytes + others.size();
    size_t room = used < internal::kW3cMaxHeaderBytes ? internal::kW3cMaxHeaderBytes - used : 0;
    if (others.size() + 1 > internal::kW3cMaxMembers) room = 0;
    const size_t key_bytes = kMemberKey.size() + 1;
    if (key_bytes + text.size() > room) {
      if (complete != nullptr) *complete = false;
      text = room > key_bytes ? text_within(room - key_bytes) : std::string();
    }
  }

  std::string out;
  out.reserve(others_bytes + others.size() + kMemberKey.size() + 1 + text.size());
  auto add = [&out](std::string_view member) {
    if (!out.empty()) out += ',';
    out += member;
  };
  for (size_t i = 0; i <= others.size(); ++i) {
    if (i == pivot_at && !text.empty()) {
      add(kMemberKey);
      out += '=';
      out += text;
    }
    if (i < others.size()) add(others[i]);
  }
  return out;
}

Result<Baggage> try_extract_header(std::string_view header) {
  size_t pos = 0;
  HeaderMember m;
  while (internal::next_member(header, pos, m)) {
    if (!is_pivot_key(m)) continue;
    if (!m.has_value) return Error("baggage header: member 'pivot' has no '='");
    if (m.value.find('%') == std::string_view::npos) return try_decode(m.value);
    std::string value;
    size_t bad_at = 0;
    if (!internal::percent_decode(m.value, value, &bad_at)) {
      return Error("baggage header: bad percent-encoding at offset " + std::to_string(bad_at) +
                   " of pivot's value");
    }
    return try_decode(value);
  }
  return Baggage();
}

Baggage extract_header(std::string_view header) noexcept {
  try {
    size_t pos = 0;
    HeaderMember m;
    while (internal::next_member(header, pos, m)) {
      if (!is_pivot_key(m)) continue;
      if (m.has_value) {
        if (m.value.find('%') == std::string_view::npos) return decode(m.value);  // counts its own errors
        std::string value;
        if (internal::percent_decode(m.value, value, nullptr)) return decode(value);
      }
      internal::count_decode_error();
      return Baggage();
    }
  } catch (...) {
    internal::count_decode_error();  // out of memory while percent-decoding
  }
  return Baggage();
}

}  // namespace pivot::baggage
