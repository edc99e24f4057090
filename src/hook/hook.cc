// Hooks and the probes attached to them (hook.h): the hook path the stub
// calls, and attaching and detaching. Resolving and typing are in probe.cc.
#include "hook/hook.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "core/clock.h"
#include "hook/hook_state.h"
#include "hook/patch.h"
#include "hook/sanitizer.h"
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
  EntryShortcut shortcut = EntryShortcut::kNone;
  if (fresh != nullptr && fresh->gpr && fresh->entry.empty() && fresh->gpr_ret != nullptr) {
    shortcut = fresh->wants_time ? EntryShortcut::kMarkTime : EntryShortcut::kMark;
  }
  h.entry_shortcut.store(shortcut, std::memory_order_relaxed);
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

// A value of kind r.kind whose integer bits are `raw` (a pointer, an
// integer) or, for floating point, `sse`; a string_view's data is `raw2`.
Value value_of(const Reader& r, uint64_t raw, uint64_t raw2, uint64_t sse, bool in_sse) {
  if (in_sse || r.kind == ArgKind::kDouble || r.kind == ArgKind::kFloat) {
    uint64_t bits = in_sse ? sse : raw;
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
    case ArgKind::kStringView: return Value(std::string_view(reinterpret_cast<const char*>(raw2), raw));
    default: return Value();
  }
}

Value read_ret(const Reader& r, const Regs& regs) {
  bool sse = r.kind == ArgKind::kDouble || r.kind == ArgKind::kFloat;
  return value_of(r, regs.ret_rax, regs.ret_rdx, regs.ret_xmm0.lo, sse);
}

Value read_arg(const Reader& r, const Regs& regs) {
  if (r.location == Location::kConstant) {
    return value_of(r, static_cast<uint64_t>(r.constant), 0, static_cast<uint64_t>(r.constant), false);
  }
  if (r.location == Location::kSseReg) return value_of(r, 0, 0, regs.xmm[r.index].lo, true);
  if (r.kind == ArgKind::kStringView) return value_of(r, regs.gp[r.index], regs.gp[r.index2], 0, false);
  return value_of(r, regs.gp[r.index], 0, 0, false);
}

void get_export(void* ctx, uint32_t i, ::pivot::internal::ExportSink& sink) {
  const Call& call = *static_cast<const Call*>(ctx);
  const Reader& r = call.attachment->readers[i];
  switch (r.source) {
    case Reader::Source::kArg: sink.put_value(read_arg(r, *call.regs)); break;
    case Reader::Source::kRet: sink.put_value(read_ret(r, *call.regs)); break;
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

// Whether the calling thread may run the hook path at all; compiled without
// sanitizer instrumentation, as it runs first on whatever thread calls a
// hooked function (sanitizer.h). Not for pivot's own calls (the advice, the
// agent's threads, a thread's state being made: the hook path never recurses
// into itself, and never waits on a lock its own thread holds), nor on a
// thread whose pivot state was retired (it is exiting, and under
// ThreadSanitizer its shadow stack may be gone), nor on a thread without
// pivot state that the sanitizer has not set up (creating the state runs
// instrumented code).
PIVOT_HOOK_UNINSTRUMENTED inline bool may_observe() noexcept {
  if (::pivot::internal::detail::tls_in_tracer != 0) return false;
  auto state = reinterpret_cast<uintptr_t>(::pivot::internal::detail::tls_thread_state);
  if (state == ::pivot::internal::detail::kRetired) return false;
  return state != 0 || thread_is_set_up();
}

// The hook path proper, once may_observe() said yes.
[[gnu::noinline]] uint64_t observe_entry(HookHeader* header, Regs* regs) noexcept {
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

}  // namespace
}  // namespace pivot::hook

// Called by the stub (stub.h) at every entry of a hooked function that the
// fast path (gpr_entry.cc) gave back, or every entry when there is none.
PIVOT_HOOK_UNINSTRUMENTED uint64_t pivot_hook_entry(pivot::hook::HookHeader* header,
                                                    pivot::hook::Regs* regs) noexcept {
  ++pivot::hook::t_full_saves;
  if (!pivot::hook::may_observe()) return 0;
  return pivot::hook::observe_entry(header, regs);
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
    if (r.source == Reader::Source::kDuration) {
      g.from = GprReader::From::kDuration;
      a.gpr_readers[a.n_gpr_readers++] = g;
      continue;
    }
    // A string, a double, a bool: the slow path's.
    if (r.kind != ArgKind::kInt && r.kind != ArgKind::kPointer) continue;
    if (r.source == Reader::Source::kRet) {
      g.from = GprReader::From::kRet;
    } else if (r.location == Location::kIntReg) {
      g.reg = r.index;
    } else if (r.location == Location::kConstant) {
      g.from = GprReader::From::kConstant;
      g.constant = static_cast<uint64_t>(r.constant);
    } else {
      continue;
    }
    if (r.kind == ArgKind::kInt) {  // as value_of: a pointer is the whole register
      g.width = r.width;
      g.is_signed = r.is_signed;
    }
    a.gpr_readers[a.n_gpr_readers++] = g;
  }
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
          a->descs.push_back({a->names[i], probe.types[i], false, export_unit(probe.spec.exports[i])});
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
