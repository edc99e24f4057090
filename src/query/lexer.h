// The lexer of pivot's query language: query text in, tokens out.
//
// Keywords are recognised case-insensitively but stay identifiers
// (TokenKind::kIdent with Token::keyword set), because the grammar lets some
// of them be names: a field after "." may be any identifier (`s.count`), and
// words like First or Union mean something only before "(".
//
// Lexing never fails outright: a problem (unterminated string, unknown
// character, integer out of range, ...) becomes a kError token whose
// Token::string_value is the message, and lexing stops there. The parser
// reports it when it reaches it, so the error reported is always the leftmost.
//
//   std::vector<Token> tokens = tokenize("From incr In X Select COUNT");
//   tokens[0].keyword == Keyword::kFrom;   // text "From", pos 1:1
//   tokens.back().kind == TokenKind::kEnd;
//
// Positions: line and column are 1-based; a column counts characters (UTF-8
// code points), so a tab is one column; offset is the 0-based byte offset.
//
// Thread safety: a Lexer is a plain value over a string_view it does not own;
// the text must outlive it and every token (Token::text points into it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "query/ast.h"

namespace pivot::query {

enum class TokenKind : uint8_t {
  kIdent,      // identifier or keyword
  kInt,        // 42 (magnitude in int_value)
  kDouble,     // 1.5, 1e3, .5
  kString,     // "..." or '...' (unescaped value in string_value)
  kLParen,     // (
  kRParen,     // )
  kComma,      // ,
  kSemicolon,  // ;
  kDot,        // .
  kArrow,      // ->
  kAssign,     // =
  kEq,         // ==
  kNe,         // !=
  kLt,         // <
  kLe,         // <=
  kGt,         // >
  kGe,         // >=
  kPlus,       // +
  kMinus,      // -
  kStar,       // *
  kSlash,      // /
  kPercent,    // %
  kEnd,        // end of the text
  kError,      // a lexical error; string_value is the message
};

enum class Keyword : uint8_t {
  kNone,
  // Reserved: never a variable, Let or query name.
  kFrom,
  kIn,
  kJoin,
  kOn,
  kWhere,
  kLet,
  kGroupBy,
  kGroup,
  kBy,
  kSelect,
  kAs,
  kAnd,
  kOr,
  kNot,
  kTrue,
  kFalse,
  kNull,
  kTracepoint,
  kCount,
  kSum,
  kMin,
  kMax,
  kAvg,
  kAverage,
  // Contextual: keywords only where the grammar expects them.
  kUnion,
  kFirst,
  kMostRecent,
  kFirstN,
  kMostRecentN,
  kEntry,
  kReturn,
  kExports,
  kOrderBy,
  kOrder,
  kLimit,
  kDesc,
  kAsc,
  kHist,
  kLhist,
  kQuantile,
  kP50,
  kP90,
  kP99,
  kDistinct,  // only right after COUNT(
};
inline constexpr Keyword kLastKeyword = Keyword::kDistinct;

// The keyword `word` spells (any case), or kNone.
Keyword keyword_of(std::string_view word);
// The canonical spelling: "From", "GroupBy", "COUNT", "true", ...
std::string_view keyword_spelling(Keyword k);
// Reserved keywords cannot name variables, Let names or queries.
bool is_reserved(Keyword k);

struct Token {
  TokenKind kind = TokenKind::kEnd;
  Pos pos;                           // of the first character
  std::string_view text;             // the raw spelling in the source
  Keyword keyword = Keyword::kNone;  // kIdent only
  std::string string_value;          // kString: unescaped; kError: the message
  uint64_t int_value = 0;            // kInt: up to 2^63, which is valid only negated
  double double_value = 0;           // kDouble

  bool is(Keyword k) const { return kind == TokenKind::kIdent && keyword == k; }
  // The byte offset just past the token.
  uint32_t end_offset() const { return pos.offset + static_cast<uint32_t>(text.size()); }
};

// How an error message names a token: 'From', '->', string "abc", ...
std::string describe(const Token& t);

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // The next token; kEnd at the end (and forever after), kError on bad input.
  // The kEnd token sits just past the last real token, so an error about a
  // missing token points right after what was written, not at a blank line.
  Token next();

 private:
  char peek(size_t ahead = 0) const;
  void advance(size_t n = 1);
  void skip_space_and_comments();
  Token make(TokenKind kind, Pos start, size_t length);
  Token error(Pos start, size_t length, std::string message);
  Token lex_ident(Pos start);
  Token lex_number(Pos start);
  Token lex_string(Pos start);
  Token lex_punct(Pos start);
  // Reads \uXXXX (pos_ just past the 'u'); appends UTF-8 to out.
  bool lex_unicode_escape(std::string& out, std::string& message);

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
  Pos last_end_{1, 1, 0};  // just past the last token returned
};

// Every token of `text`, ending with kEnd or with the first kError.
std::vector<Token> tokenize(std::string_view text);

}  // namespace pivot::query
