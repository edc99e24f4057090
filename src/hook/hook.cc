#include "hook/hook.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>

#include "core/clock.h"
#include "hook/hook_state.h"
#include "hook/patch.h"
#include "hook/stub.h"
#include "tracepoint/registry.h"
#include "tracepoint/thread_state.h"

namespace pivot::hook {
namespace {

// ---------------------------------------------------------------------------
// Hooks and what is attached to them (hook_state.h).

std::mutex& hooks_mutex() {
  static std::mutex mu;
  return mu;
}

std::map<uintptr_t, Hook*>& hooks() {
  static auto* m = new std::map<uintptr_t, Hook*>;
  return *m;
}

// Publishes the hook's current attachments; returns the old snapshot.
const Snapshot* republish(Hook& h) {
  const Snapshot* fresh = nullptr;
  if (!h.attached.empty()) {
    auto* s = new Snapshot;
    for (Attachment* a : h.attached) {
      (a->at_return ? s->ret : s->entry).push_back(a);
      s->wants_time |= a->wants_time;
    }
    s->gpr = s->entry.size() <= 1 && s->ret.size() <= 1;
    s->gpr_entry = s->entry.empty() ? nullptr : s->entry[0];
    s->gpr_ret = s->ret.empty() ? nullptr : s->ret[0];
    fresh = s;
  }
  return h.snapshot.exchange(fresh, std::memory_order_acq_rel);
}

// ---------------------------------------------------------------------------
// Reading exports.

struct Call {
  const Attachment* attachment;
  const Regs* regs;
  int64_t duration;
};

int64_t int_of(uint64_t raw, const Reader& r) {
  // Only the low `width` bytes of the register are the argument's.
  switch (r.width) {
    case 1: return r.is_signed ? int64_t{static_cast<int8_t>(raw)} : int64_t{static_cast<uint8_t>(raw)};
    case 2: return r.is_signed ? int64_t{static_cast<int16_t>(raw)} : int64_t{static_cast<uint16_t>(raw)};
    case 4: return r.is_signed ? int64_t{static_cast<int32_t>(raw)} : int64_t{static_cast<uint32_t>(raw)};
    default: return static_cast<int64_t>(raw);
  }
}

Value read_arg(const Reader& r, const Regs& regs) {
  if (r.location == Location::kSseReg) {
    uint64_t bits = regs.xmm[r.index].lo;
    if (r.kind == ArgKind::kFloat) {
      float f;
      uint32_t low = static_cast<uint32_t>(bits);
      std::memcpy(&f, &low, sizeof f);
      return Value(static_cast<double>(f));
    }
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return Value(d);
  }
  uint64_t raw = regs.gp[r.index];
  switch (r.kind) {
    case ArgKind::kBool: return Value((raw & 0xff) != 0);
    case ArgKind::kInt: return Value(int_of(raw, r));
    case ArgKind::kPointer: return Value(static_cast<int64_t>(raw));
    case ArgKind::kCString: {
      const char* s = reinterpret_cast<const char*>(raw);
      return s == nullptr ? Value() : Value(std::string_view(s));
    }
    case ArgKind::kStdString: {
      const auto* s = reinterpret_cast<const std::string*>(raw);
      return s == nullptr ? Value() : Value(std::string_view(*s));
    }
    case ArgKind::kStringView:
      return Value(std::string_view(reinterpret_cast<const char*>(regs.gp[r.index + 1]), raw));
    default: return Value();
  }
}

void get_export(void* ctx, uint32_t i, ::pivot::internal::ExportSink& sink) {
  const Call& call = *static_cast<const Call*>(ctx);
  const Reader& r = call.attachment->readers[i];
  switch (r.source) {
    case Reader::Source::kArg: sink.put_value(read_arg(r, *call.regs)); break;
    case Reader::Source::kRet: sink.put_value(Value(static_cast<int64_t>(call.regs->ret_rax))); break;
    case Reader::Source::kDuration:
      sink.put_value(call.duration >= 0 ? Value(call.duration) : Value());
      break;
  }
}

// Calls of the slow path on this thread (full_saves_on_this_thread()).
constinit thread_local uint64_t t_full_saves [[gnu::tls_model("initial-exec")]] = 0;

void fire(const Attachment& a, Call& call) {
  call.attachment = &a;
  const ::pivot::internal::SiteAdvice* advice = a.site.advice.load(std::memory_order_acquire);
  if (advice != nullptr) advice->run(*advice, a.site, &call, &get_export);
}

}  // namespace
}  // namespace pivot::hook

// Called by the stub (stub.h) at every entry of a hooked function. A call
// made by pivot itself (in_tracer(): the advice, the agent's threads, a
// thread's state being made) runs unobserved: the hook path never recurses
// into itself, and never waits on a lock its own thread holds.
uint64_t pivot_hook_entry(pivot::hook::HookHeader* header, pivot::hook::Regs* regs) noexcept {
  using namespace pivot::hook;
  ++t_full_saves;
  if (::pivot::internal::in_tracer()) return 0;
  ::pivot::internal::TracerScope busy;
  auto* hook = static_cast<Hook*>(header);
  ::pivot::internal::ReadSection section(::pivot::internal::current_thread_state());
  if (!section.entered()) return 0;  // the tracer itself called it: not traced
  const Snapshot* s = hook->snapshot.load(std::memory_order_acquire);
  if (s == nullptr) return 0;
  Call call{nullptr, regs, -1};
  for (const Attachment* a : s->entry) fire(*a, call);
  if (s->ret.empty()) return 0;
  if (!s->wants_time) return 1;
  uint64_t t = ::pivot::internal::tsc_now();
  return t > 1 ? t : 2;
}

// Called by the stub when a function entered with a non-zero context returns.
void pivot_hook_return(pivot::hook::HookHeader* header, pivot::hook::Regs* regs) noexcept {
  using namespace pivot::hook;
  auto* hook = static_cast<Hook*>(header);
  uint64_t end = regs->ctx <= 1 ? 0 : regs->end_ticks != 0 ? regs->end_ticks : ::pivot::internal::tsc_now();
  ++t_full_saves;
  if (::pivot::internal::in_tracer()) return;
  ::pivot::internal::TracerScope busy;
  ::pivot::internal::ReadSection section(::pivot::internal::current_thread_state());
  if (!section.entered()) return;
  const Snapshot* s = hook->snapshot.load(std::memory_order_acquire);
  if (s == nullptr) return;
  int64_t duration = -1;
  if (regs->ctx > 1) {
    duration = ::pivot::internal::ticks_to_ns(end) - ::pivot::internal::ticks_to_ns(regs->ctx);
  }
  Call call{nullptr, regs, duration};
  for (const Attachment* a : s->ret) fire(*a, call);
}

namespace pivot::hook {

uint64_t full_saves_on_this_thread() { return t_full_saves; }

void set_gpr_readers(Attachment& a) {
  a.n_gpr_readers = 0;
  for (size_t i = 0; i < a.readers.size() && i < kGprReaders; ++i) {
    const Reader& r = a.readers[i];
    GprReader g;
    g.export_index = static_cast<uint8_t>(i);
    if (r.source == Reader::Source::kRet) {
      g.ret = true;
    } else if (r.source == Reader::Source::kArg && r.location == Location::kIntReg &&
               (r.kind == ArgKind::kInt || r.kind == ArgKind::kPointer)) {
      g.reg = r.index;
      if (r.kind == ArgKind::kInt) {  // as read_arg: a pointer is the whole register
        g.width = r.width;
        g.is_signed = r.is_signed;
      }
    } else {
      continue;  // a string, a double, a bool, the duration: the slow path's
    }
    a.gpr_readers[a.n_gpr_readers++] = g;
  }
}

// ---------------------------------------------------------------------------
// Symbols.

namespace {

std::mutex& symbols_mutex() {
  static std::mutex mu;
  return mu;
}

std::shared_ptr<const SymbolTable> read_symbols() {
  auto t = std::make_shared<SymbolTable>();
  t->functions = function_symbols(&t->classes);
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

struct IntType {
  const char* spelling;
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

// Reads argument `arg` as `kind`.
Reader arg_reader(const Arg& arg) {
  Reader r;
  r.source = Reader::Source::kArg;
  r.kind = arg.kind;
  r.location = arg.location;
  r.index = arg.index;
  if (arg.kind == ArgKind::kInt) {
    r.width = 4;  // an enum: its underlying type is not in the symbol; int is the common one
    r.is_signed = true;
    for (const IntType& t : kIntTypes) {
      if (arg.spelling == t.spelling) {
        r.width = t.width;
        r.is_signed = t.is_signed;
      }
    }
  }
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

bool has_stack_args(const Function& f) {
  if (f.signature.variadic) return true;
  return std::any_of(f.args.begin(), f.args.end(),
                     [](const Arg& a) { return a.location == Location::kUnknown; });
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
    return std::make_pair(r, ValueType::kInt);
  }
  int n = arg_number(e.ref);
  if (n < 0) return Error("export '" + e.name + "' = " + e.ref + ": expected argN, ret or duration");
  if (f.symbol.mangled.compare(0, 2, "_Z") != 0) {
    // A C function: its symbol carries no signature, so argN is the N-th
    // integer argument register, read as a 64-bit int.
    if (n >= 6)
      return Error(e.ref + " of the C function " + f.symbol.demangled +
                   ": only arg0..arg5 (registers) are read");
    Reader r;
    r.location = Location::kIntReg;
    r.index = static_cast<uint8_t>(n);
    return std::make_pair(r, ValueType::kInt);
  }
  if (static_cast<size_t>(n) >= f.args.size()) {
    std::string has =
        f.args.empty() ? "no arguments" : "arguments arg0..arg" + std::to_string(f.args.size() - 1);
    return Error(e.ref + " does not exist: " + f.symbol.demangled + " has " + has +
                 (f.is_member ? " (arg0 is this)" : ""));
  }
  const Arg& a = f.args[n];
  if (a.kind == ArgKind::kUnsupported) {
    return Error(
        e.ref + " of " + f.symbol.demangled + " has type '" + a.spelling + "', which cannot be exported" +
        (a.why.empty() ? "" : " (" + a.why + ")") +
        "; supported: integers, bool, enums, double, float, pointers, char const*, std::string const&, "
        "std::string_view");
  }
  if (a.location == Location::kUnknown) {
    return Error(e.ref + " of " + f.symbol.demangled + " cannot be located" +
                 (a.why.empty() ? "" : ": " + a.why));
  }
  return std::make_pair(arg_reader(a), value_type(a.kind));
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
  Probe probe;
  probe.spec = spec;
  probe.types.assign(spec.exports.size(), ValueType::kNull);
  for (Function& f : *fns) {
    if (std::string why = refusal(f.symbol, spec.at_return); !why.empty()) {
      return Error("cannot hook " + f.symbol.demangled + ": " + why);
    }
    std::vector<Reader>& readers = probe.readers.emplace_back();
    if (spec.at_return && has_stack_args(f)) {
      return Error("cannot hook the return of " + f.symbol.demangled +
                   ": it takes arguments on the stack (or variadic ones); use Entry");
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
  // parameter argN is.
  std::vector<ValueType> out(spec.exports.size(), ValueType::kNull);
  for (size_t i = 0; i < spec.exports.size(); ++i) {
    if (spec.exports[i].ref == "ret" || spec.exports[i].ref == "duration") out[i] = ValueType::kInt;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Attaching.

struct Probes::Impl {
  std::vector<std::unique_ptr<Attachment>> attachments;
  std::vector<std::pair<Hook*, Attachment*>> links;
  std::vector<std::string> lines;
};

namespace {

// Detaches everything in impl; waits for a grace period; frees.
void detach(Probes::Impl& impl) {
  std::vector<const Snapshot*> retired;
  {
    std::lock_guard<std::mutex> lock(hooks_mutex());
    for (auto& [hook, a] : impl.links) {
      auto& v = hook->attached;
      v.erase(std::remove(v.begin(), v.end(), a), v.end());
      retired.push_back(republish(*hook));
      if (v.empty() && hook->patch != nullptr) revert(*hook->patch);
    }
    for (auto& a : impl.attachments) ::pivot::internal::unregister_dynamic_site(&a->site);
  }
  impl.links.clear();
  ::pivot::internal::synchronize();  // no thread still reads a retired snapshot or these sites
  for (const Snapshot* s : retired) delete s;
  impl.attachments.clear();
}

}  // namespace

Result<std::unique_ptr<Probes>> Probes::attach(std::vector<Probe> probes) {
  auto impl = std::make_unique<Impl>();
  Status status;
  {
    std::lock_guard<std::mutex> lock(hooks_mutex());
    for (Probe& probe : probes) {
      for (size_t fi = 0; fi < probe.functions.size(); ++fi) {
        const Function& f = probe.functions[fi];
        Hook*& hook = hooks()[f.symbol.address];
        if (hook == nullptr) hook = new Hook;  // never freed, see Hook
        if (hook->patch == nullptr) {
          auto patch = prepare(f.symbol.address, f.symbol.size, hook, probe.neighbors[fi]);
          if (!patch) {
            status = Error("cannot hook " + f.symbol.demangled + ": " + patch.error().message());
            break;
          }
          hook->patch = *patch;
          hook->body = (*patch)->body;
        }
        auto a = std::make_unique<Attachment>();
        a->tracepoint = probe.spec.tracepoint;
        a->at_return = probe.spec.at_return;
        a->readers = probe.readers[fi];
        for (size_t i = 0; i < probe.spec.exports.size(); ++i) {
          a->names.push_back(probe.spec.exports[i].name);
          a->wants_time |= a->readers[i].source == Reader::Source::kDuration;
        }
        for (size_t i = 0; i < a->names.size(); ++i) {
          a->descs.push_back({a->names[i], probe.types[i], false});
        }
        set_gpr_readers(*a);
        a->info = ::pivot::internal::SiteInfo{a->tracepoint, "", 0, a->descs.data(),
                                              static_cast<uint32_t>(a->descs.size())};
        a->site.info = &a->info;
        ::pivot::internal::register_dynamic_site(&a->site);
        hook->attached.push_back(a.get());
        impl->links.emplace_back(hook, a.get());
        const Snapshot* old = republish(*hook);
        impl->attachments.push_back(std::move(a));
        if (old != nullptr) {
          ::pivot::internal::synchronize();  // rare: a second probe on one function
          delete old;
        }
        if (!hook->patch->applied) {
          if (Status s = apply(*hook->patch); !s) {
            status = Error("cannot hook " + f.symbol.demangled + ": " + s.error().message());
            break;
          }
        }
        std::string ifunc = f.symbol.ifunc.empty() ? "" : "IFUNC, calls " + f.symbol.ifunc + ", ";
        impl->lines.push_back(probe.spec.tracepoint + " @ " + f.symbol.demangled + " (" + f.symbol.object +
                              ", " + ifunc + hook->patch->describe() + ")");
      }
      if (!status) break;
    }
  }
  if (!status) {
    detach(*impl);
    return status.error();
  }
  return std::unique_ptr<Probes>(new Probes(std::move(impl)));
}

Probes::Probes(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Probes::~Probes() { detach(*impl_); }

std::vector<std::string> Probes::describe() const { return impl_->lines; }

}  // namespace pivot::hook
