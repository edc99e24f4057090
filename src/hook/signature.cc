// parse_signature() and glob_match() (symbols.h), and the scanning helpers of
// signature.h.
#include "hook/signature.h"

#include <algorithm>
#include <cstring>

#include "hook/symbols.h"

namespace pivot::hook {
namespace internal {
namespace {

constexpr std::string_view kOperator = "operator";
constexpr std::string_view kOperatorChars = "+-*/%^&|~!=<>,";

// Length of the operator name at s[i] ("operator<<", "operator()", and the
// space before template arguments in "operator<< <char>"), or 0 when no
// operator name starts there. At depth 0 a word operator ("operator new",
// "operator int", "operator\"\" _km") runs to the end of `s`: callers scan a
// name, not a parameter list, at depth 0.
size_t operator_length(std::string_view s, size_t i, int depth) {
  if (s[i] != 'o' || s.compare(i, kOperator.size(), kOperator) != 0) return 0;
  if (i > 0 && is_ident_char(s[i - 1])) return 0;
  size_t j = i + kOperator.size();
  if (j == s.size()) return kOperator.size();
  if (is_ident_char(s[j])) return 0;  // "operators"
  if (s.compare(j, 2, "()") == 0 || s.compare(j, 2, "[]") == 0) return j + 2 - i;
  size_t k = j;
  while (k < s.size() && kOperatorChars.find(s[k]) != std::string_view::npos) ++k;
  if (k > j) {
    if (k + 1 < s.size() && s[k] == ' ' && s[k + 1] == '<') ++k;
    return k - i;
  }
  if (depth == 0 && (s[j] == ' ' || s[j] == '"')) return s.size() - i;
  return kOperator.size();
}

// Calls at(i) for every index of `s` outside brackets and operator names;
// stops when at() returns false.
template <class F>
void scan_top_level(std::string_view s, F&& at) {
  int depth = 0;
  for (size_t i = 0; i < s.size();) {
    if (size_t op = s[i] == 'o' ? operator_length(s, i, depth) : 0) {
      i += op;
      continue;
    }
    char c = s[i];
    if (c == '(' || c == '<' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == '>' || c == ']' || c == '}') {
      if (depth > 0) --depth;
    } else if (depth == 0 && !at(i)) {
      return;
    }
    ++i;
  }
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

bool is_c_identifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    if (!is_ident_char(c)) return false;
  }
  return true;
}

// The qualifiers after a parameter list: "", "const", "const &&", ...
bool valid_qualifiers(std::string_view tail) {
  static constexpr std::string_view kWords[] = {"const", "volatile", "&",
                                                "&&",    "noexcept", "transaction_safe"};
  tail = trim(tail);
  while (!tail.empty()) {
    size_t end = tail.find(' ');
    std::string_view word = tail.substr(0, end);
    bool known = false;
    for (std::string_view w : kWords) known = known || word == w;
    if (!known) return false;
    tail = end == std::string_view::npos ? std::string_view() : trim(tail.substr(end));
  }
  return true;
}

std::string without_abi_tags(std::string_view name) {
  std::string out(name);
  for (size_t at = out.find("[abi:"); at != std::string::npos; at = out.find("[abi:", at)) {
    size_t close = out.find(']', at);
    if (close == std::string::npos) break;
    out.erase(at, close + 1 - at);
  }
  return out;
}

bool is_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

CloneKind clone_kind(std::string_view suffix) {
  std::string_view word = suffix.substr(0, suffix.find('.'));
  if (word == "isra" || word == "constprop" || word == "specialized") return CloneKind::kMovesArguments;
  if (word == "lto_priv" || word == "llvm" || word == "localalias") return CloneKind::kWhole;
  if (word == "part" || word == "cold") return CloneKind::kPiece;
  return CloneKind::kOther;
}

bool split_clone_suffixes(std::string_view& s, std::vector<std::string>& clones) {
  // C++: "f(int) [clone .constprop.0] [clone .isra.0]".
  static constexpr std::string_view kClone = " [clone .";
  std::vector<std::string> found;
  while (s.ends_with(']')) {
    size_t at = s.rfind(kClone);
    if (at == std::string_view::npos) break;
    std::string_view suffix = s.substr(at + kClone.size(), s.size() - 1 - at - kClone.size());
    if (suffix.empty()) return false;
    found.insert(found.begin(), std::string(suffix));
    s = trim(s.substr(0, at));
  }
  // C: "f.constprop.0.isra.0", "main.cold": words, each with an optional number.
  if (found.empty() && s.find('(') == std::string_view::npos) {
    size_t dot = s.find('.');
    if (dot != std::string_view::npos && dot > 0) {
      std::string_view rest = s.substr(dot + 1);
      s = s.substr(0, dot);
      while (!rest.empty()) {
        size_t end = rest.find('.');
        std::string suffix(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        end = rest.find('.');
        if (is_digits(rest.substr(0, end))) {
          suffix += "." + std::string(rest.substr(0, end));
          rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        }
        if (suffix.empty() || is_digits(suffix)) return false;
        found.push_back(std::move(suffix));
      }
    }
  }
  clones = std::move(found);
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
}

std::string normalize_spacing(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n') {
      pending_space = true;
      continue;
    }
    if (!out.empty() && is_ident_char(c)) {
      char prev = out.back();
      bool after_type = prev == '>' || prev == ')' || prev == ']' || prev == '*' || prev == '&';
      if ((pending_space && is_ident_char(prev)) || after_type) out += ' ';
    }
    pending_space = false;
    out += c;
  }
  return out;
}

std::string abbreviate_std(std::string normalized) {
  replace_all(normalized, "std::__cxx11::basic_string<char,std::char_traits<char>,std::allocator<char>>",
              "std::string");
  replace_all(normalized, "std::basic_string_view<char,std::char_traits<char>>", "std::string_view");
  return normalized;
}

size_t last_scope_separator(std::string_view name) {
  size_t last = std::string_view::npos;
  scan_top_level(name, [&](size_t i) {
    if (name.compare(i, 2, "::") == 0) last = i;
    return true;
  });
  return last;
}

std::string_view last_component(std::string_view name) {
  size_t sep = last_scope_separator(name);
  return sep == std::string_view::npos ? name : name.substr(sep + 2);
}

std::string_view strip_template_args(std::string_view name) {
  std::string_view comp = last_component(name);
  size_t start = name.size() - comp.size();
  if (comp.starts_with(kOperator)) {
    size_t op = operator_length(comp, 0, 0);
    if (op == 0 || op == comp.size() || comp[op] != '<' || comp.back() != '>') return name;
    return trim(name.substr(0, start + op));
  }
  if (comp.empty() || comp.back() != '>') return name;
  int depth = 0;
  for (size_t i = comp.size(); i-- > 0;) {
    if (comp[i] == '>') ++depth;
    if (comp[i] == '<' && --depth == 0) return name.substr(0, start + i);
  }
  return name;
}

std::string_view base_type(std::string_view type) {
  for (;;) {
    type = trim(type);
    if (type.ends_with('&') || type.ends_with('*')) {
      type.remove_suffix(1);
    } else if (type.ends_with(" const")) {
      type.remove_suffix(6);
    } else if (type.ends_with(" volatile")) {
      type.remove_suffix(9);
    } else {
      return type;
    }
  }
}

bool is_named_type(std::string_view type) {
  if (type.empty() || !(is_ident_char(type[0]) || type[0] == ':' || type[0] == '(')) return false;
  bool named = true;
  scan_top_level(type, [&](size_t i) {
    named = is_ident_char(type[i]) || type[i] == ':';
    return named;
  });
  return named;
}

}  // namespace internal

using internal::is_ident_char;
using internal::scan_top_level;
using internal::trim;

Result<Signature> parse_signature(std::string_view demangled) {
  std::string_view s = trim(demangled);
  auto fail = [&](std::string_view why) {
    std::string message = "'";
    message.append(demangled).append("' ").append(why);
    return Error(std::move(message));
  };
  if (s.empty()) return Error("empty symbol name");
  static constexpr std::string_view kNotEntries[] = {
      "non-virtual thunk to ",  "virtual thunk to ",      "covariant return thunk to ",
      "transaction clone for ", "TLS init function for ", "TLS wrapper function for ",
  };
  for (std::string_view prefix : kNotEntries) {
    if (s.starts_with(prefix)) return fail("is a thunk, not a function's entry");
  }
  Signature sig;
  if (!internal::split_clone_suffixes(s, sig.clones)) {
    return fail("is not a function signature");
  }
  for (const std::string& c : sig.clones) {
    switch (internal::clone_kind(c)) {
      case internal::CloneKind::kPiece:
        return fail("is a piece the compiler split off a function (." + c + "), not a function's entry");
      case internal::CloneKind::kOther:
        return fail("is a compiler-made copy (." + c + ") that pivot does not hook");
      default: break;
    }
  }

  size_t close = s.rfind(')');
  if (close == std::string_view::npos) {
    if (internal::is_c_identifier(s)) {
      sig.name = std::string(s);
      sig.params_known = false;
      return sig;
    }
    return fail("is not a function signature");
  }
  std::string_view tail = s.substr(close + 1);
  if (!internal::valid_qualifiers(tail)) return fail("is not a function signature");
  sig.qualifiers = internal::normalize_spacing(trim(tail));
  sig.const_method = !sig.qualifiers.empty();

  size_t open = std::string_view::npos;
  int depth = 0;
  for (size_t i = close + 1; i-- > 0;) {
    if (s[i] == ')') ++depth;
    if (s[i] == '(' && --depth == 0) {
      open = i;
      break;
    }
  }
  if (open == std::string_view::npos) return fail("is not a function signature");
  std::string_view prefix = trim(s.substr(0, open));
  if (prefix.empty()) return fail("is not a function signature");
  if (prefix.back() == ')' && !prefix.ends_with("operator()")) {
    return fail("is not supported (a function returning a function pointer?)");
  }

  size_t space = std::string_view::npos;
  scan_top_level(prefix, [&](size_t i) {
    if (prefix[i] == ' ') space = i;
    return true;
  });
  if (space != std::string_view::npos) {
    sig.return_type = std::string(trim(prefix.substr(0, space)));
    prefix = trim(prefix.substr(space + 1));
  }
  sig.name = internal::without_abi_tags(prefix);
  size_t sep = internal::last_scope_separator(sig.name);
  if (sep != std::string::npos) sig.scope = sig.name.substr(0, sep);
  if (sig.name.empty() || sig.name.ends_with("::")) return fail("is not a function signature");

  std::string_view content = s.substr(open + 1, close - open - 1);
  if (!trim(content).empty()) {
    size_t start = 0;
    auto add = [&](size_t end) {
      std::string_view param = trim(content.substr(start, end - start));
      start = end + 1;
      if (param.empty()) return false;
      sig.params.emplace_back(param);
      return true;
    };
    bool ok = true;
    scan_top_level(content, [&](size_t i) {
      if (content[i] == ',') ok = add(i);
      return ok;
    });
    if (!ok || !add(content.size())) return fail("has an empty parameter");
  }
  if (sig.params.size() == 1 && sig.params[0] == "void") sig.params.clear();
  if (!sig.params.empty() && sig.params.back() == "...") {
    sig.variadic = true;
    sig.params.pop_back();
  }
  return sig;
}

bool clone_moves_arguments(const Signature& sig) {
  return std::any_of(sig.clones.begin(), sig.clones.end(), [](const std::string& c) {
    return internal::clone_kind(c) == internal::CloneKind::kMovesArguments;
  });
}

std::string clone_suffix(const Signature& sig) {
  std::string out;
  for (const std::string& c : sig.clones) out += " [clone ." + c + "]";
  return out;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace pivot::hook
