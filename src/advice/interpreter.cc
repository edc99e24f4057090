#include "advice/interpreter.h"

#include <sched.h>

#include <algorithm>
#include <mutex>

#include "core/clock.h"
#include "tracepoint/process_info.h"
#include "tracepoint/thread_state.h"

namespace pivot::advice {
namespace {

std::atomic<uint64_t> g_errors{0};

// A program bound to one site: where each observed export is in that site.
struct Bound {
  ProgramPtr program;
  std::vector<int32_t> export_index;  // per Observe: >= 0 the site's export, else kAbsent or a builtin
  std::vector<uint8_t> is_list;       // per Observe
  bool single_row = true;             // no list-valued export and no UNPACK: exactly one row
};

constexpr int32_t kAbsent = -1;  // the site lacks the export: null
constexpr int32_t builtin_index(internal::Builtin b) { return -2 - static_cast<int32_t>(b); }
constexpr internal::Builtin index_builtin(int32_t i) { return static_cast<internal::Builtin>(-2 - i); }

struct InstalledAdvice : internal::SiteAdvice {
  std::vector<Bound> bound;
};

// Per-thread buffers, reused across events so steady state allocates nothing.
struct Scratch {
  std::vector<Value> regs;
  std::vector<std::vector<Value>> lists;               // per Observe that is list-valued
  std::vector<std::vector<internal::Tuple>> unpacked;  // per Unpack
  std::vector<Value> temps, pack_values;               // computed keys and inputs, packed tuple
  std::vector<const Value*> keys, inputs;              // what EMIT adds: registers or temps
  std::vector<size_t> sizes, pos;                      // the row iteration
};

void free_scratch(internal::ThreadState& ts) {
  delete static_cast<Scratch*>(ts.scratch);
  ts.scratch = nullptr;
}

Scratch* scratch_of(internal::ThreadState& ts) {
  if (ts.scratch == nullptr) ts.scratch = new Scratch;
  return static_cast<Scratch*>(ts.scratch);
}

Value builtin_value(internal::Builtin b, const internal::ThreadState& ts) {
  const internal::ProcessInfo& p = internal::process_info();
  switch (b) {
    case internal::Builtin::kHost: return Value(p.host);
    case internal::Builtin::kProcName: return Value(p.proc_name);
    case internal::Builtin::kProcId: return Value(p.proc_id);
    case internal::Builtin::kTid: return Value(ts.tid);
    case internal::Builtin::kTimestamp: return Value(internal::now_ns());
    case internal::Builtin::kCpu: return Value(int64_t{sched_getcpu()});
  }
  return Value();
}

// Runs the FILTER/LET steps, then PACK or EMIT, for the row in s.regs.
void finish_row(const Program& p, Scratch& s, internal::ThreadState& ts, bool overflowed) {
  Value* regs = s.regs.data();
  for (const Step& step : p.steps) {
    if (step.is_filter) {
      if (!eval(*step.expr, regs).truthy()) return;
    } else {
      regs[step.reg] = eval(*step.expr, regs);
    }
  }
  if (p.pack) {
    s.pack_values.clear();
    for (const ExprPtr& e : p.pack->values) s.pack_values.push_back(eval(*e, regs));
    internal::bag_pack(p.pack->spec, s.pack_values);
  }
  if (p.emit) {
    const Emit& emit = *p.emit;
    aggregate::Partial* partial = emit.collector->thread_partial(ts);
    if (partial == nullptr) {
      g_errors.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    // Registers are passed by address; only computed values are copied.
    s.temps.clear();
    if (s.temps.capacity() < emit.keys.size() + emit.inputs.size()) {
      s.temps.reserve(emit.keys.size() + emit.inputs.size());  // pointers into temps stay valid
    }
    auto operand = [&](const ExprPtr& e) -> const Value* {
      if (e->kind == Expr::Kind::kReg) return &regs[e->reg];
      if (e->kind == Expr::Kind::kConst) return &e->constant;
      s.temps.push_back(eval(*e, regs));
      return &s.temps.back();
    };
    s.keys.clear();
    for (const ExprPtr& e : emit.keys) s.keys.push_back(operand(e));
    s.inputs.clear();
    for (const ExprPtr& e : emit.inputs) s.inputs.push_back(operand(e));
    int64_t weight = 1;
    if (emit.weight_reg >= 0) {
      const Value& w = regs[emit.weight_reg];
      weight = w.is_int() ? w.as_int() : 0;
    }
    if (weight > 0) partial->add(s.keys.data(), s.inputs.data(), weight);
    if (overflowed) partial->mark_incomplete();
  }
}

void run_program(const Bound& b, void* ctx, internal::GetExportFn get, internal::ThreadState& ts) {
  const Program& p = *b.program;
  Scratch& s = *scratch_of(ts);
  // Every register is written before it is read, except absent exports,
  // which are nulled below; so registers are not cleared per event.
  if (s.regs.size() < p.n_regs) s.regs.resize(p.n_regs);
  if (s.lists.size() < p.observe.size()) s.lists.resize(p.observe.size());

  // OBSERVE. A list-valued export becomes a dimension of the row iteration.
  for (size_t i = 0; i < p.observe.size(); ++i) {
    const Observe& o = p.observe[i];
    int32_t index = b.export_index[i];
    if (index >= 0) {
      internal::ExportSink sink(&s.regs[o.reg], &s.lists[i]);
      get(ctx, static_cast<uint32_t>(index), sink);
      if (b.is_list[i] && s.lists[i].empty()) return;  // no elements: no rows
    } else if (index != kAbsent) {
      s.regs[o.reg] = builtin_value(index_builtin(index), ts);
    } else {
      s.regs[o.reg] = Value();
    }
  }

  // UNPACK. An absent bag means no earlier event to join with: no rows.
  bool overflowed = false;
  if (s.unpacked.size() < p.unpacks.size()) s.unpacked.resize(p.unpacks.size());
  for (size_t u = 0; u < p.unpacks.size(); ++u) {
    bool o = false;
    if (!internal::bag_unpack(p.unpacks[u].spec, s.unpacked[u], &o)) {
      // A tuple this join needed may be one the byte cap dropped.
      if (o && p.emit) {
        if (aggregate::Partial* partial = p.emit->collector->thread_partial(ts)) partial->mark_incomplete();
      }
      return;
    }
    overflowed = overflowed || o;
  }

  if (b.single_row) {
    finish_row(p, s, ts, false);
    return;
  }

  // Iterate over every combination of list elements and unpacked tuples.
  std::vector<size_t>& sizes = s.sizes;
  sizes.clear();
  for (size_t i = 0; i < p.observe.size(); ++i) {
    if (b.is_list[i]) sizes.push_back(s.lists[i].size());
  }
  for (size_t u = 0; u < p.unpacks.size(); ++u) sizes.push_back(s.unpacked[u].size());
  std::vector<size_t>& pos = s.pos;
  pos.assign(sizes.size(), 0);
  for (;;) {
    size_t d = 0;
    for (size_t i = 0; i < p.observe.size(); ++i) {
      if (b.is_list[i]) s.regs[p.observe[i].reg] = s.lists[i][pos[d++]];
    }
    for (size_t u = 0; u < p.unpacks.size(); ++u) {
      const internal::Tuple& t = s.unpacked[u][pos[d++]];
      const Unpack& up = p.unpacks[u];
      for (uint16_t f = 0; f < up.n_fields; ++f) {
        s.regs[up.first_reg + f] = f < t.size() ? t[f] : Value();
      }
    }
    finish_row(p, s, ts, overflowed);
    // Next combination.
    size_t k = 0;
    while (k < sizes.size() && ++pos[k] == sizes[k]) pos[k++] = 0;
    if (k == sizes.size()) break;
  }
}

void run_advice(const internal::SiteAdvice& self, const internal::Site&, void* ctx,
                internal::GetExportFn get) noexcept {
  internal::ThreadState* ts = internal::current_thread_state();
  if (ts == nullptr) return;
  for (const Bound& b : static_cast<const InstalledAdvice&>(self).bound) {
    if (!b.program->enabled->load(std::memory_order_relaxed)) continue;
    try {
      run_program(b, ctx, get, *ts);
    } catch (...) {
      g_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

// ---------------------------------------------------------------------------
// Installation. Guarded by the registry mutex.

std::vector<ProgramPtr>& installed() {
  static auto* v = new std::vector<ProgramPtr>;
  return *v;
}

Bound bind(const ProgramPtr& p, const internal::Site& site) {
  Bound b{p, {}, {}, true};
  for (const Observe& o : p->observe) {
    int32_t index = kAbsent;
    bool list = false;
    for (uint32_t i = 0; i < site.info->n_exports; ++i) {
      if (site.info->exports[i].name == o.name) {
        index = static_cast<int32_t>(i);
        list = site.info->exports[i].is_list;
        break;
      }
    }
    internal::Builtin builtin;
    if (index == kAbsent && internal::builtin_named(o.name, &builtin)) index = builtin_index(builtin);
    b.export_index.push_back(index);
    b.is_list.push_back(list);
    if (list) b.single_row = false;
  }
  if (!p->unpacks.empty()) b.single_row = false;
  return b;
}

// Builds the advice of one site from the installed programs; null if none.
InstalledAdvice* build_advice(const internal::Site& site) {
  std::vector<ProgramPtr> mine;
  for (const ProgramPtr& p : installed()) {
    if (p->tracepoint == site.info->tracepoint) mine.push_back(p);
  }
  if (mine.empty()) return nullptr;
  // Programs nearer the emitting variable run first, so that at one event
  // an UNPACK never sees what this same event PACKs (a -> b means before).
  std::stable_sort(mine.begin(), mine.end(),
                   [](const ProgramPtr& a, const ProgramPtr& b) { return a->depth < b->depth; });
  auto* advice = new InstalledAdvice;
  advice->run = &run_advice;
  for (const ProgramPtr& p : mine) advice->bound.push_back(bind(p, site));
  return advice;
}

// Replaces the advice of every site whose tracepoint is in `names`;
// returns what was replaced, to free after a grace period.
std::vector<const internal::SiteAdvice*> republish(const std::vector<std::string>& names) {
  std::vector<const internal::SiteAdvice*> retired;
  for (internal::Site* site : internal::all_sites_locked()) {
    if (std::find(names.begin(), names.end(), site->info->tracepoint) == names.end()) continue;
    const internal::SiteAdvice* fresh = build_advice(*site);
    retired.push_back(site->advice.exchange(fresh, std::memory_order_acq_rel));
  }
  return retired;
}

void on_site_added(internal::Site& site) {
  try {
    site.advice.store(build_advice(site), std::memory_order_release);
  } catch (...) {
    g_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void free_retired(const std::vector<const internal::SiteAdvice*>& retired) {
  internal::synchronize();
  for (const internal::SiteAdvice* a : retired) delete static_cast<const InstalledAdvice*>(a);
}

std::vector<std::string> tracepoints_of(const std::vector<ProgramPtr>& programs) {
  std::vector<std::string> names;
  for (const ProgramPtr& p : programs) names.push_back(p->tracepoint);
  return names;
}

}  // namespace

void install_programs(const std::vector<ProgramPtr>& programs) {
  static const bool hooks = [] {
    internal::set_site_added_hook(&on_site_added);
    internal::add_thread_exit_hook(&free_scratch);
    return true;
  }();
  (void)hooks;
  std::vector<const internal::SiteAdvice*> retired;
  {
    std::lock_guard<std::mutex> lock(internal::registry_mutex());
    installed().insert(installed().end(), programs.begin(), programs.end());
    retired = republish(tracepoints_of(programs));
  }
  free_retired(retired);
}

void remove_programs(const std::vector<ProgramPtr>& programs) {
  std::vector<const internal::SiteAdvice*> retired;
  {
    std::lock_guard<std::mutex> lock(internal::registry_mutex());
    auto& all = installed();
    all.erase(std::remove_if(all.begin(), all.end(),
                             [&](const ProgramPtr& p) {
                               return std::find(programs.begin(), programs.end(), p) != programs.end();
                             }),
              all.end());
    retired = republish(tracepoints_of(programs));
  }
  free_retired(retired);
}

Stats stats() { return Stats{0, g_errors.load(std::memory_order_relaxed)}; }

}  // namespace pivot::advice
