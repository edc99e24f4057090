// "Did you mean": the names closest to a misspelt one, for error messages
// of the query language and the CLI.
//
//   did_you_mean("cl.procname", {"cl.procName", "cl.host"})
//       == "did you mean 'cl.procName'? (only the case differs)"
//   did_you_mean("App.requets", {"App.client", "App.request"})
//       == "did you mean 'App.request'?"
//   did_you_mean("zzz", {"App.request"}) == ""
//
// A candidate that differs only in case is named first (and alone). Else the
// candidates at the smallest edit distance (Damerau-Levenshtein: insertions,
// deletions, substitutions and swaps of two neighbours, compared without
// case) are named, at most three, when that distance is small for the word's
// length: at most 1 for up to 4 characters, 2 up to 8, then 3.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pivot::internal {

// The closest candidates, best first; empty when none is close enough.
std::vector<std::string> closest_names(std::string_view word, const std::vector<std::string>& candidates);

// "did you mean 'x'?", "did you mean 'x' or 'y'?", with "(only the case
// differs)" for a case-only match; "" when nothing is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace pivot::internal
