#include "query/lexer.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <system_error>
#include <utility>

namespace pivot::query {
namespace {

struct KeywordEntry {
  std::string_view spelling;
  Keyword keyword;
};

constexpr std::array<KeywordEntry, 44> kKeywords = {{
    {"From", Keyword::kFrom},
    {"In", Keyword::kIn},
    {"Join", Keyword::kJoin},
    {"On", Keyword::kOn},
    {"Where", Keyword::kWhere},
    {"Let", Keyword::kLet},
    {"GroupBy", Keyword::kGroupBy},
    {"Group", Keyword::kGroup},
    {"By", Keyword::kBy},
    {"Select", Keyword::kSelect},
    {"As", Keyword::kAs},
    {"And", Keyword::kAnd},
    {"Or", Keyword::kOr},
    {"Not", Keyword::kNot},
    {"true", Keyword::kTrue},
    {"false", Keyword::kFalse},
    {"null", Keyword::kNull},
    {"Tracepoint", Keyword::kTracepoint},
    {"COUNT", Keyword::kCount},
    {"SUM", Keyword::kSum},
    {"MIN", Keyword::kMin},
    {"MAX", Keyword::kMax},
    {"AVG", Keyword::kAvg},
    {"AVERAGE", Keyword::kAverage},
    {"Union", Keyword::kUnion},
    {"First", Keyword::kFirst},
    {"MostRecent", Keyword::kMostRecent},
    {"FirstN", Keyword::kFirstN},
    {"MostRecentN", Keyword::kMostRecentN},
    {"Entry", Keyword::kEntry},
    {"Return", Keyword::kReturn},
    {"Exports", Keyword::kExports},
    {"OrderBy", Keyword::kOrderBy},
    {"Order", Keyword::kOrder},
    {"Limit", Keyword::kLimit},
    {"Desc", Keyword::kDesc},
    {"Asc", Keyword::kAsc},
    {"HIST", Keyword::kHist},
    {"LHIST", Keyword::kLhist},
    {"QUANTILE", Keyword::kQuantile},
    {"P50", Keyword::kP50},
    {"P90", Keyword::kP90},
    {"P99", Keyword::kP99},
    {"DISTINCT", Keyword::kDistinct},
}};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The length of the well-formed UTF-8 sequence at the start of s, or 0.
// Well-formed as RFC 3629 says (and as JSON encoders check): no overlong
// forms, no surrogates (U+D800..DFFF), nothing above U+10FFFF.
size_t utf8_length(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  size_t n = b(0) >= 0xF0 ? 4 : b(0) >= 0xE0 ? 3 : b(0) >= 0xC2 ? 2 : 0;
  if (b(0) > 0xF4 || n == 0 || s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
  }
  if ((b(0) == 0xE0 && b(1) < 0xA0) || (b(0) == 0xED && b(1) > 0x9F) || (b(0) == 0xF0 && b(1) < 0x90) ||
      (b(0) == 0xF4 && b(1) > 0x8F)) {
    return 0;
  }
  return n;
}

// How an unknown character is shown: '#', 'é', '\x01'.
std::string show_char(std::string_view s) {
  unsigned char c = static_cast<unsigned char>(s[0]);
  if (c >= 0x21 && c < 0x7F) return std::string("'") + s[0] + "'";
  if (size_t n = c >= 0x80 ? utf8_length(s) : 0; n > 0) return "'" + std::string(s.substr(0, n)) + "'";
  char buf[8];
  std::snprintf(buf, sizeof buf, "'\\x%02x'", c);
  return buf;
}

// How an unknown escape is shown: '\q', or '\' followed by '\x01'.
std::string show_escape(std::string_view after_backslash) {
  unsigned char c = static_cast<unsigned char>(after_backslash[0]);
  if (c >= 0x21 && c < 0x7F) return std::string("'\\") + after_backslash[0] + "'";
  return "'\\' followed by " + show_char(after_backslash);
}

// A hint for characters people type out of habit from other languages.
std::string_view hint_for(char c) {
  switch (c) {
    case '#': return "; comments start with '--' or '//'";
    case '`': return "; quote strings with \" or '";
    case '&': return "; use And";
    case '|': return "; use Or";
    case '!': return "; use Not, or '!=' for not equal";
    default: return "";
  }
}

}  // namespace

Keyword keyword_of(std::string_view word) {
  for (const KeywordEntry& e : kKeywords) {
    if (equals_ignore_case(word, e.spelling)) return e.keyword;
  }
  return Keyword::kNone;
}

std::string_view keyword_spelling(Keyword k) {
  for (const KeywordEntry& e : kKeywords) {
    if (e.keyword == k) return e.spelling;
  }
  return "";
}

bool is_reserved(Keyword k) { return k != Keyword::kNone && k < Keyword::kUnion; }

std::string describe(const Token& t) {
  constexpr size_t kMaxShown = 32;
  std::string_view text = t.text;
  std::string shown(text.substr(0, kMaxShown));
  if (text.size() > kMaxShown) {
    size_t cut = kMaxShown - 3;
    // Never cut a UTF-8 sequence in half.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    shown = std::string(text.substr(0, cut)) + "...";
  }
  switch (t.kind) {
    case TokenKind::kEnd: return "end of query";
    case TokenKind::kString: return "string " + shown;
    case TokenKind::kIdent:
      if (is_reserved(t.keyword)) return "keyword '" + shown + "'";
      return "'" + shown + "'";
    default: return "'" + shown + "'";
  }
}

char Lexer::peek(size_t ahead) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }

void Lexer::advance(size_t n) {
  for (; n > 0 && pos_ < text_.size(); --n, ++pos_) {
    unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else if ((c & 0xC0) != 0x80) {  // continuation bytes share their character's column
      ++column_;
    }
  }
}

void Lexer::skip_space_and_comments() {
  while (pos_ < text_.size()) {
    char c = peek();
    if (is_space(c)) {
      advance();
    } else if ((c == '-' && peek(1) == '-') || (c == '/' && peek(1) == '/')) {
      while (pos_ < text_.size() && peek() != '\n') advance();
    } else {
      return;
    }
  }
}

Token Lexer::make(TokenKind kind, Pos start, size_t length) {
  Token t;
  t.kind = kind;
  t.pos = start;
  t.text = text_.substr(start.offset, length);
  if (pos_ < start.offset + length) advance(start.offset + length - pos_);
  last_end_ = Pos{line_, column_, static_cast<uint32_t>(pos_)};
  return t;
}

Token Lexer::error(Pos start, size_t length, std::string message) {
  Token t;
  t.kind = TokenKind::kError;
  t.pos = start;
  t.text = text_.substr(start.offset, length);
  t.string_value = std::move(message);
  pos_ = text_.size();  // lexing stops at the first error
  return t;
}

Token Lexer::next() {
  skip_space_and_comments();
  if (pos_ >= text_.size()) {
    Token end;
    end.kind = TokenKind::kEnd;
    end.pos = last_end_;
    end.text = text_.substr(text_.size());
    return end;
  }
  Pos start{line_, column_, static_cast<uint32_t>(pos_)};
  char c = peek();
  if (is_ident_start(c)) return lex_ident(start);
  if (is_digit(c) || (c == '.' && is_digit(peek(1)))) return lex_number(start);
  if (c == '"' || c == '\'') return lex_string(start);
  return lex_punct(start);
}

Token Lexer::lex_ident(Pos start) {
  size_t n = 0;
  while (is_ident_char(peek(n))) ++n;
  Token t = make(TokenKind::kIdent, start, n);
  t.keyword = keyword_of(t.text);
  return t;
}

Token Lexer::lex_number(Pos start) {
  size_t n = 0;
  bool is_double = false;
  while (is_digit(peek(n))) ++n;
  if (peek(n) == '.' && is_digit(peek(n + 1))) {
    is_double = true;
    ++n;
    while (is_digit(peek(n))) ++n;
  }
  if (peek(n) == 'e' || peek(n) == 'E') {
    size_t m = n + 1;
    if (peek(m) == '+' || peek(m) == '-') ++m;
    if (is_digit(peek(m))) {
      is_double = true;
      n = m;
      while (is_digit(peek(n))) ++n;
    }
  }
  if (is_ident_char(peek(n)) || (peek(n) == '.' && is_digit(peek(n + 1)))) {
    while (is_ident_char(peek(n)) || peek(n) == '.') ++n;
    return error(start, n, "malformed number '" + std::string(text_.substr(pos_, n)) + "'");
  }
  std::string_view digits = text_.substr(pos_, n);
  const char* first = digits.data();
  const char* last = first + digits.size();
  if (is_double) {
    double d = 0;
    auto [ptr, ec] = std::from_chars(first, last, d);
    if (ec != std::errc() || ptr != last) {
      return error(start, n, "number '" + std::string(digits) + "' is out of range for a double");
    }
    Token t = make(TokenKind::kDouble, start, n);
    t.double_value = d;
    return t;
  }
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(first, last, v);
  constexpr uint64_t kMaxMagnitude = uint64_t{1} << 63;  // |INT64_MIN|
  if (ec != std::errc() || ptr != last || v > kMaxMagnitude) {
    return error(start, n, "integer '" + std::string(digits) + "' is out of range for a 64-bit integer");
  }
  Token t = make(TokenKind::kInt, start, n);
  t.int_value = v;
  return t;
}

bool Lexer::lex_unicode_escape(std::string& out, std::string& message) {
  auto read4 = [&](uint32_t& cp) {
    cp = 0;
    for (size_t i = 0; i < 4; ++i) {
      int h = hex_value(peek(i));
      if (h < 0) return false;
      cp = cp * 16 + static_cast<uint32_t>(h);
    }
    advance(4);
    return true;
  };
  uint32_t cp = 0;
  if (!read4(cp)) {
    message = "invalid \\u escape: expected 4 hex digits";
    return false;
  }
  if (cp >= 0xDC00 && cp <= 0xDFFF) {
    message = "invalid \\u escape: unpaired surrogate";
    return false;
  }
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    uint32_t low = 0;
    if (peek() != '\\' || peek(1) != 'u') {
      message = "invalid \\u escape: unpaired surrogate";
      return false;
    }
    advance(2);
    if (!read4(low) || low < 0xDC00 || low > 0xDFFF) {
      message = "invalid \\u escape: unpaired surrogate";
      return false;
    }
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }
  append_utf8(out, cp);
  return true;
}

Token Lexer::lex_string(Pos start) {
  const char quote = peek();
  std::string value;
  advance();
  while (true) {
    if (pos_ >= text_.size() || peek() == '\n') {
      return error(start, 1, "unterminated string literal");
    }
    char c = peek();
    if (c == quote) break;
    if (static_cast<unsigned char>(c) >= 0x80) {
      // Strings travel as JSON (to agents, in results): only well-formed
      // UTF-8 can, so anything else is refused here, where it can be shown.
      size_t n = utf8_length(text_.substr(pos_));
      if (n == 0) {
        Pos at{line_, column_, static_cast<uint32_t>(pos_)};
        return error(at, 1,
                     "invalid UTF-8 byte " + show_char(text_.substr(pos_)) +
                         " in string literal; use \\uXXXX for a character");
      }
      value.append(text_.substr(pos_, n));
      advance(n);
      continue;
    }
    if (c != '\\') {
      value += c;
      advance();
      continue;
    }
    Pos escape{line_, column_, static_cast<uint32_t>(pos_)};
    char e = peek(1);
    advance(2);
    switch (e) {
      case '"':
      case '\'':
      case '\\':
      case '/': value += e; break;
      case 'n': value += '\n'; break;
      case 't': value += '\t'; break;
      case 'r': value += '\r'; break;
      case 'b': value += '\b'; break;
      case 'f': value += '\f'; break;
      case 'u': {
        std::string message;
        if (!lex_unicode_escape(value, message)) return error(escape, 2, message);
        break;
      }
      default:
        if (e == '\0' && pos_ >= text_.size()) return error(start, 1, "unterminated string literal");
        return error(escape, 2,
                     "unknown escape " + show_escape(text_.substr(escape.offset + 1)) +
                         " in string literal; write '\\\\' for a backslash");
    }
  }
  Token t = make(TokenKind::kString, start, pos_ + 1 - start.offset);
  t.string_value = std::move(value);
  return t;
}

Token Lexer::lex_punct(Pos start) {
  const char c = peek();
  const char c1 = peek(1);
  switch (c) {
    case '(': return make(TokenKind::kLParen, start, 1);
    case ')': return make(TokenKind::kRParen, start, 1);
    case ',': return make(TokenKind::kComma, start, 1);
    case ';': return make(TokenKind::kSemicolon, start, 1);
    case '.': return make(TokenKind::kDot, start, 1);
    case '+': return make(TokenKind::kPlus, start, 1);
    case '*': return make(TokenKind::kStar, start, 1);
    case '/': return make(TokenKind::kSlash, start, 1);
    case '%': return make(TokenKind::kPercent, start, 1);
    case '-': return c1 == '>' ? make(TokenKind::kArrow, start, 2) : make(TokenKind::kMinus, start, 1);
    case '=': return c1 == '=' ? make(TokenKind::kEq, start, 2) : make(TokenKind::kAssign, start, 1);
    case '>': return c1 == '=' ? make(TokenKind::kGe, start, 2) : make(TokenKind::kGt, start, 1);
    case '<':
      if (c1 == '=') return make(TokenKind::kLe, start, 2);
      if (c1 == '>') return error(start, 2, "'<>' is not an operator; use '!=' for not equal");
      return make(TokenKind::kLt, start, 1);
    case '!':
      if (c1 == '=') return make(TokenKind::kNe, start, 2);
      break;
    case '&':
      if (c1 == '&') return error(start, 2, "'&&' is not an operator; use And");
      break;
    case '|':
      if (c1 == '|') return error(start, 2, "'||' is not an operator; use Or");
      break;
    default: break;
  }
  std::string_view rest = text_.substr(pos_);
  size_t n = static_cast<unsigned char>(c) >= 0x80 ? utf8_length(rest) : 1;
  return error(start, n == 0 ? 1 : n, "unexpected character " + show_char(rest) + std::string(hint_for(c)));
}

std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  Lexer lexer(text);
  while (true) {
    tokens.push_back(lexer.next());
    TokenKind k = tokens.back().kind;
    if (k == TokenKind::kEnd || k == TokenKind::kError) return tokens;
  }
}

}  // namespace pivot::query
