#include "baggage/w3c_header.h"

namespace pivot::internal {
namespace {

// OWS is spaces and tabs only (RFC 7230 3.2.3).
bool is_ows(char c) { return c == ' ' || c == '\t'; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool next_member(std::string_view header, size_t& pos, HeaderMember& out) noexcept {
  while (pos < header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view text = trim_ows(header.substr(pos, comma - pos));
    pos = comma < header.size() ? comma + 1 : comma;
    if (text.empty()) continue;
    out.text = text;
    size_t eq = text.find('=');
    out.has_value = eq != std::string_view::npos;
    if (!out.has_value) {
      out.key = trim_ows(text.substr(0, text.find(';')));
      out.value = {};
      return true;
    }
    out.key = trim_ows(text.substr(0, eq));
    std::string_view rest = text.substr(eq + 1);
    out.value = trim_ows(rest.substr(0, rest.find(';')));
    return true;
  }
  return false;
}

bool percent_decode(std::string_view in, std::string& out, size_t* bad_at) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    int hi = i + 2 < in.size() ? hex_digit(in[i + 1]) : -1;
    int lo = hi >= 0 ? hex_digit(in[i + 2]) : -1;
    if (lo < 0) {
      if (bad_at != nullptr) *bad_at = i;
      return false;
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

}  // namespace pivot::internal
