// Reading a W3C `baggage` header (https://www.w3.org/TR/baggage/) just far
// enough to find and replace pivot's list-member, leaving every other member
// as the bytes it was:
//
//   baggage-string = list-member 0*179( OWS "," OWS list-member )
//   list-member    = key OWS "=" OWS value *( OWS ";" OWS property )
//
// The scanner does not validate members it is not asked about: a member
// that is not pivot's is someone else's, and is passed on untouched even
// when it breaks the grammar. It allocates nothing.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pivot::internal {

// The W3C limits for a whole header.
inline constexpr size_t kW3cMaxHeaderBytes = 8192;
inline constexpr size_t kW3cMaxMembers = 180;

// One list-member, as views into the header.
struct HeaderMember {
  std::string_view text;   // the member, without the OWS around it
  std::string_view key;    // before the first '=' (or ';' when there is none), OWS trimmed
  std::string_view value;  // after the '=', up to the first ';', OWS trimmed
  bool has_value = false;  // there was an '='
};

// Reads the next non-empty member at or after `pos` (a byte offset into
// `header`), and moves `pos` past it and its comma. Empty slices (",,", a
// trailing ",") are skipped. False when no member is left.
bool next_member(std::string_view header, size_t& pos, HeaderMember& out) noexcept;

// s without the optional whitespace (spaces and tabs, RFC 7230) around it,
// as W3C headers allow it around their fields.
std::string_view trim_ows(std::string_view s) noexcept;

// Percent-decodes a W3C value into `out` (cleared first). False on a '%' not
// followed by two hex digits; *bad_at is then its offset in `in`.
bool percent_decode(std::string_view in, std::string& out, size_t* bad_at);

// Counts a bad input in pivot::baggage::decode_errors() (baggage.cc).
void count_decode_error() noexcept;

}  // namespace pivot::internal
