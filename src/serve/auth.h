// Who may talk to `pivot serve`.
//
// On a loopback address anyone on the host who can reach the port may read;
// off it, every request needs the bearer token (`Authorization: Bearer T`).
// Whenever a token is set, every write (install, pause, resume, stop) needs
// it, loopback or not. The token comes from a file (--token-file) or from
// $PIVOT_TOKEN, never from the command line, where `ps` would show it.
//
//   auto token = load_token(token_file);          // "" when none is set
//   if (!is_loopback(host) && token->empty()) refuse to start;
//   token_matches(request_header, *token);        // constant time
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "pivot/result.h"

namespace pivot::serve {

// The token from `file` (surrounding whitespace dropped) or, with no file,
// from $PIVOT_TOKEN; "" when neither is set. A file that cannot be read, or
// an empty one, is an error: a token was meant.
Result<std::string> load_token(const std::string& file);

// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback(std::string_view host);

// Whether an Authorization header carries `token` as a bearer token. Takes
// the same time whatever the header holds, for a header and a token of
// given lengths, so that the token cannot be guessed byte by byte.
bool token_matches(std::string_view authorization, std::string_view token);

}  // namespace pivot::serve
