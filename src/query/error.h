// Error messages that point into query text.
//
// Every error about query text reads the same way: where, what, the line, and
// a caret under the column:
//
//   pivot::Error e = make_error(text, token.pos, "unterminated string literal");
//   e.message() ==
//       "1:27: unterminated string literal\n"
//       "From x In X Where x.name == \"abc\n"
//       "                            ^"
//
// The caret line keeps the tabs of the source line, so the caret lines up in
// a terminal whatever its tab width. Columns count characters (UTF-8 code
// points), as the lexer does.
//
// Thread safety: a pure function.
#pragma once

#include <string_view>

#include "pivot/result.h"
#include "query/ast.h"

namespace pivot::query {

// Formats "<line>:<col>: <message>\n<source line>\n<padding>^" and returns it
// as pivot::Error(formatted, line, column). A pos with line 0 points nowhere:
// the message is returned as is. A column past the end of its line puts the
// caret just past the last character.
pivot::Error make_error(std::string_view text, Pos pos, std::string_view message);

}  // namespace pivot::query
