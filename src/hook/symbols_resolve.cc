// resolve() and the x86-64 System V argument locations (symbols.h).
#include <algorithm>
#include <cctype>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "hook/signature.h"
#include "hook/symbols.h"

namespace pivot::hook {
namespace {

using internal::base_type;
using internal::is_named_type;
using internal::last_component;
using internal::normalize_spacing;
using internal::strip_template_args;

constexpr int kIntRegs = 6;
constexpr int kSseRegs = 8;
constexpr size_t kMaxCandidates = 10;

constexpr std::string_view kStdString =
    "std::__cxx11::basic_string<char,std::char_traits<char>,std::allocator<char>>";
constexpr std::string_view kStringView = "std::basic_string_view<char,std::char_traits<char>>";

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

void insert(StringSet& set, std::string_view s) {
  if (!set.contains(s)) set.emplace(s);
}

}  // namespace

// What the symbols say about which scopes are classes (resolve()'s evidence
// rule), for one name at a time, when resolve() asks. A process has tens of
// thousands of functions and a resolve() asks about a few names, so rather
// than parse every signature up front (a fifth of the first install's cost
// of reading the symbols, more under ThreadSanitizer), it parses those of
// the symbols that can say something about the name: a name is a
// function's scope or parameter type only where the function's demangled
// text contains the name's last component. Names are kept as demangled:
// one demangler spells a name one way.
//
// Thread safety: facts() may be called from several threads (installs in
// a Session and in an agent); the answers are memoized under a mutex.
struct ScopeEvidence {
  struct Facts {
    bool is_class = false;       // vtable, typeinfo, ctor, dtor or const method
    bool is_param_type = false;  // the base type of a parameter of some function
    bool is_scope = false;       // the scope of some function: a type with methods
  };

  const std::vector<FunctionSymbol>* symbols = nullptr;  // outlives this
  StringSet vtable_classes;                              // from vtable and typeinfo symbols

  Facts facts(std::string_view name) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = memo_.find(name); it != memo_.end()) return it->second;
    Facts f;
    f.is_class = vtable_classes.contains(name);
    std::string_view key = strip_template_args(last_component(name));
    for (const FunctionSymbol& symbol : *symbols) {
      if (symbol.demangled.find(key) == std::string::npos) continue;
      Result<Signature> sig = parse_signature(symbol.demangled);
      if (!sig) continue;
      for (const std::string& param : sig->params) {
        std::string_view base = base_type(param);
        if (base == name && is_named_type(base)) f.is_param_type = true;
      }
      if (sig->scope != name) continue;
      f.is_scope = true;
      std::string_view comp = strip_template_args(last_component(sig->name));
      if (sig->const_method || comp.starts_with('~') ||
          comp == strip_template_args(last_component(sig->scope))) {
        f.is_class = true;
      }
    }
    memo_.emplace(std::string(name), f);
    return f;
  }

  static bool is_lambda(std::string_view scope) {
    std::string_view comp = last_component(scope);
    return comp.starts_with("{lambda") || comp.starts_with("{unnamed type");
  }
  bool is_member_scope(std::string_view scope) const {
    if (is_lambda(scope)) return true;
    Facts f = facts(scope);
    return f.is_class || f.is_param_type;
  }
  // Why `scope` is taken for a class, for explain; "" when it is not.
  std::string why_class(std::string_view scope) const {
    if (is_lambda(scope)) return "a lambda";
    Facts f = facts(scope);
    if (f.is_class) return "it has a vtable, typeinfo, constructor, destructor or const method";
    if (f.is_param_type) return "it is a parameter type";
    return "";
  }
  // A named type by value: a class, or else taken for an enum.
  bool is_class_type(std::string_view type) const {
    if (is_lambda(type) || strip_template_args(type).size() != type.size()) return true;
    Facts f = facts(type);
    return f.is_class || f.is_scope;
  }

 private:
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, Facts, StringHash, std::equal_to<>> memo_;
};

namespace {

// How a type by value takes registers.
enum class Regs : uint8_t { kInt, kIntPair, kSse, kStack, kUnknown };

struct TypeClass {
  ArgKind kind;
  Regs regs;
  std::string why;  // for kUnsupported kinds and Regs::kStack / kUnknown
};

struct IntType {
  std::string_view spelling;
  uint8_t width;
  bool is_signed;
};
constexpr IntType kIntTypes[] = {
    {"char", 1, true},
    {"signed char", 1, true},
    {"unsigned char", 1, false},
    {"short", 2, true},
    {"unsigned short", 2, false},
    {"int", 4, true},
    {"unsigned int", 4, false},
    {"long", 8, true},
    {"unsigned long", 8, false},
    {"long long", 8, true},
    {"unsigned long long", 8, false},
    {"wchar_t", 4, true},
    {"char8_t", 1, false},
    {"char16_t", 2, false},
    {"char32_t", 4, false},
};

const IntType* integer_type(std::string_view t) {
  for (const IntType& i : kIntTypes) {
    if (i.spelling == t) return &i;
  }
  return nullptr;
}

bool is_integer_type(std::string_view t) { return integer_type(t) != nullptr; }

// An integer argument's width and sign from its spelling; an enum (whose
// underlying type a symbol does not carry) is taken for an int.
void set_int_width(Arg& arg) {
  if (arg.kind != ArgKind::kInt) return;
  const IntType* t = integer_type(normalize_spacing(arg.spelling));
  arg.width = t != nullptr ? t->width : 4;
  arg.is_signed = t != nullptr ? t->is_signed : true;
}

TypeClass classify(std::string_view spelling, const ScopeEvidence& evidence) {
  std::string n = normalize_spacing(spelling);
  std::string_view t = n;
  if (t.ends_with('*') || t.ends_with('&')) {
    if (t == "char const*" || t == "char*") return {ArgKind::kCString, Regs::kInt, ""};
    std::string_view base = base_type(t);
    std::string_view ref = t.substr(base.size());  // " const&", "&", "*", ...
    if (base == kStdString &&
        (ref == " const&" || ref == "&" || ref == "&&" || ref == " const*" || ref == "*")) {
      return {ArgKind::kStdString, Regs::kInt, ""};
    }
    return {ArgKind::kPointer, Regs::kInt, ""};
  }
  if ((t.ends_with(')') || t.ends_with(']')) && (t.find("(*") != t.npos || t.find("(&") != t.npos)) {
    if (t.find("::*)") != t.npos) {
      return {ArgKind::kUnsupported, Regs::kIntPair, "a pointer to member function is not supported"};
    }
    return {ArgKind::kPointer, Regs::kInt, ""};  // a pointer or reference to a function or an array
  }
  if (t == "bool") return {ArgKind::kBool, Regs::kInt, ""};
  if (is_integer_type(t)) return {ArgKind::kInt, Regs::kInt, ""};
  if (t == "double" || t == "_Float64") return {ArgKind::kDouble, Regs::kSse, ""};
  if (t == "float" || t == "_Float32") return {ArgKind::kFloat, Regs::kSse, ""};
  if (t == "decltype(nullptr)") return {ArgKind::kPointer, Regs::kInt, ""};
  if (t == kStringView || t == "std::string_view") return {ArgKind::kStringView, Regs::kIntPair, ""};
  if (t == kStdString) return {ArgKind::kStdString, Regs::kInt, ""};  // by invisible reference
  if (t == "long double") {
    return {ArgKind::kUnsupported, Regs::kStack, "long double is not supported (it is passed on the stack)"};
  }
  if (t == "__int128" || t == "unsigned __int128") {
    return {ArgKind::kUnsupported, Regs::kIntPair, "128-bit integers are not supported"};
  }
  if (t == "__float128" || t == "_Float128" || t == "_Float16") {
    return {ArgKind::kUnsupported, Regs::kSse, std::string(t) + " is not supported"};
  }
  if (t == "std::string") {  // only the pre-C++11 ABI string demangles so; non-trivial: by reference
    return {ArgKind::kUnsupported, Regs::kInt, "the pre-C++11-ABI std::string is not supported"};
  }
  std::string_view raw = internal::trim(spelling);
  if (is_named_type(t) && !evidence.is_class_type(raw)) return {ArgKind::kInt, Regs::kInt, ""};  // an enum
  std::string why = is_named_type(t) ? std::string(spelling) +
                                           " is a class passed by value, whose registers depend on its layout"
                                     : "type " + std::string(spelling) + " is not supported";
  return {ArgKind::kUnsupported, Regs::kUnknown, std::move(why)};
}

// For a template function, whose return type is known: 1 when the result is
// returned in memory (rdi holds its address), 0 when in registers, or an
// error message when it cannot be told.
Result<int> hidden_result_registers(const Signature& sig, const ScopeEvidence& evidence) {
  if (sig.return_type.empty() || sig.return_type == "void") return 0;
  std::string n = normalize_spacing(sig.return_type);
  if (n == kStdString || n == "std::string") return 1;  // not trivially copyable: in memory
  TypeClass c = classify(sig.return_type, evidence);
  if ((c.kind == ArgKind::kUnsupported && c.regs == Regs::kUnknown) || n == "auto" || n == "decltype(auto)") {
    return Error("it returns " + sig.return_type + " by value, which may take rdi for the result's address");
  }
  return 0;
}

std::vector<Arg> locate_args(const Signature& sig, bool is_member, const ScopeEvidence& evidence) {
  std::vector<Arg> args;
  if (!sig.params_known) return args;
  int next_int = 0;
  int next_sse = 0;
  std::string unknown_after;  // once set, every later argument's location is unknown
  if (clone_moves_arguments(sig)) {
    unknown_after = "it is a clone the compiler made with other arguments than the function's (" +
                    clone_suffix(sig).substr(1) +
                    ": parameters dropped, replaced by constants or by the parts used), and without debug "
                    "information pivot cannot tell where they are; build with -g, or use COUNT, duration "
                    "and ret only";
  } else if (auto hidden = hidden_result_registers(sig, evidence)) {
    next_int = *hidden;
  } else {
    unknown_after = hidden.error().message();
  }
  auto place = [&](Arg& arg, Regs regs, const std::string& type_why) {
    if (!unknown_after.empty()) {
      arg.why = arg.kind == ArgKind::kUnsupported ? type_why : unknown_after;
      return;
    }
    arg.why = type_why;
    switch (regs) {
      case Regs::kInt:
      case Regs::kIntPair: {
        int need = regs == Regs::kInt ? 1 : 2;
        if (next_int + need <= kIntRegs) {
          arg.location = Location::kIntReg;
          arg.index = static_cast<uint8_t>(next_int);
          arg.index2 = static_cast<uint8_t>(next_int + 1);  // a pair's second (a string_view's data)
          next_int += need;
        } else if (arg.why.empty()) {
          arg.why = "passed on the stack: the integer registers are taken";
        }
        break;
      }
      case Regs::kSse:
        if (next_sse < kSseRegs) {
          arg.location = Location::kSseReg;
          arg.index = static_cast<uint8_t>(next_sse++);
        } else if (arg.why.empty()) {
          arg.why = "passed on the stack: the SSE registers are taken";
        }
        break;
      case Regs::kStack: break;
      case Regs::kUnknown:
        unknown_after =
            "it follows " + arg.spelling + ", a class passed by value, whose registers are unknown";
        break;
    }
  };
  if (is_member) {
    Arg self;
    self.spelling = "this";
    self.name = "this";
    self.kind = ArgKind::kPointer;
    place(self, Regs::kInt, "");
    args.push_back(std::move(self));
  }
  for (const std::string& param : sig.params) {
    TypeClass c = classify(param, evidence);
    Arg arg;
    arg.spelling = param;
    arg.kind = c.kind;
    set_int_width(arg);
    place(arg, c.regs, c.why);
    args.push_back(std::move(arg));
  }
  return args;
}

// What `ret` reads without debug information: the integer return register,
// unless a template function's return type says more.
Arg return_value(const Signature& sig, const ScopeEvidence& evidence) {
  Arg ret;
  ret.spelling = sig.return_type;
  ret.kind = ArgKind::kInt;
  if (sig.return_type.empty() || clone_moves_arguments(sig))
    return ret;  // an IPA-SRA clone may return nothing
  TypeClass c = classify(sig.return_type, evidence);
  switch (c.kind) {
    case ArgKind::kInt:
    case ArgKind::kBool:
    case ArgKind::kDouble:
    case ArgKind::kFloat:
    case ArgKind::kCString:
    case ArgKind::kStdString:  // returned through the hidden pointer, which rax holds at return
      ret.kind = c.kind;       // a std::string by value: rax holds the hidden result pointer at return
      set_int_width(ret);
      break;
    default: break;
  }
  return ret;
}

// How resolve() found a function's arguments, for explain.
std::string symbol_rule(const Signature& sig, bool is_member, const ScopeEvidence& evidence) {
  if (!sig.params_known) return "symbol table: a C name, whose argN are the integer argument registers";
  std::string rule = "symbol table: ";
  if (clone_moves_arguments(sig)) return rule + "a clone with moved arguments, which cannot be read";
  if (is_member)
    return rule + "a member of " + sig.scope + " (a class: " + evidence.why_class(sig.scope) + ")";
  if (!sig.scope.empty()) {
    return rule + sig.scope +
           " taken for a namespace (nothing in the symbol tables shows it is a class; if it is one, "
           "export `this` or build with -g)";
  }
  return rule + "the demangled signature";
}

// "a, b, c, and 4 more" of sorted, deduplicated names.
// Sorted by name, or by how long a prefix each shares with `near` first
// (the same namespace and class before the rest).
std::string candidate_list(std::vector<std::string> names, std::string_view near = {}) {
  auto shared = [&](const std::string& s) {
    size_t n = 0;
    while (n < s.size() && n < near.size() && s[n] == near[n]) ++n;
    return n;
  };
  std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    size_t sa = shared(a), sb = shared(b);
    return sa != sb ? sa > sb : a < b;
  });
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxCandidates; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > kMaxCandidates)
    out += ", and " + std::to_string(names.size() - kMaxCandidates) + " more";
  return out;
}

// A compiled pattern: glob_match() text in which a '*' that stands for a
// pointer is '\x01', as is every '*' of the text it is matched with.
struct Pattern {
  bool signature = false;  // has a parameter list
  bool has_glob = false;
  bool has_template_args = false;
  std::string glob;
  std::string needle;  // its longest word, which every text it matches contains
};

// A pattern with a parameter list: it ends with ')' (and maybe qualifiers),
// and that is not the ')' of "operator()" or "(anonymous namespace)".
bool is_signature_pattern(std::string_view p) {
  for (;;) {
    while (p.ends_with(' ')) p.remove_suffix(1);
    if (p.ends_with('&')) {
      p.remove_suffix(1);
      continue;
    }
    size_t word = p.size();
    while (word > 0 && internal::is_ident_char(p[word - 1])) --word;
    std::string_view last = p.substr(word);
    if (last != "const" && last != "volatile") break;
    p.remove_suffix(last.size());
  }
  return p.ends_with(')') && !p.ends_with("operator()") && !p.ends_with("(anonymous namespace)");
}

Pattern compile(std::string_view text) {
  Pattern p;
  p.signature = is_signature_pattern(text);
  std::string n = internal::abbreviate_std(normalize_spacing(text));
  if (p.signature) {
    for (size_t at = n.find("(void)"); at != std::string::npos; at = n.find("(void)", at))
      n.replace(at, 6, "()");
  }
  int depth = 0;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    if (c == '(') ++depth;
    if (c == ')' && depth > 0) --depth;
    if (c == '*' && p.signature && depth > 0 && i > 0) {
      char prev = n[i - 1];
      bool after_type = internal::is_ident_char(prev) || prev == '>' || prev == ')' || prev == ']' ||
                        prev == '*' || prev == '&' || prev == '\x01';
      bool function_pointer = depth >= 2 && prev == '(' && i + 1 < n.size() && n[i + 1] == ')';
      if (after_type || function_pointer) c = '\x01';
    }
    p.has_glob = p.has_glob || c == '*' || c == '?';
    p.glob += c;
  }
  p.has_template_args = n.find('<') != std::string::npos;
  for (size_t i = 0; i < p.glob.size();) {
    size_t end = i;
    while (end < p.glob.size() && internal::is_ident_char(p.glob[end])) ++end;
    if (end - i > p.needle.size()) p.needle = p.glob.substr(i, end - i);
    i = end + 1;
  }
  return p;
}

std::string signature_text(const Signature& sig) {
  std::string text = sig.name + "(";
  for (size_t i = 0; i < sig.params.size(); ++i) {
    if (i > 0) text += ",";
    text += sig.params[i];
  }
  if (sig.variadic) text += sig.params.empty() ? "..." : ",...";
  text += ")";
  if (!sig.qualifiers.empty()) text += " " + sig.qualifiers;
  text = internal::abbreviate_std(normalize_spacing(text));
  std::replace(text.begin(), text.end(), '*', '\x01');
  return text;
}

bool matches(const Pattern& p, const Signature& sig) {
  if (p.signature) return sig.params_known && glob_match(p.glob, signature_text(sig));
  std::string name = internal::abbreviate_std(normalize_spacing(sig.name));
  if (glob_match(p.glob, name)) return true;
  if (p.has_template_args) return false;
  std::string_view bare = strip_template_args(name);
  return bare.size() != name.size() && glob_match(p.glob, bare);
}

bool is_deleting_destructor(const FunctionSymbol& s) { return s.mangled.ends_with("D0Ev"); }
bool is_other_destructor(const FunctionSymbol& s) {
  return s.mangled.ends_with("D1Ev") || s.mangled.ends_with("D2Ev");
}

struct Match {
  const FunctionSymbol* symbol;
  Signature signature;
  std::string key;  // what tells signatures apart (normalized)
};

}  // namespace

ValueType value_type(ArgKind kind) {
  switch (kind) {
    case ArgKind::kInt:
    case ArgKind::kPointer: return ValueType::kInt;
    case ArgKind::kBool: return ValueType::kBool;
    case ArgKind::kDouble:
    case ArgKind::kFloat: return ValueType::kDouble;
    case ArgKind::kCString:
    case ArgKind::kStdString:
    case ArgKind::kStringView: return ValueType::kString;
    case ArgKind::kUnsupported: return ValueType::kNull;
  }
  return ValueType::kNull;
}

std::shared_ptr<const ScopeEvidence> gather_evidence(const std::vector<FunctionSymbol>& symbols,
                                                     const std::vector<std::string>& classes) {
  auto evidence = std::make_shared<ScopeEvidence>();
  evidence->symbols = &symbols;
  for (const std::string& c : classes) insert(evidence->vtable_classes, c);
  return evidence;
}

Result<std::vector<Function>> resolve(std::string_view pattern, const std::vector<FunctionSymbol>& symbols,
                                      const std::vector<std::string>& classes) {
  return resolve(pattern, symbols, *gather_evidence(symbols, classes));
}

namespace {

Result<std::vector<Function>> resolve_impl(std::string_view pattern,
                                           const std::vector<FunctionSymbol>& symbols,
                                           const ScopeEvidence& evidence, bool overloads_ok) {
  std::string_view trimmed = pattern;
  while (!trimmed.empty() && trimmed.front() == ' ') trimmed.remove_prefix(1);
  while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
  if (trimmed.empty()) return Error("empty function pattern");
  Pattern p = compile(trimmed);

  std::vector<Match> found;
  for (const FunctionSymbol& symbol : symbols) {
    if (symbol.demangled.find(p.needle) == std::string::npos) continue;
    Result<Signature> sig = parse_signature(symbol.demangled);
    if (sig && matches(p, *sig)) {
      std::string key = sig->params_known ? signature_text(*sig) : sig->name;
      found.push_back({&symbol, std::move(*sig), std::move(key)});
    }
  }

  if (found.empty()) return internal::no_match(trimmed, p.signature, symbols);

  // A deleting destructor calls the complete one: hooking both would count twice.
  std::erase_if(found, [&](const Match& m) {
    if (!is_deleting_destructor(*m.symbol)) return false;
    return std::any_of(found.begin(), found.end(), [&](const Match& other) {
      return other.key == m.key && other.symbol->object == m.symbol->object &&
             is_other_destructor(*other.symbol);
    });
  });
  std::sort(found.begin(), found.end(), [](const Match& a, const Match& b) {
    return std::tie(a.symbol->demangled, a.symbol->address) <
           std::tie(b.symbol->demangled, b.symbol->address);
  });

  if (!p.has_glob && !overloads_ok) {
    std::vector<std::string> names;
    std::unordered_set<std::string_view> keys;
    for (const Match& m : found) {
      if (keys.insert(m.key).second) names.push_back(m.symbol->demangled);
    }
    if (keys.size() > 1) {
      return Error("ambiguous: '" + std::string(trimmed) + "' matches " + std::to_string(keys.size()) +
                   " functions: " + candidate_list(std::move(names)) + "; write the signature");
    }
  }

  std::vector<Function> out;
  out.reserve(found.size());
  for (Match& m : found) {
    Function f;
    f.symbol = *m.symbol;
    f.is_member =
        m.signature.params_known && !m.signature.scope.empty() && evidence.is_member_scope(m.signature.scope);
    f.args = locate_args(m.signature, f.is_member, evidence);
    f.ret = return_value(m.signature, evidence);
    f.how = symbol_rule(m.signature, f.is_member, evidence);
    f.signature = std::move(m.signature);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

Result<std::vector<Function>> resolve(std::string_view pattern, const std::vector<FunctionSymbol>& symbols,
                                      const ScopeEvidence& evidence) {
  return resolve_impl(pattern, symbols, evidence, false);
}

Result<std::vector<Function>> resolve_all(std::string_view pattern,
                                          const std::vector<FunctionSymbol>& symbols,
                                          const ScopeEvidence& evidence) {
  return resolve_impl(pattern, symbols, evidence, true);
}

void locate_as_member(Function& f, const ScopeEvidence& evidence) {
  if (f.is_member || !f.signature.params_known || f.signature.scope.empty()) return;
  f.is_member = true;
  f.args = locate_args(f.signature, true, evidence);
  f.how = "symbol table: a member of " + f.signature.scope + " (the query exports `this`)";
}

}  // namespace pivot::hook
