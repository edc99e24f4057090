// list_functions() (functions.h).
#include "hook/functions.h"

#include <algorithm>
#include <map>

#include "hook/patch.h"
#include "hook/signature.h"

namespace pivot::hook {
namespace {

const char* const kIntRegs[] = {"rdi", "rsi", "rdx", "rcx", "r8", "r9"};

std::string where_of(const Arg& a) {
  switch (a.location) {
    case Location::kIntReg:
      return a.kind == ArgKind::kStringView
                 ? std::string(kIntRegs[a.index % 6]) + ", " + kIntRegs[a.index2 % 6]
                 : kIntRegs[a.index % 6];
    case Location::kSseReg: return "xmm" + std::to_string(a.index);
    case Location::kConstant: return "the constant " + std::to_string(a.value);
    case Location::kUnknown: break;
  }
  return a.why.empty() ? "unknown" : a.why;
}

std::string returns_of(const Function& f) {
  const std::string& type = f.ret.spelling;
  if (f.source == ArgSource::kDebugInfo && (type == "void" || type.starts_with("void ("))) return "void";
  switch (f.ret.kind) {
    case ArgKind::kDouble:
    case ArgKind::kFloat: return type + ", from xmm0";
    case ArgKind::kStringView: return type + ", from rax and rdx";
    case ArgKind::kStdString: return type + ", through rax";
    case ArgKind::kBool:
    case ArgKind::kCString:
    case ArgKind::kPointer: return type + ", from rax";
    default: break;
  }
  if (f.ret.spelling.empty() || f.source != ArgSource::kDebugInfo) return "the integer register rax, as int";
  if (!f.ret.why.empty()) return type + " (" + f.ret.why + ")";
  return type + ", from rax";
}

ListedFunction listed(Function& f, const SymbolTable& syms) {
  ListedFunction out;
  out.signature = f.symbol.demangled;
  out.object = f.symbol.object;
  const ObjectFile* object = syms.object_of(f.symbol);
  out.address = f.symbol.address - (object != nullptr ? object->bias : 0);
  out.size = f.symbol.size;
  out.ifunc = f.symbol.ifunc;
  if (std::string why = refusal(f.symbol, false); !why.empty()) {
    out.why_not = why;
  } else if (Status s =
                 check_patchable(f.symbol.address, f.symbol.size, neighbors_of(f.symbol, syms.functions));
             !s) {
    out.why_not = s.error().message();
  } else {
    out.hookable = true;
  }
  read_debug_info(f, syms);
  out.debug_info = f.source == ArgSource::kDebugInfo;
  out.how = f.how;
  out.is_member = f.is_member;
  for (const Arg& a : f.args) {
    ListedParam p;
    p.name = a.name;
    // As users write them: "std::string const&", not the demangler's long spelling.
    p.type = a.spelling == "this" ? f.signature.scope + (f.signature.const_method ? " const*" : "*")
                                  : internal::abbreviate_std(internal::normalize_spacing(a.spelling));
    p.readable = a.kind != ArgKind::kUnsupported && a.location != Location::kUnknown;
    p.where = a.kind == ArgKind::kUnsupported && !a.why.empty() ? a.why : where_of(a);
    out.params.push_back(std::move(p));
  }
  out.returns = returns_of(f);
  return out;
}

}  // namespace

Listing list_functions(std::string_view pattern, const SymbolTable& syms, size_t limit) {
  Listing listing;
  auto fns = syms.evidence
                 ? resolve_all(pattern, syms.functions, *syms.evidence)
                 : resolve_all(pattern, syms.functions, *gather_evidence(syms.functions, syms.classes));
  if (!fns) {
    listing.note = fns.error().message();
    return listing;
  }
  // A function and its whole-body clones are one entry (the function first;
  // a clone alone when the function itself is gone, inlined everywhere).
  std::map<std::pair<std::string, std::string>, std::vector<Function*>> groups;
  std::vector<std::pair<std::string, std::string>> order;
  for (Function& f : *fns) {
    std::string_view base = f.symbol.demangled;
    std::vector<std::string> suffixes;
    internal::split_clone_suffixes(base, suffixes);
    auto key = std::make_pair(f.symbol.object, std::string(base));
    auto& g = groups[key];
    if (g.empty()) order.push_back(key);
    g.push_back(&f);
  }
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second, a.first) < std::tie(b.second, b.first);
  });
  for (const auto& key : order) {
    if (listing.functions.size() >= limit) {
      ++listing.more;
      continue;
    }
    auto& g = groups[key];
    std::stable_partition(g.begin(), g.end(), [](const Function* f) { return f->signature.clones.empty(); });
    ListedFunction entry = listed(*g.front(), syms);
    for (size_t i = 1; i < g.size(); ++i) entry.clones.push_back(listed(*g[i], syms));
    listing.functions.push_back(std::move(entry));
  }
  return listing;
}

}  // namespace pivot::hook
