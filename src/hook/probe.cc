// Tracepoint definitions resolved in this process (hook.h): the symbol
// table, make_probe() and what it reads each export from, refusal(),
// describe(). Attaching and the hook path are in hook.cc.
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "hook/code_scan.h"
#include "hook/debuginfo.h"
#include "hook/hook.h"

namespace pivot::hook {

// ---------------------------------------------------------------------------
// Symbols.

namespace {

std::mutex& symbols_mutex() {
  static std::mutex mu;
  return mu;
}

std::shared_ptr<const SymbolTable> read_symbols() {
  auto t = std::make_shared<SymbolTable>();
  t->functions = function_symbols(&t->classes, &t->objects);
  t->evidence = gather_evidence(t->functions, t->classes);
  return t;
}

// The current table, and every older one: a caller may still hold a
// reference from symbols(), so tables are never freed.
std::vector<std::shared_ptr<const SymbolTable>>& tables() {
  static auto* v = new std::vector<std::shared_ptr<const SymbolTable>>;
  return *v;
}

}  // namespace

const ObjectFile* SymbolTable::object_of(const FunctionSymbol& f) const {
  for (const ObjectFile& o : objects) {
    if (o.path == f.object) return &o;
  }
  return nullptr;
}

const SymbolTable& symbols() {
  std::lock_guard<std::mutex> lock(symbols_mutex());
  if (tables().empty()) tables().push_back(read_symbols());
  return *tables().back();
}

void refresh_symbols() {
  auto fresh = read_symbols();
  std::lock_guard<std::mutex> lock(symbols_mutex());
  tables().push_back(std::move(fresh));
}

// ---------------------------------------------------------------------------
// Typing.

namespace {

// Reads argument `arg` as its kind.
Reader arg_reader(const Arg& arg) {
  Reader r;
  r.source = Reader::Source::kArg;
  r.kind = arg.kind;
  r.location = arg.location;
  r.index = arg.index;
  r.index2 = arg.index2;
  r.width = arg.width;
  r.is_signed = arg.is_signed;
  r.constant = arg.value;
  return r;
}

// "arg12" -> 12; -1 for anything else.
int arg_number(const std::string& ref) {
  if (ref.size() < 4 || ref.compare(0, 3, "arg") != 0) return -1;
  int n = 0;
  for (size_t i = 3; i < ref.size(); ++i) {
    if (ref[i] < '0' || ref[i] > '9' || n > 1000) return -1;
    n = n * 10 + (ref[i] - '0');
  }
  return n;
}

bool is_c_name(const Function& f) { return f.symbol.mangled.compare(0, 2, "_Z") != 0; }

// Where a Return hook's call would move arguments: on the stack, or (a
// clone without debug information) where nobody can tell.
std::string stack_args_why(const Function& f) {
  if (f.signature.variadic) return "it takes variadic arguments";
  if (clone_moves_arguments(f.signature)) {
    // Its registers are not all known even with debug information (IPA-SRA
    // passes the parts of an aggregate it uses): its code says.
    return may_read_stack_arguments(f.symbol.address, f.symbol.size)
               ? "it is a clone whose code reads arguments from the stack (or that pivot cannot follow)"
               : "";
  }
  bool on_stack = std::any_of(f.args.begin(), f.args.end(), [](const Arg& a) {
    return a.location == Location::kUnknown && a.why.find("not passed") == std::string::npos;
  });
  return on_stack ? "it takes arguments on the stack (or arguments whose places are unknown)" : "";
}

// ", and nothing in the symbol tables shows that ns::C is a class: ..." for
// a function whose member-ness is a guess, "" otherwise.
std::string scope_guess_note(const Function& f) {
  if (f.source == ArgSource::kDebugInfo || f.is_member || f.signature.scope.empty() ||
      !f.signature.params_known)
    return "";
  return "; without debug information pivot takes " + f.signature.scope +
         " for a namespace (nothing in the symbol tables shows it is a class): if it is a class, export "
         "`this` (then arg0 is this and the parameters start at arg1), or build with -g";
}

std::string parameter_list(const Function& f) {
  std::string out;
  for (size_t i = 0; i < f.args.size(); ++i) {
    out += (i ? ", " : "") +
           (f.args[i].name.empty() ? "arg" + std::to_string(i) + " (unnamed)" : f.args[i].name);
  }
  return out.empty() ? "none" : out;
}

// The argument an export names: argN, `this` or a parameter name.
Result<const Arg*> find_arg(const ProbeSpec::Export& e, const Function& f) {
  int n = arg_number(e.ref);
  if (n >= 0) {
    if (static_cast<size_t>(n) < f.args.size()) return &f.args[n];
    std::string has =
        f.args.empty() ? "no arguments" : "arguments arg0..arg" + std::to_string(f.args.size() - 1);
    return Error(e.ref + " does not exist: " + f.symbol.demangled + " has " + has +
                 (f.is_member ? " (arg0 is this)" : "") + scope_guess_note(f));
  }
  if (e.ref == "this") {
    if (f.is_member) return &f.args[0];
    return Error("export '" + e.name + "' = this: " + f.symbol.demangled + " is not a member function" +
                 (f.source == ArgSource::kDebugInfo ? " (its debug information says so)" : ""));
  }
  if (f.source != ArgSource::kDebugInfo) {
    return Error("export '" + e.name + "' = " + e.ref +
                 ": parameter names come from debug information, and " + f.symbol.demangled + " has none (" +
                 f.how + "); use argN, or build with -g");
  }
  for (const Arg& a : f.args) {
    if (a.name == e.ref) return &a;
  }
  return Error("export '" + e.name + "' = " + e.ref + ": " + f.symbol.demangled +
               " has no parameter named '" + e.ref + "' (its parameters: " + parameter_list(f) + ")");
}

// One export of one function: its reader and type, or why not.
Result<std::pair<Reader, ValueType>> type_export(const ProbeSpec& spec, const ProbeSpec::Export& e,
                                                 const Function& f) {
  if (e.ref == "ret" || e.ref == "duration") {
    if (!spec.at_return) {
      return Error("'" + e.ref + "' is only known at Return, not at Entry (export '" + e.name + "')");
    }
    Reader r;
    r.source = e.ref == "ret" ? Reader::Source::kRet : Reader::Source::kDuration;
    if (e.ref == "duration") return std::make_pair(r, ValueType::kInt);
    r.kind = f.ret.kind;
    r.width = f.ret.width;
    r.is_signed = f.ret.is_signed;
    return std::make_pair(r, value_type(r.kind));
  }
  if (is_c_name(f) && f.source != ArgSource::kDebugInfo && arg_number(e.ref) >= 0) {
    // A C function: its symbol carries no signature, so argN is the N-th
    // integer argument register, read as a 64-bit int.
    int n = arg_number(e.ref);
    if (n >= 6)
      return Error(e.ref + " of the C function " + f.symbol.demangled +
                   ": only arg0..arg5 (registers) are read");
    Reader r;
    r.location = Location::kIntReg;
    r.index = static_cast<uint8_t>(n);
    return std::make_pair(r, ValueType::kInt);
  }
  auto found = find_arg(e, f);
  if (!found) return found.error();
  const Arg& a = **found;
  std::string what = e.ref + (a.name.empty() || a.name == e.ref ? "" : " (" + a.name + ")");
  if (a.kind == ArgKind::kUnsupported) {
    return Error(
        what + " of " + f.symbol.demangled + " has type '" + a.spelling + "', which cannot be exported" +
        (a.why.empty() ? "" : " (" + a.why + ")") +
        "; supported: integers, bool, enums, double, float, pointers, char const*, std::string const&, "
        "std::string_view");
  }
  if (a.location == Location::kUnknown) {
    return Error(what + " of " + f.symbol.demangled + " cannot be located" +
                 (a.why.empty() ? "" : ": " + a.why));
  }
  return std::make_pair(arg_reader(a), value_type(a.kind));
}

const char* kIntRegNames[] = {"rdi", "rsi", "rdx", "rcx", "r8", "r9"};

std::string where(const Reader& r) {
  switch (r.source) {
    case Reader::Source::kDuration: return "timed";
    case Reader::Source::kRet:
      return r.kind == ArgKind::kDouble || r.kind == ArgKind::kFloat ? "xmm0 at return"
             : r.kind == ArgKind::kStringView                        ? "rax, rdx at return"
                                                                     : "rax at return";
    case Reader::Source::kArg: break;
  }
  switch (r.location) {
    case Location::kConstant: return "the constant " + std::to_string(r.constant);
    case Location::kSseReg: return "xmm" + std::to_string(r.index);
    case Location::kIntReg:
      return r.kind == ArgKind::kStringView
                 ? std::string(kIntRegNames[r.index % 6]) + ", " + kIntRegNames[r.index2 % 6]
                 : std::string(kIntRegNames[r.index % 6]);
    case Location::kUnknown: break;
  }
  return "?";
}

std::string_view without_underscores(std::string_view name) {
  while (name.starts_with('_')) name.remove_prefix(1);
  return name;
}

bool in_list(std::string_view name, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), without_underscores(name)) != list.end();
}

// The functions of f's object that start within kNeighborhood bytes of it:
// hand-written code (the C library's string functions) branches into its
// neighbors, never far.
constexpr uintptr_t kNeighborhood = 16 * 1024;

// Of the functions a pattern matched, the ones a call of each name reaches:
//  - aliases of one function ("free" and "cfree" for "*free") are one;
//  - a name defined in several objects (an interposer: a sanitizer's
//    runtime, jemalloc, an LD_PRELOAD library, over the C library) is the
//    definition the dynamic linker binds it to, which the program's calls
//    reach; hooking the C library's copy too would count each call twice
//    when the interposer calls on to it.
void keep_what_calls_reach(std::vector<Function>& fns) {
  std::vector<uintptr_t> seen;
  std::erase_if(fns, [&](const Function& f) {
    if (std::find(seen.begin(), seen.end(), f.symbol.address) != seen.end()) return true;
    seen.push_back(f.symbol.address);
    return false;
  });
  std::vector<uintptr_t> unbound;
  for (const Function& f : fns) {
    bool interposed = std::any_of(fns.begin(), fns.end(), [&](const Function& g) {
      return g.symbol.mangled == f.symbol.mangled && g.symbol.object != f.symbol.object;
    });
    if (!interposed) continue;
    auto bound = reinterpret_cast<uintptr_t>(dlsym(RTLD_DEFAULT, f.symbol.mangled.c_str()));
    bool bound_here = std::any_of(fns.begin(), fns.end(), [&](const Function& g) {
      return g.symbol.mangled == f.symbol.mangled && g.symbol.address == bound;
    });
    if (bound_here && f.symbol.address != bound) unbound.push_back(f.symbol.address);
  }
  std::erase_if(fns, [&](const Function& f) {
    return std::find(unbound.begin(), unbound.end(), f.symbol.address) != unbound.end();
  });
}

}  // namespace

std::vector<Neighbor> neighbors_of(const FunctionSymbol& f, const std::vector<FunctionSymbol>& all) {
  std::vector<Neighbor> out;
  uintptr_t lo = f.address > kNeighborhood ? f.address - kNeighborhood : 0;
  auto it = std::lower_bound(all.begin(), all.end(), lo,
                             [](const FunctionSymbol& s, uintptr_t v) { return s.address < v; });
  for (; it != all.end() && it->address < f.address + f.size + kNeighborhood; ++it) {
    if (it->address == f.address || it->object != f.object || !it->ifunc.empty()) continue;
    if (!out.empty() && out.back().address == it->address) continue;  // an alias
    out.push_back({it->address, it->size, it->demangled});
  }
  return out;
}

void read_debug_info(Function& f, const SymbolTable& syms) {
  if (!f.symbol.ifunc.empty()) {
    // The implementation an IFUNC resolves to is hand-written assembly
    // (memcpy -> __memmove_evex_unaligned_erms): its debug information, if
    // any, is not the function's. Its arguments are the C name's registers.
    f.how += "; an IFUNC's implementation: no debug information is used";
    return;
  }
  const ObjectFile* object = syms.object_of(f.symbol);
  if (object == nullptr) {
    f.how += "; no debug information: its object is not loaded any more";
    return;
  }
  auto d = debug_function(*object, f.symbol.address);
  if (d) {
    apply_debug_info(f, *d);
  } else {
    f.how += "; " + d.error().message();
  }
}

std::string refusal(const FunctionSymbol& f, bool at_return) {
  std::string_view name = f.demangled;
  std::string_view base = std::string_view(f.object).substr(f.object.rfind('/') + 1);
  if (base.starts_with("ld-linux") || base.starts_with("ld64.so") || base.starts_with("ld-2.")) {
    return "it is in the dynamic loader (" + f.object +
           "), which runs with its own locks held; pivot's hook path (thread-local storage, allocation) "
           "may need them";
  }
  if (name.starts_with("pivot::") || name.starts_with("pivot_") || base.starts_with("libpivot")) {
    return "it is part of pivot, which does not trace itself";
  }
  // The C library's allocator calls these while it holds an arena lock
  // (grow_heap -> mprotect, sysmalloc -> mmap, heap_trim -> munmap/madvise,
  // morecore -> brk), and fork calls _Fork with every arena locked: the hook
  // path, which may allocate, would wait on that lock forever.
  if (in_list(name, {"mmap", "mmap64", "munmap", "mprotect", "madvise", "mremap", "brk", "sbrk",
                     "default_morecore", "glibc_morecore", "Fork"})) {
    return "the memory allocator calls it while holding its own lock (and pivot's hook path may allocate, "
           "which would wait for that lock forever)";
  }
  if (at_return && in_list(name, {"setjmp", "sigsetjmp", "vfork", "getcontext"})) {
    return "it returns twice, the second time into a stack frame that is gone; use Entry";
  }
  if (f.ifunc == "?") {
    char at[24];
    std::snprintf(at, sizeof at, "0x%lx", static_cast<unsigned long>(f.address));
    return "it is an IFUNC, and the implementation this process calls through it (at " + std::string(at) +
           ") has no symbol giving its size in " + f.object +
           " (install that library's debug symbols, e.g. libc6-dbg)";
  }
  return "";
}

Result<Probe> make_probe(const ProbeSpec& spec, const SymbolTable& syms) {
  auto fns = syms.evidence ? resolve(spec.pattern, syms.functions, *syms.evidence)
                           : resolve(spec.pattern, syms.functions, syms.classes);
  if (!fns) return fns.error();
  keep_what_calls_reach(*fns);
  const bool exports_this = std::any_of(spec.exports.begin(), spec.exports.end(),
                                        [](const ProbeSpec::Export& e) { return e.ref == "this"; });
  Probe probe;
  probe.spec = spec;
  probe.types.assign(spec.exports.size(), ValueType::kNull);
  for (Function& f : *fns) {
    if (std::string why = refusal(f.symbol, spec.at_return); !why.empty()) {
      return Error("cannot hook " + f.symbol.demangled + ": " + why);
    }
    read_debug_info(f, syms);
    if (exports_this && f.source == ArgSource::kSymbols && syms.evidence) locate_as_member(f, *syms.evidence);
    std::vector<Reader>& readers = probe.readers.emplace_back();
    if (spec.at_return) {
      if (std::string why = stack_args_why(f); !why.empty()) {
        return Error("cannot hook the return of " + f.symbol.demangled + ": " + why + "; use Entry");
      }
    }
    for (size_t i = 0; i < spec.exports.size(); ++i) {
      auto typed = type_export(spec, spec.exports[i], f);
      if (!typed) return typed.error();
      ValueType t = typed->second;
      if (&f != &fns->front() && t != probe.types[i]) {
        return Error("export '" + spec.exports[i].name + "' = " + spec.exports[i].ref + " is " +
                     std::string(type_name(t)) + " in " + f.symbol.demangled + " but " +
                     std::string(type_name(probe.types[i])) + " in " + fns->front().symbol.demangled +
                     "; narrow the pattern");
      }
      probe.types[i] = t;
      readers.push_back(typed->first);
    }
  }
  for (const Function& f : *fns) probe.neighbors.push_back(neighbors_of(f.symbol, syms.functions));
  probe.functions = std::move(*fns);
  return probe;
}

std::vector<ValueType> declared_types(const ProbeSpec& spec) {
  // Argument types need the process: without it, `this` cannot be told
  // from a namespace, so even a spelled-out signature does not say which
  // parameter argN is; and `ret` is typed by the function's debug
  // information, which only the process has.
  std::vector<ValueType> out(spec.exports.size(), ValueType::kNull);
  for (size_t i = 0; i < spec.exports.size(); ++i) {
    if (spec.exports[i].ref == "duration") out[i] = ValueType::kInt;
  }
  return out;
}

std::vector<std::string> describe(const Probe& probe) {
  std::vector<std::string> lines;
  std::string name = probe.spec.tracepoint.substr(0, probe.spec.tracepoint.find('#'));
  for (size_t fi = 0; fi < probe.functions.size(); ++fi) {
    const Function& f = probe.functions[fi];
    std::string line = name + " @ " + f.symbol.demangled + " (" + f.symbol.object + "): " + f.how;
    for (size_t i = 0; i < probe.spec.exports.size() && fi < probe.readers.size(); ++i) {
      const Reader& r = probe.readers[fi][i];
      line += (i == 0 ? "; " : ", ") + probe.spec.exports[i].name + " = " + probe.spec.exports[i].ref + " (" +
              where(r) + ", " + std::string(type_name(probe.types[i])) + ")";
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace pivot::hook
