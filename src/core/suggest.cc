#include "suggest.h"

#include <algorithm>
#include <cctype>
#include <cstddef>

namespace pivot::internal {
namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// Optimal string alignment distance, case-insensitive; stops early (returns
// limit + 1) once every alignment is past `limit`.
size_t distance(std::string_view a, std::string_view b, size_t limit) {
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) > limit) return limit + 1;
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    size_t best = row[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      row[j] = std::min({prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]))
        row[j] = std::min(row[j], prev2[j - 2] + 1);
      best = std::min(best, row[j]);
    }
    if (best > limit) return limit + 1;
    std::swap(prev2, prev);
    std::swap(prev, row);
  }
  return prev[b.size()];
}

size_t limit_for(std::string_view word) { return word.size() <= 4 ? 1 : word.size() <= 8 ? 2 : 3; }

}  // namespace

std::vector<std::string> closest_names(std::string_view word, const std::vector<std::string>& candidates) {
  for (const auto& c : candidates) {
    if (c != word && equal_ignoring_case(c, word)) return {c};
  }
  size_t best = limit_for(word);
  std::vector<std::string> out;
  for (const auto& c : candidates) {
    if (c == word) continue;
    size_t d = distance(word, c, best);
    if (d > best) continue;
    if (d < best) out.clear();
    best = d;
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  if (out.size() > 3) out.resize(3);
  return out;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::vector<std::string> names = closest_names(word, candidates);
  if (names.empty()) return "";
  std::string out = "did you mean ";
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + ("'" + names[i] + "'");
  }
  out += "?";
  if (equal_ignoring_case(names[0], word)) out += " (only the case differs)";
  return out;
}

}  // namespace pivot::internal
