// resolve()'s answer when nothing matches (symbols.h): the functions whose
// names look like what the user wrote, nearest first.
#include <algorithm>
#include <cctype>
#include <tuple>

#include "hook/signature.h"
#include "hook/symbols.h"

namespace pivot::hook::internal {
namespace {

constexpr size_t kMaxSuggestions = 10;

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Edit distance of two names (insert, delete, replace), or `cap` when it is
// at least that: long names cost little.
size_t edit_distance(std::string_view a, std::string_view b, size_t cap = 64) {
  if (a.size() > b.size() + cap || b.size() > a.size() + cap) return cap;
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    size_t best = row[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
      best = std::min(best, row[j]);
    }
    if (best >= cap) return cap;
  }
  return std::min(row[b.size()], cap);
}

// True when `name` (lower case) looks like what `key` (lower case) meant:
// contains it, or is a typo away from it.
bool looks_like(std::string_view name, std::string_view key) {
  if (key.empty()) return false;
  if (name.find(key) != std::string_view::npos) return true;
  if (key.size() < 4 || name.size() > key.size() + 2 || name.size() + 2 < key.size()) return false;
  return edit_distance(name, key) <= std::max<size_t>(1, key.size() / 4);
}

// The part of a pattern that names the function ("ns::f" of "ns::f(int)"),
// lower case, with glob characters removed.
std::string name_part(std::string_view pattern, bool signature) {
  std::string_view name = pattern;
  if (signature) {
    for (size_t i = 1; i < pattern.size(); ++i) {
      char prev = pattern[i - 1];
      if (pattern[i] == '(' && (is_ident_char(prev) || prev == '>' || prev == '*' || prev == '?')) {
        name = pattern.substr(0, i);
        break;
      }
    }
  }
  std::string out = to_lower(abbreviate_std(normalize_spacing(name)));
  std::erase_if(out, [](char c) { return c == '*' || c == '?'; });
  return out;
}

// The longest run without glob characters of the pattern's last component.
std::string last_word(std::string_view pattern, bool signature) {
  std::string_view name = pattern;
  if (signature) name = name.substr(0, name.find('('));
  std::string_view comp = last_component(name);
  std::string_view best;
  size_t start = 0;
  for (size_t i = 0; i <= comp.size(); ++i) {
    if (i == comp.size() || comp[i] == '*' || comp[i] == '?') {
      if (i - start > best.size()) best = comp.substr(start, i - start);
      start = i + 1;
    }
  }
  return to_lower(best);
}

struct Suggestion {
  int rank;         // 0: only the case differs; 1: the same scope; 2: a similar scope
  int fit;          // 0: the same last name; 1: a typo away; 2: it contains the name
  size_t distance;  // from what the user wrote
  std::string text;
};

}  // namespace

Error no_match(std::string_view pattern, bool signature, const std::vector<FunctionSymbol>& symbols) {
  std::string message = std::string(kNoMatch) + std::string(pattern) + "'";
  const std::string wrote = name_part(pattern, signature);
  const std::string word = last_word(pattern, signature);
  const size_t sep = last_scope_separator(wrote);
  const std::string scope = sep == std::string::npos ? "" : wrote.substr(0, sep);
  const bool internal_names = pattern.starts_with('_') || wrote.find("::_") != std::string::npos;
  std::vector<Suggestion> found;
  for (const FunctionSymbol& symbol : symbols) {
    Result<Signature> sig = parse_signature(symbol.demangled);
    if (!sig || !sig->clones.empty()) continue;  // a clone is suggested through its function
    std::string name = to_lower(abbreviate_std(normalize_spacing(sig->name)));
    if (!internal_names && (name.starts_with('_') || name.find("::_") != std::string::npos)) continue;
    if (name.starts_with("pivot::") && !wrote.starts_with("pivot::")) continue;  // never hooked
    std::string last = to_lower(strip_template_args(last_component(name)));
    bool scoped = last_scope_separator(name) != std::string::npos;
    if (wrote.find("::") != std::string::npos && !scoped) continue;  // a C++ name was meant
    Suggestion s{0, 0, 0, symbol.demangled};
    if (name == wrote) {
      s.rank = 0;
    } else if (looks_like(last, word)) {
      size_t at = last_scope_separator(name);
      std::string theirs = at == std::string::npos ? "" : name.substr(0, at);
      // The scope the user wrote, or one like it: a typo, another namespace
      // around the same class ("a::Store::put" for "b::Store::put"), a
      // class inside it ("ns::C::put" for "ns::put").
      std::string_view their_class = last_component(theirs), our_class = last_component(scope);
      if (scope.empty() || theirs == scope || theirs.ends_with("::" + scope)) {
        s.rank = 1;
      } else if (edit_distance(theirs, scope) <= std::max<size_t>(1, scope.size() / 4) ||
                 (!our_class.empty() && their_class == our_class) || theirs.starts_with(scope + "::")) {
        s.rank = 2;
      } else {
        continue;
      }
    } else {
      continue;
    }
    s.fit = last == word ? 0 : last.find(word) == std::string::npos ? 1 : 2;
    s.distance = edit_distance(name, wrote);
    found.push_back(std::move(s));
  }
  if (found.empty()) return Error(std::move(message));
  std::sort(found.begin(), found.end(), [](const Suggestion& a, const Suggestion& b) {
    return std::tie(a.rank, a.fit, a.distance, a.text) < std::tie(b.rank, b.fit, b.distance, b.text);
  });
  found.erase(std::unique(found.begin(), found.end(),
                          [](const Suggestion& a, const Suggestion& b) { return a.text == b.text; }),
              found.end());
  message += "; similar: ";
  for (size_t i = 0; i < found.size() && i < kMaxSuggestions; ++i) {
    if (i > 0) message += ", ";
    message += found[i].text;
  }
  if (found.size() > kMaxSuggestions)
    message += ", and " + std::to_string(found.size() - kMaxSuggestions) + " more";
  return Error(std::move(message));
}

}  // namespace pivot::hook::internal
