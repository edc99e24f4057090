#include "query/lexer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pivot::query {
namespace {

std::vector<TokenKind> kinds(std::string_view text) {
  std::vector<TokenKind> out;
  for (const Token& t : tokenize(text)) out.push_back(t.kind);
  return out;
}

std::vector<std::string> texts(std::string_view text) {
  std::vector<std::string> out;
  for (const Token& t : tokenize(text)) out.emplace_back(t.text);
  return out;
}

// The message of the error token `text` ends with.
std::string lex_error(std::string_view text) {
  std::vector<Token> tokens = tokenize(text);
  if (tokens.back().kind != TokenKind::kError) return "(no error)";
  return tokens.back().string_value;
}

TEST(Lexer, KeywordsAreCaseInsensitiveIdentifiers) {
  std::vector<Token> t = tokenize("from FROM From fRoM groupby GROUPBY average");
  ASSERT_EQ(t.size(), 8u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(t[i].kind, TokenKind::kIdent);
    EXPECT_EQ(t[i].keyword, Keyword::kFrom);
  }
  EXPECT_EQ(t[0].text, "from");
  EXPECT_EQ(t[3].text, "fRoM");
  EXPECT_EQ(t[4].keyword, Keyword::kGroupBy);
  EXPECT_EQ(t[5].keyword, Keyword::kGroupBy);
  EXPECT_EQ(t[6].keyword, Keyword::kAverage);
  EXPECT_EQ(t[7].kind, TokenKind::kEnd);
}

TEST(Lexer, NonKeywordsHaveNoKeyword) {
  std::vector<Token> t = tokenize("incr _x9 Froms DataNodeMetrics");
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(t[i].kind, TokenKind::kIdent);
    EXPECT_EQ(t[i].keyword, Keyword::kNone) << t[i].text;
  }
}

TEST(Lexer, KeywordSpellingAndReservation) {
  EXPECT_EQ(keyword_of("mostrecentn"), Keyword::kMostRecentN);
  EXPECT_EQ(keyword_of("Foo"), Keyword::kNone);
  EXPECT_EQ(keyword_spelling(Keyword::kGroupBy), "GroupBy");
  EXPECT_EQ(keyword_spelling(Keyword::kCount), "COUNT");
  EXPECT_EQ(keyword_spelling(Keyword::kTrue), "true");
  EXPECT_TRUE(is_reserved(Keyword::kSelect));
  EXPECT_TRUE(is_reserved(Keyword::kAverage));
  EXPECT_TRUE(is_reserved(Keyword::kTracepoint));
  EXPECT_FALSE(is_reserved(Keyword::kFirst));
  EXPECT_FALSE(is_reserved(Keyword::kUnion));
  EXPECT_FALSE(is_reserved(Keyword::kExports));
  EXPECT_FALSE(is_reserved(Keyword::kNone));
}

TEST(Lexer, Punctuation) {
  EXPECT_EQ(
      kinds("( ) , ; . -> = == != < <= > >= + - * / %"),
      (std::vector<TokenKind>{TokenKind::kLParen, TokenKind::kRParen, TokenKind::kComma,
                              TokenKind::kSemicolon, TokenKind::kDot, TokenKind::kArrow, TokenKind::kAssign,
                              TokenKind::kEq, TokenKind::kNe, TokenKind::kLt, TokenKind::kLe, TokenKind::kGt,
                              TokenKind::kGe, TokenKind::kPlus, TokenKind::kMinus, TokenKind::kStar,
                              TokenKind::kSlash, TokenKind::kPercent, TokenKind::kEnd}));
}

TEST(Lexer, ArrowAndBackwardsArrow) {
  EXPECT_EQ(kinds("a->b"), (std::vector<TokenKind>{TokenKind::kIdent, TokenKind::kArrow, TokenKind::kIdent,
                                                   TokenKind::kEnd}));
  EXPECT_EQ(kinds("a<-b"), (std::vector<TokenKind>{TokenKind::kIdent, TokenKind::kLt, TokenKind::kMinus,
                                                   TokenKind::kIdent, TokenKind::kEnd}));
  EXPECT_EQ(kinds("a-1"),
            (std::vector<TokenKind>{TokenKind::kIdent, TokenKind::kMinus, TokenKind::kInt, TokenKind::kEnd}));
}

TEST(Lexer, CommentsRunToTheEndOfTheLine) {
  EXPECT_EQ(texts("From -- a comment ; Select\nx // another\n/ y"),
            (std::vector<std::string>{"From", "x", "/", "y", ""}));
  EXPECT_EQ(kinds("-- only a comment"), (std::vector<TokenKind>{TokenKind::kEnd}));
}

TEST(Lexer, PositionsAreLineColumnAndOffset) {
  std::vector<Token> t = tokenize("From incr\n  In X");
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[1].pos.line, 1);
  EXPECT_EQ(t[1].pos.column, 6);
  EXPECT_EQ(t[1].pos.offset, 5u);
  EXPECT_EQ(t[2].pos.line, 2);
  EXPECT_EQ(t[2].pos.column, 3);
  EXPECT_EQ(t[2].pos.offset, 12u);
  EXPECT_EQ(t[3].pos.column, 6);
  EXPECT_EQ(t[3].end_offset(), 16u);
}

TEST(Lexer, ColumnsCountCharactersAndTabsAsOne) {
  // "é" is two bytes but one column; a tab is one column.
  std::vector<Token> t = tokenize("'é' x\n\ty");
  EXPECT_EQ(t[0].kind, TokenKind::kString);
  EXPECT_EQ(t[1].pos.column, 5);
  EXPECT_EQ(t[1].pos.offset, 5u);
  EXPECT_EQ(t[2].pos.line, 2);
  EXPECT_EQ(t[2].pos.column, 2);
}

TEST(Lexer, EndSitsJustPastTheLastToken) {
  std::vector<Token> t = tokenize("From x In\n\n  -- trailing comment\n");
  ASSERT_EQ(t.back().kind, TokenKind::kEnd);
  EXPECT_EQ(t.back().pos.line, 1);
  EXPECT_EQ(t.back().pos.column, 10);
  EXPECT_EQ(t.back().pos.offset, 9u);
  EXPECT_EQ(tokenize("").back().pos.line, 1);
  EXPECT_EQ(tokenize("").back().pos.column, 1);
}

TEST(Lexer, Integers) {
  std::vector<Token> t = tokenize("0 42 007 9223372036854775807 9223372036854775808");
  EXPECT_EQ(t[0].kind, TokenKind::kInt);
  EXPECT_EQ(t[0].int_value, 0u);
  EXPECT_EQ(t[1].int_value, 42u);
  EXPECT_EQ(t[2].int_value, 7u);
  EXPECT_EQ(t[3].int_value, 9223372036854775807u);
  // 2^63 lexes (it is valid after a minus); the parser refuses it otherwise.
  EXPECT_EQ(t[4].kind, TokenKind::kInt);
  EXPECT_EQ(t[4].int_value, 9223372036854775808u);
}

TEST(Lexer, Doubles) {
  std::vector<Token> t = tokenize("1.5 1e3 .5 2.0 1E-2 3e+1");
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t[i].kind, TokenKind::kDouble) << i;
  EXPECT_EQ(t[0].double_value, 1.5);
  EXPECT_EQ(t[1].double_value, 1000.0);
  EXPECT_EQ(t[2].double_value, 0.5);
  EXPECT_EQ(t[3].double_value, 2.0);
  EXPECT_EQ(t[4].double_value, 0.01);
  EXPECT_EQ(t[5].double_value, 30.0);
}

TEST(Lexer, ADotAfterAnIntegerIsNotAFraction) {
  EXPECT_EQ(kinds("1.x"),
            (std::vector<TokenKind>{TokenKind::kInt, TokenKind::kDot, TokenKind::kIdent, TokenKind::kEnd}));
}

TEST(Lexer, StringsAndEscapes) {
  std::vector<Token> t = tokenize(R"("a\"b" 'it\'s' "\\ \/ \n\t\r\b\f" "\u00e9\ud83d\ude00" 'say "hi"' "")");
  ASSERT_EQ(t.size(), 7u);
  EXPECT_EQ(t[0].kind, TokenKind::kString);
  EXPECT_EQ(t[0].string_value, "a\"b");
  EXPECT_EQ(t[0].text, R"("a\"b")");
  EXPECT_EQ(t[1].string_value, "it's");
  EXPECT_EQ(t[2].string_value, "\\ / \n\t\r\b\f");
  EXPECT_EQ(t[3].string_value, "\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(t[4].string_value, "say \"hi\"");
  EXPECT_EQ(t[5].string_value, "");
}

TEST(Lexer, RawUtf8InStringsIsKept) { EXPECT_EQ(tokenize("'日本'")[0].string_value, "日本"); }

// Strings travel as JSON, which holds only well-formed UTF-8: anything else
// is an error at the byte, never an exception later.
TEST(Lexer, InvalidUtf8InAStringIsAnErrorAtTheByte) {
  const char* kHint = " in string literal; use \\uXXXX for a character";
  EXPECT_EQ(lex_error("'a\xFF"
                      "b'"),
            std::string("invalid UTF-8 byte '\\xff'") + kHint);
  EXPECT_EQ(lex_error("'\xC3'"), std::string("invalid UTF-8 byte '\\xc3'") + kHint);          // cut short
  EXPECT_EQ(lex_error("'\xC0\xAF'"), std::string("invalid UTF-8 byte '\\xc0'") + kHint);      // overlong
  EXPECT_EQ(lex_error("'\xED\xA0\x80'"), std::string("invalid UTF-8 byte '\\xed'") + kHint);  // surrogate
  EXPECT_EQ(lex_error("'\xF4\x90\x80\x80'"), std::string("invalid UTF-8 byte '\\xf4'") + kHint);
  std::vector<Token> t = tokenize("x == 1\nAnd y == 'é\x80'");
  ASSERT_EQ(t.back().kind, TokenKind::kError);
  EXPECT_EQ(t.back().pos.line, 2);
  EXPECT_EQ(t.back().pos.column, 12);  // the stray byte after é
}

TEST(Lexer, Errors) {
  EXPECT_EQ(lex_error("\"abc"), "unterminated string literal");
  EXPECT_EQ(lex_error("'abc\n'"), "unterminated string literal");
  EXPECT_EQ(lex_error("'abc\\"), "unterminated string literal");
  EXPECT_EQ(lex_error(R"("\q")"), "unknown escape '\\q' in string literal; write '\\\\' for a backslash");
  EXPECT_EQ(lex_error("\"\\\x01\""),
            "unknown escape '\\' followed by '\\x01' in string literal; write '\\\\' for a backslash");
  EXPECT_EQ(lex_error(R"("\u12")"), "invalid \\u escape: expected 4 hex digits");
  EXPECT_EQ(lex_error(R"("\ude00")"), "invalid \\u escape: unpaired surrogate");
  EXPECT_EQ(lex_error(R"("\ud83d")"), "invalid \\u escape: unpaired surrogate");
  EXPECT_EQ(lex_error(R"("\ud83d\u0041")"), "invalid \\u escape: unpaired surrogate");
  EXPECT_EQ(lex_error("99999999999999999999"),
            "integer '99999999999999999999' is out of range for a 64-bit integer");
  EXPECT_EQ(lex_error("9223372036854775809"),
            "integer '9223372036854775809' is out of range for a 64-bit integer");
  EXPECT_EQ(lex_error("1e999"), "number '1e999' is out of range for a double");
  EXPECT_EQ(lex_error("12abc"), "malformed number '12abc'");
  EXPECT_EQ(lex_error("1.5.3"), "malformed number '1.5.3'");
  EXPECT_EQ(lex_error("1e"), "malformed number '1e'");
  EXPECT_EQ(lex_error("a <> b"), "'<>' is not an operator; use '!=' for not equal");
  EXPECT_EQ(lex_error("a && b"), "'&&' is not an operator; use And");
  EXPECT_EQ(lex_error("a || b"), "'||' is not an operator; use Or");
  EXPECT_EQ(lex_error("!a"), "unexpected character '!'; use Not, or '!=' for not equal");
  EXPECT_EQ(lex_error("a & b"), "unexpected character '&'; use And");
  EXPECT_EQ(lex_error("# x"), "unexpected character '#'; comments start with '--' or '//'");
  EXPECT_EQ(lex_error("`x`"), "unexpected character '`'; quote strings with \" or '");
  EXPECT_EQ(lex_error("a @ b"), "unexpected character '@'");
  EXPECT_EQ(lex_error("a \x01 b"), "unexpected character '\\x01'");
  EXPECT_EQ(lex_error(std::string_view("a \0 b", 5)), "unexpected character '\\x00'");
  EXPECT_EQ(lex_error("a \xC3\x97 b"), "unexpected character '\xC3\x97'");
  EXPECT_EQ(lex_error("a \xFF b"), "unexpected character '\\xff'");
}

TEST(Lexer, ErrorTokensPointAtTheProblemAndEndTheStream) {
  std::vector<Token> t = tokenize("x == \"abc\\q\" y z");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[2].kind, TokenKind::kError);
  EXPECT_EQ(t[2].pos.column, 10);  // the backslash
  EXPECT_EQ(t[2].text, "\\q");
  t = tokenize("x\n  \"abc");
  EXPECT_EQ(t[1].kind, TokenKind::kError);
  EXPECT_EQ(t[1].pos.line, 2);
  EXPECT_EQ(t[1].pos.column, 3);  // the opening quote
}

TEST(Lexer, DescribeNamesTokensForMessages) {
  std::vector<Token> t = tokenize("foo Select First \"str\" 42 -> ");
  EXPECT_EQ(describe(t[0]), "'foo'");
  EXPECT_EQ(describe(t[1]), "keyword 'Select'");
  EXPECT_EQ(describe(t[2]), "'First'");
  EXPECT_EQ(describe(t[3]), "string \"str\"");
  EXPECT_EQ(describe(t[4]), "'42'");
  EXPECT_EQ(describe(t[5]), "'->'");
  EXPECT_EQ(describe(t[6]), "end of query");
  EXPECT_EQ(describe(tokenize("a_very_long_identifier_that_goes_on_and_on")[0]),
            "'a_very_long_identifier_that_g...'");
}

TEST(Lexer, NextKeepsReturningEnd) {
  Lexer lexer("x");
  EXPECT_EQ(lexer.next().kind, TokenKind::kIdent);
  EXPECT_EQ(lexer.next().kind, TokenKind::kEnd);
  EXPECT_EQ(lexer.next().kind, TokenKind::kEnd);
}

}  // namespace
}  // namespace pivot::query
