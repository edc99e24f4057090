#include "query/error.h"

#include <string>

namespace pivot::query {
namespace {

// The text of 1-based line `line` without its line break ("" past the end).
std::string_view source_line(std::string_view text, int line) {
  size_t start = 0;
  for (int l = 1; l < line; ++l) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return {};
    start = nl + 1;
  }
  size_t end = text.find('\n', start);
  std::string_view s =
      text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

// Spaces (and tabs where the line has tabs) up to 1-based character `column`,
// or to the end of the line if it is shorter.
std::string padding(std::string_view line, int column) {
  std::string pad;
  int chars = 0;
  for (size_t i = 0; i < line.size() && chars < column - 1; ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte is part of the previous character
    pad += c == '\t' ? '\t' : ' ';
    ++chars;
  }
  return pad;
}

}  // namespace

pivot::Error make_error(std::string_view text, Pos pos, std::string_view message) {
  if (pos.line < 1) return pivot::Error(std::string(message));
  int column = pos.column < 1 ? 1 : pos.column;
  std::string_view line = source_line(text, pos.line);
  std::string out = std::to_string(pos.line) + ":" + std::to_string(column) + ": ";
  out += message;
  out += '\n';
  out += line;
  out += '\n';
  out += padding(line, column);
  out += '^';
  return pivot::Error(std::move(out), pos.line, column);
}

}  // namespace pivot::query
