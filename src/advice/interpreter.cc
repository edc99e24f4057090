#include "advice/interpreter.h"

#include <sched.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "advice/gpr_plan.h"
#include "baggage/trace_state.h"
#include "core/clock.h"
#include "tracepoint/process_info.h"
#include "tracepoint/thread_state.h"

namespace pivot::advice {
namespace {

std::atomic<uint64_t> g_errors{0};

const Value kNull;

constexpr int32_t kAbsent = -1;  // the site lacks the export: null
constexpr int32_t builtin_index(internal::Builtin b) { return -2 - static_cast<int32_t>(b); }
constexpr internal::Builtin index_builtin(int32_t i) { return static_cast<internal::Builtin>(-2 - i); }

// A register or a constant.
struct Leaf {
  const Value* constant = nullptr;  // else the register
  uint16_t reg = 0;
  const Value& get(const Value* const* regs) const { return constant != nullptr ? *constant : *regs[reg]; }
};

// An EMIT key or input, resolved when the program is bound to a site: a
// leaf, an arithmetic or comparison of two leaves (computed here when both
// are ints, the common `a.delta % 8`), or any other expression (eval).
struct Operand {
  enum class Kind : uint8_t { kLeaf, kBinary, kExpr };
  Kind kind = Kind::kLeaf;
  Op op = Op::kAdd;
  Leaf a, b;                   // kLeaf: a
  const Expr* expr = nullptr;  // kBinary (when not both ints), kExpr
  bool hash_known = false;     // a key whose value, so whose hash, is fixed
  size_t hash = 0;
};

// The common shape, precompiled: one row (no list-valued export, no
// UNPACK), no PACK, and an EMIT of a few keys and inputs. Everything the
// run needs is in fixed arrays here, so it loops over no vectors and calls
// nothing but the export getter, eval for what is not a simple operand, and
// Partial::add_hashed.
inline constexpr uint32_t kSimpleRegs = 16, kSimpleObserves = 8, kSimpleOperands = 4;
struct Simple {
  struct Obs {
    int32_t index;  // >= 0: the site's export
    uint16_t reg;
    const Value* fixed;         // a fixed builtin, else null
    internal::Builtin builtin;  // index < 0 and not kAbsent, not fixed
  };
  uint16_t n_regs = 0;
  uint8_t n_observe = 0, n_keys = 0, n_inputs = 0;
  Obs obs[kSimpleObserves];
  Operand keys[kSimpleOperands], inputs[kSimpleOperands];
  const Step* steps = nullptr;
  size_t n_steps = 0;
  aggregate::Collector* collector = nullptr;
  using RunFn = void (*)(const Simple&, void* ctx, internal::GetExportFn get, internal::ThreadState& ts);
  RunFn run = nullptr;  // run_simple<n_keys, n_inputs>
};

// A program bound to one site: where each observed export is in that site.
struct Bound {
  ProgramPtr program;
  std::vector<int32_t> export_index;  // per Observe: >= 0 the site's export, else kAbsent or a builtin
  std::vector<uint8_t> is_list;       // per Observe
  // Per Observe: the value of a builtin that is fixed for the process (host,
  // procName, procId), which registers point at instead of copying it.
  std::vector<Value> fixed;
  std::vector<Operand> keys, inputs;     // EMIT's
  bool single_row = true;                // no list-valued export and no UNPACK: exactly one row
  std::unique_ptr<const Simple> simple;  // set when the program has the common shape
};

struct InstalledAdvice : GprAdvice {
  std::vector<Bound> bound;
};

// Per-thread buffers, reused across events so steady state allocates nothing.
//
// Registers are pointers (regs): to vals, where this event's observed and
// computed values live, or to where a value already is (a fixed builtin, a
// list element, an unpacked field, null), so that nothing is copied to
// read it.
struct Scratch {
  std::vector<Value> vals;
  std::vector<const Value*> regs;
  std::vector<std::vector<Value>> lists;               // per Observe that is list-valued
  std::vector<std::vector<internal::Tuple>> unpacked;  // per Unpack
  std::vector<Value> temps, pack_values;               // computed keys and inputs, packed tuple
  std::vector<const Value*> keys, inputs;              // what EMIT adds
  std::vector<size_t> sizes, pos;                      // the row iteration
  std::vector<Value> no_list;                          // for scalar exports' sinks
  // The simple path's (Simple): registers, and computed keys and inputs.
  Value simple_vals[kSimpleRegs];
  const Value* simple_regs[kSimpleRegs];
  Value simple_temps[2 * kSimpleOperands];
};

void free_scratch(internal::ThreadState& ts) {
  delete static_cast<Scratch*>(ts.scratch);
  ts.scratch = nullptr;
}

inline Scratch* scratch_of(internal::ThreadState& ts) {
  if (ts.scratch == nullptr) [[unlikely]]
    ts.scratch = new Scratch;
  return static_cast<Scratch*>(ts.scratch);
}

bool builtin_is_fixed(internal::Builtin b) {
  return b == internal::Builtin::kHost || b == internal::Builtin::kProcName ||
         b == internal::Builtin::kProcId;
}

Value fixed_builtin_value(internal::Builtin b) {
  const internal::ProcessInfo& p = internal::process_info();
  switch (b) {
    case internal::Builtin::kHost: return Value(p.host);
    case internal::Builtin::kProcName: return Value(p.proc_name);
    case internal::Builtin::kProcId: return Value(p.proc_id);
    default: return Value();
  }
}

// The thread's W3C trace id as 32 hex digits, null without a trace.
Value trace_id_value() {
  const TraceContext& t = internal::current_trace();
  if (!t.valid()) return Value();
  char hex[32];
  internal::write_hex(t.trace_id.data(), t.trace_id.size(), hex);
  return Value(std::string_view(hex, sizeof hex));
}

// A builtin that changes per event (not fixed).
Value builtin_value(internal::Builtin b, const internal::ThreadState& ts) {
  switch (b) {
    case internal::Builtin::kTid: return Value(ts.tid);
    case internal::Builtin::kTimestamp: return Value(internal::now_ns());
    case internal::Builtin::kCpu: return Value(int64_t{sched_getcpu()});
    case internal::Builtin::kTraceId: return trace_id_value();
    default: return fixed_builtin_value(b);
  }
}

const Value* computed_operand(const Operand& o, const Value* const* regs, Value& temp) {
  if (o.kind == Operand::Kind::kBinary) {
    const Value& x = o.a.get(regs);
    const Value& y = o.b.get(regs);
    if (x.is_int() && y.is_int() && int_binary(o.op, x.as_int(), y.as_int(), temp)) return &temp;
  }
  temp = eval(*o.expr, regs);
  return &temp;
}

[[gnu::always_inline]] inline const Value* operand_value(const Operand& o, const Value* const* regs,
                                                         Value& temp) {
  if (o.kind == Operand::Kind::kLeaf) [[likely]]
    return &o.a.get(regs);
  return computed_operand(o, regs, temp);
}

void emit_row(const Bound& b, const Emit& emit, Scratch& s, internal::ThreadState& ts, bool overflowed) {
  aggregate::Partial* partial = emit.collector->thread_partial(ts);
  if (partial == nullptr) [[unlikely]] {
    g_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const Value* const* regs = s.regs.data();
  size_t n_keys = b.keys.size(), n_inputs = b.inputs.size();
  if (s.keys.size() < n_keys) s.keys.resize(n_keys);
  if (s.inputs.size() < n_inputs) s.inputs.resize(n_inputs);
  if (s.temps.size() < n_keys + n_inputs) s.temps.resize(n_keys + n_inputs);
  size_t hash = aggregate::kKeyHashSeed;
  for (size_t k = 0; k < n_keys; ++k) {
    const Operand& o = b.keys[k];
    const Value* v = operand_value(o, regs, s.temps[k]);
    s.keys[k] = v;
    hash = aggregate::mix_hash(hash, o.hash_known ? o.hash : v->hash());
  }
  for (size_t i = 0; i < n_inputs; ++i) s.inputs[i] = operand_value(b.inputs[i], regs, s.temps[n_keys + i]);
  int64_t weight = 1;
  if (emit.weight_reg >= 0) {
    const Value& w = *regs[emit.weight_reg];
    weight = w.is_int() ? w.as_int() : 0;
  }
  if (weight > 0) partial->add_hashed(s.keys.data(), hash, s.inputs.data(), weight);
  if (overflowed) partial->mark_incomplete();
}

// Runs the FILTER/LET steps, then PACK or EMIT, for the row in s.regs.
void finish_row(const Bound& b, Scratch& s, internal::ThreadState& ts, bool overflowed) {
  const Program& p = *b.program;
  const Value** regs = s.regs.data();
  if (!run_steps(p.steps.data(), p.steps.size(), s.vals.data(), regs)) return;
  if (p.pack) {
    s.pack_values.clear();
    for (const ExprPtr& e : p.pack->values) s.pack_values.push_back(eval(*e, regs));
    internal::bag_pack(p.pack->spec, s.pack_values);
  }
  if (p.emit) emit_row(b, *p.emit, s, ts, overflowed);
}

void run_program(const Bound& b, void* ctx, internal::GetExportFn get, internal::ThreadState& ts) {
  const Program& p = *b.program;
  Scratch& s = *scratch_of(ts);
  if (s.vals.size() < p.n_regs) [[unlikely]] {
    s.vals.resize(p.n_regs);
    s.regs.resize(p.n_regs);
  }
  if (s.lists.size() < p.observe.size()) [[unlikely]]
    s.lists.resize(p.observe.size());
  // Registers point at null until written, so that none can point at what
  // an earlier event (or a removed program) left.
  const Value** regs = s.regs.data();
  std::fill_n(regs, p.n_regs, &kNull);

  // OBSERVE. A list-valued export becomes a dimension of the row iteration.
  for (size_t i = 0; i < p.observe.size(); ++i) {
    uint16_t reg = p.observe[i].reg;
    int32_t index = b.export_index[i];
    if (index >= 0) {
      internal::ExportSink sink(&s.vals[reg], &s.lists[i]);
      get(ctx, static_cast<uint32_t>(index), sink);
      if (b.is_list[i]) {
        if (s.lists[i].empty()) return;  // no elements: no rows
      } else {
        regs[reg] = &s.vals[reg];
      }
    } else if (index != kAbsent) {
      internal::Builtin builtin = index_builtin(index);
      if (builtin_is_fixed(builtin)) {
        regs[reg] = &b.fixed[i];
      } else {
        s.vals[reg] = builtin_value(builtin, ts);
        regs[reg] = &s.vals[reg];
      }
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
    finish_row(b, s, ts, false);
    return;
  }

  // Iterate over every combination of list elements and unpacked tuples.
  // Rows point into s.lists and s.unpacked, which nothing changes meanwhile.
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
      if (b.is_list[i]) regs[p.observe[i].reg] = &s.lists[i][pos[d++]];
    }
    for (size_t u = 0; u < p.unpacks.size(); ++u) {
      const internal::Tuple& t = s.unpacked[u][pos[d++]];
      const Unpack& up = p.unpacks[u];
      for (uint16_t f = 0; f < up.n_fields; ++f) regs[up.first_reg + f] = f < t.size() ? &t[f] : &kNull;
    }
    finish_row(b, s, ts, overflowed);
    // Next combination.
    size_t k = 0;
    while (k < sizes.size() && ++pos[k] == sizes[k]) pos[k++] = 0;
    if (k == sizes.size()) break;
  }
}

// NK and NI are the numbers of keys and inputs when known at compile time
// (the common few, so that their loops unroll), else -1.
template <int NK, int NI>
void run_simple(const Simple& p, void* ctx, internal::GetExportFn get, internal::ThreadState& ts) {
  Scratch& s = *scratch_of(ts);
  const Value** regs = s.simple_regs;
  Value* vals = s.simple_vals;
  std::fill_n(regs, p.n_regs, &kNull);  // as in run_program
  for (uint32_t i = 0; i < p.n_observe; ++i) {
    const Simple::Obs& o = p.obs[i];
    if (o.index >= 0) [[likely]] {
      internal::ExportSink sink(&vals[o.reg], &s.no_list);
      get(ctx, static_cast<uint32_t>(o.index), sink);
      regs[o.reg] = &vals[o.reg];
    } else if (o.fixed != nullptr) {
      regs[o.reg] = o.fixed;
    } else if (o.index != kAbsent) {
      vals[o.reg] = builtin_value(o.builtin, ts);
      regs[o.reg] = &vals[o.reg];
    }
  }
  if (!run_steps(p.steps, p.n_steps, vals, regs)) return;
  aggregate::Partial* partial = p.collector->thread_partial(ts);
  if (partial == nullptr) [[unlikely]] {
    g_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const Value* keys[kSimpleOperands];
  const Value* inputs[kSimpleOperands];
  size_t hash = aggregate::kKeyHashSeed;
  const uint32_t n_keys = NK >= 0 ? NK : p.n_keys, n_inputs = NI >= 0 ? NI : p.n_inputs;
  for (uint32_t k = 0; k < n_keys; ++k) {
    const Operand& o = p.keys[k];
    keys[k] = operand_value(o, regs, s.simple_temps[k]);
    hash = aggregate::mix_hash(hash, o.hash_known ? o.hash : keys[k]->hash());
  }
  for (uint32_t i = 0; i < n_inputs; ++i)
    inputs[i] = operand_value(p.inputs[i], regs, s.simple_temps[kSimpleOperands + i]);
  partial->add_hashed(keys, hash, inputs, 1);
}

void run_advice(const internal::SiteAdvice& self, const internal::Site&, void* ctx,
                internal::GetExportFn get) noexcept {
  internal::ThreadState* ts = internal::current_thread_state();
  if (ts == nullptr) return;
  for (const Bound& b : static_cast<const InstalledAdvice&>(self).bound) {
    if (!b.program->enabled->load(std::memory_order_relaxed)) continue;
    try {
      if (b.simple != nullptr) [[likely]]
        b.simple->run(*b.simple, ctx, get, *ts);
      else
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

// Whether only OBSERVE i writes register `reg`: then a fixed builtin there
// is fixed for the register too.
bool only_observe_writes(const Program& p, size_t i, uint16_t reg) {
  for (size_t j = 0; j < p.observe.size(); ++j) {
    if (j != i && p.observe[j].reg == reg) return false;
  }
  for (const Step& st : p.steps) {
    if (!st.is_filter && st.reg == reg) return false;
  }
  for (const Unpack& u : p.unpacks) {
    if (reg >= u.first_reg && reg < u.first_reg + u.n_fields) return false;
  }
  return true;
}

// Resolves a register or constant into *out; false for other expressions.
// *fixed tells whether its value is the same at every event (a constant or
// a fixed builtin), and then *hash is the value's hash.
bool resolve_leaf(const Expr& e, const Bound& b, Leaf* out, bool* fixed, size_t* hash) {
  *fixed = false;
  if (e.kind == Expr::Kind::kConst) {
    out->constant = &e.constant;
    *fixed = true;
    *hash = e.constant.hash();
    return true;
  }
  if (e.kind != Expr::Kind::kReg) return false;
  out->reg = e.reg;
  const Program& p = *b.program;
  for (size_t i = 0; i < p.observe.size(); ++i) {
    int32_t index = b.export_index[i];
    if (p.observe[i].reg != e.reg || index >= 0 || index == kAbsent) continue;
    if (builtin_is_fixed(index_builtin(index)) && only_observe_writes(p, i, e.reg)) {
      *fixed = true;
      *hash = b.fixed[i].hash();
    }
  }
  return true;
}

Operand resolve(const Expr& e, const Bound& b) {
  Operand o;
  o.expr = &e;
  if (resolve_leaf(e, b, &o.a, &o.hash_known, &o.hash)) return o;
  o.kind = Operand::Kind::kExpr;
  bool fixed;
  size_t hash;
  if (e.kind == Expr::Kind::kBinary && e.op != Op::kAnd && e.op != Op::kOr &&
      resolve_leaf(*e.a, b, &o.a, &fixed, &hash) && resolve_leaf(*e.b, b, &o.b, &fixed, &hash)) {
    o.kind = Operand::Kind::kBinary;
    o.op = e.op;
  }
  return o;
}

template <int NK>
Simple::RunFn simple_runner_for_keys(uint32_t n_inputs) {
  switch (n_inputs) {
    case 1: return &run_simple<NK, 1>;
    case 2: return &run_simple<NK, 2>;
    default: return &run_simple<NK, -1>;
  }
}

Simple::RunFn simple_runner(uint32_t n_keys, uint32_t n_inputs) {
  switch (n_keys) {
    case 0: return simple_runner_for_keys<0>(n_inputs);
    case 1: return simple_runner_for_keys<1>(n_inputs);
    case 2: return simple_runner_for_keys<2>(n_inputs);
    default: return simple_runner_for_keys<-1>(n_inputs);
  }
}

// The Simple plan of b, or null when b's program has another shape.
std::unique_ptr<const Simple> simple_plan(const Bound& b) {
  const Program& p = *b.program;
  if (!b.single_row || p.pack || !p.emit || p.emit->weight_reg >= 0) return nullptr;
  if (p.n_regs > kSimpleRegs || p.observe.size() > kSimpleObserves || b.keys.size() > kSimpleOperands ||
      b.inputs.size() > kSimpleOperands)
    return nullptr;
  auto out = std::make_unique<Simple>();
  out->n_regs = p.n_regs;
  out->n_observe = static_cast<uint8_t>(p.observe.size());
  for (size_t i = 0; i < p.observe.size(); ++i) {
    Simple::Obs& o = out->obs[i];
    o.index = b.export_index[i];
    o.reg = p.observe[i].reg;
    o.fixed = nullptr;
    o.builtin = internal::Builtin::kHost;
    if (o.index < 0 && o.index != kAbsent) {
      o.builtin = index_builtin(o.index);
      if (builtin_is_fixed(o.builtin)) o.fixed = &b.fixed[i];
    }
  }
  out->n_keys = static_cast<uint8_t>(b.keys.size());
  out->n_inputs = static_cast<uint8_t>(b.inputs.size());
  std::copy(b.keys.begin(), b.keys.end(), out->keys);
  std::copy(b.inputs.begin(), b.inputs.end(), out->inputs);
  out->steps = p.steps.data();
  out->n_steps = p.steps.size();
  out->collector = p.emit->collector;
  out->run = simple_runner(out->n_keys, out->n_inputs);
  return out;
}

Bound bind(const ProgramPtr& p, const internal::Site& site) {
  Bound b{p, {}, {}, {}, {}, {}, true, nullptr};
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
    Value fixed;
    if (index == kAbsent && internal::builtin_named(o.name, &builtin)) {
      index = builtin_index(builtin);
      // set_process_names() comes before queries are installed (process_info.h).
      if (builtin_is_fixed(builtin)) fixed = fixed_builtin_value(builtin);
    }
    b.export_index.push_back(index);
    b.is_list.push_back(list);
    b.fixed.push_back(std::move(fixed));
    if (list) b.single_row = false;
  }
  if (!p->unpacks.empty()) b.single_row = false;
  if (p->emit) {
    for (const ExprPtr& e : p->emit->keys) b.keys.push_back(resolve(*e, b));
    for (const ExprPtr& e : p->emit->inputs) b.inputs.push_back(resolve(*e, b));
  }
  b.simple = simple_plan(b);
  return b;
}

// The null a plan's register holds when nothing writes it. Not kNull: that
// one is made by this library's static initializers, which in
// libpivot_preload.so may run after the agent's threads started, and the
// installer thread reads the value it builds plans with (ThreadSanitizer
// reported the read of kNull racing with its construction). A local static
// is made under its guard on first use.
const Value& gpr_null() {
  static const Value null;
  return null;
}

// The value of register `reg` for a plan (gpr_plan.h), from the OBSERVEs
// that write it (the last one wins, as in run_simple); false when it holds
// something a plan cannot read (a string or double export, a timestamp).
bool gpr_register(const Bound& b, const internal::Site& site, uint16_t reg, GprSource* out) {
  const Program& p = *b.program;
  *out = GprSource{GprSource::Kind::kValue, 0, &gpr_null(), gpr_null().hash()};
  bool ok = true;
  for (size_t i = 0; i < p.observe.size(); ++i) {
    if (p.observe[i].reg != reg) continue;
    int32_t index = b.export_index[i];
    if (index == kAbsent) continue;
    if (index >= 0) {
      const internal::ExportDesc& e = site.info->exports[index];
      ok = e.type == ValueType::kInt && !e.is_list && static_cast<uint32_t>(index) < kGprExports;
      *out = GprSource{GprSource::Kind::kExport, static_cast<uint8_t>(index), nullptr, 0};
    } else if (internal::Builtin builtin = index_builtin(index); builtin_is_fixed(builtin)) {
      ok = true;
      *out = GprSource{GprSource::Kind::kValue, 0, &b.fixed[i], b.fixed[i].hash()};
    } else {
      ok = builtin == internal::Builtin::kTid;
      *out = GprSource{GprSource::Kind::kTid, 0, nullptr, 0};
    }
  }
  return ok;
}

bool gpr_operand(const Operand& o, const Bound& b, const internal::Site& site, GprSource* out) {
  if (o.kind != Operand::Kind::kLeaf) return false;
  if (o.a.constant != nullptr) {
    *out = GprSource{GprSource::Kind::kValue, 0, o.a.constant, o.a.constant->hash()};
    return true;
  }
  return gpr_register(b, site, o.a.reg, out);
}

// A leaf of a filter: an int register or constant.
bool gpr_int_leaf(const Expr& e, const Bound& b, const internal::Site& site, GprSource* out) {
  if (e.kind == Expr::Kind::kConst) {
    *out = GprSource{GprSource::Kind::kValue, 0, &e.constant, e.constant.hash()};
  } else if (e.kind != Expr::Kind::kReg || !gpr_register(b, site, e.reg, out)) {
    return false;
  }
  return out->kind != GprSource::Kind::kValue || out->value->is_int();
}

// The comparisons of filter expression e (a comparison, or an And of them)
// into plan.filters.
bool gpr_filter(const Expr& e, const Bound& b, const internal::Site& site, GprPlan& plan) {
  if (e.kind != Expr::Kind::kBinary) return false;
  if (e.op == Op::kAnd) return gpr_filter(*e.a, b, site, plan) && gpr_filter(*e.b, b, site, plan);
  if (e.op < Op::kEq || e.op > Op::kGe || plan.n_filters == kGprOperands) return false;
  GprFilter& f = plan.filters[plan.n_filters++];
  f.op = e.op;
  return gpr_int_leaf(*e.a, b, site, &f.a) && gpr_int_leaf(*e.b, b, site, &f.b);
}

// The plan of b (gpr_plan.h), or false when b's program has another shape.
bool gpr_plan(const Bound& b, const internal::Site& site, GprPlan* out) {
  const Program& p = *b.program;
  if (b.simple == nullptr || b.keys.size() > kGprOperands || b.inputs.size() > kGprOperands) return false;
  GprPlan plan;
  for (const Step& step : p.steps) {
    if (!step.is_filter || !gpr_filter(*step.expr, b, site, plan)) return false;
  }
  plan.enabled = p.enabled;
  plan.slot = p.emit->collector->slot();
  plan.n_keys = static_cast<uint8_t>(b.keys.size());
  plan.n_inputs = static_cast<uint8_t>(b.inputs.size());
  for (size_t k = 0; k < b.keys.size(); ++k) {
    if (!gpr_operand(b.keys[k], b, site, &plan.keys[k])) return false;
  }
  for (size_t i = 0; i < b.inputs.size(); ++i) {
    if (!gpr_operand(b.inputs[i], b, site, &plan.inputs[i])) return false;
  }
  auto need = [&](const GprSource& src) {
    if (src.kind == GprSource::Kind::kExport) plan.needs |= uint64_t{1} << src.index;
  };
  for (const GprFilter& f : plan.filters) need(f.a), need(f.b);
  for (const GprSource& src : plan.keys) need(src);
  for (const GprSource& src : plan.inputs) need(src);
  *out = plan;
  return true;
}

// Gives the advice plans when every program has one and they emit into
// distinct collectors (run_gpr checks them all before it changes any).
void add_gpr_plans(InstalledAdvice& advice, const internal::Site& site) {
  if (advice.bound.size() > kGprPrograms) return;
  uint32_t n = 0;
  for (const Bound& b : advice.bound) {
    if (!gpr_plan(b, site, &advice.plans[n])) return;
    for (uint32_t j = 0; j < n; ++j) {
      if (advice.plans[j].slot == advice.plans[n].slot) return;
    }
    ++n;
  }
  advice.n_plans = n;
  advice.run_gpr = &run_gpr;
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
  add_gpr_plans(*advice, site);
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
