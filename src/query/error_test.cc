#include "query/error.h"

#include <gtest/gtest.h>

namespace pivot::query {
namespace {

TEST(MakeError, FormatsLineColumnSourceLineAndCaret) {
  Error e =
      make_error("From x In X\nSelect x.a = 1", Pos{2, 12, 23}, "'=' is assignment; use '==' to compare");
  EXPECT_EQ(e.message(), "2:12: '=' is assignment; use '==' to compare\nSelect x.a = 1\n           ^");
  EXPECT_EQ(e.line(), 2);
  EXPECT_EQ(e.column(), 12);
}

TEST(MakeError, TabsStayTabsSoTheCaretAligns) {
  Error e = make_error("\t\tx = 1", Pos{1, 5, 4}, "m");
  EXPECT_EQ(e.message(), "1:5: m\n\t\tx = 1\n\t\t  ^");
}

TEST(MakeError, MultiByteCharactersTakeOneColumn) {
  Error e = make_error("'h\xC3\xA9llo' @", Pos{1, 9, 9}, "m");
  EXPECT_EQ(e.message(), "1:9: m\n'h\xC3\xA9llo' @\n        ^");
}

TEST(MakeError, ColumnPastTheEndPutsTheCaretJustAfterTheLine) {
  EXPECT_EQ(make_error("abc", Pos{1, 4, 3}, "m").message(), "1:4: m\nabc\n   ^");
  EXPECT_EQ(make_error("abc", Pos{1, 99, 3}, "m").message(), "1:99: m\nabc\n   ^");
}

TEST(MakeError, CarriageReturnsAreNotPartOfTheLine) {
  EXPECT_EQ(make_error("ab\r\ncd\r\n", Pos{2, 2, 5}, "m").message(), "2:2: m\ncd\n ^");
}

TEST(MakeError, LinePastTheEndShowsAnEmptyLine) {
  EXPECT_EQ(make_error("abc", Pos{3, 1, 0}, "m").message(), "3:1: m\n\n^");
}

TEST(MakeError, NoPositionMeansJustTheMessage) {
  Error e = make_error("abc", Pos{}, "empty query text");
  EXPECT_EQ(e.message(), "empty query text");
  EXPECT_EQ(e.line(), 0);
  EXPECT_EQ(e.column(), 0);
}

}  // namespace
}  // namespace pivot::query
