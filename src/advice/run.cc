// The interpreter: runs a site's bound programs at one of its events
// (OBSERVE, UNPACK, FILTER, LET, then PACK or EMIT), the common shape
// through a precompiled Simple.
#include <sched.h>

#include <algorithm>

#include "advice/bound.h"
#include "baggage/trace_state.h"
#include "core/clock.h"
#include "tracepoint/process_info.h"

namespace pivot::advice::detail {

std::atomic<uint64_t> g_errors{0};

namespace {

const Value kNull;

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

inline Scratch* scratch_of(internal::ThreadState& ts) {
  if (ts.scratch == nullptr) [[unlikely]]
    ts.scratch = new Scratch;
  return static_cast<Scratch*>(ts.scratch);
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

// An UNPACK found no tuple in an overflowed baggage: the one this join
// needed may be one the byte cap dropped, so the result says incomplete.
void mark_join_dropped(aggregate::Collector& collector, internal::ThreadState& ts) {
  if (aggregate::Partial* partial = collector.thread_partial(ts)) partial->mark_incomplete();
}

// Points an UNPACK's registers at the fields of one of its tuples.
inline void bind_tuple(const Unpack& up, const internal::Tuple& t, const Value** regs) {
  for (uint16_t f = 0; f < up.n_fields; ++f) regs[up.first_reg + f] = f < t.size() ? &t[f] : &kNull;
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
      if (o && p.emit) mark_join_dropped(*p.emit->collector, ts);
      return;
    }
    overflowed = overflowed || o;
  }

  if (b.single_row) {
    finish_row(b, s, ts, false);
    return;
  }
  if (!b.has_list) {
    // UNPACKs only (a First or MostRecent join usually gives one tuple):
    // the row iteration below without its bookkeeping when each gave one.
    bool one_row = true;
    for (size_t u = 0; u < p.unpacks.size() && one_row; ++u) one_row = s.unpacked[u].size() == 1;
    if (one_row) {
      for (size_t u = 0; u < p.unpacks.size(); ++u) bind_tuple(p.unpacks[u], s.unpacked[u][0], regs);
      finish_row(b, s, ts, overflowed);
      return;
    }
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
    for (size_t u = 0; u < p.unpacks.size(); ++u) bind_tuple(p.unpacks[u], s.unpacked[u][pos[d++]], regs);
    finish_row(b, s, ts, overflowed);
    // Next combination.
    size_t k = 0;
    while (k < sizes.size() && ++pos[k] == sizes[k]) pos[k++] = 0;
    if (k == sizes.size()) break;
  }
}

// NK and NI are the numbers of keys and inputs when known at compile time
// (the common few, so that their loops unroll), else -1; U: the program
// has UNPACKs (a separate instance, so that the others pay nothing for it).
template <int NK, int NI, bool U>
void run_simple(const Simple& p, void* ctx, internal::GetExportFn get, internal::ThreadState& ts) {
  Scratch& s = *scratch_of(ts);
  const Value** regs = s.simple_regs;
  Value* vals = s.simple_vals;
  std::fill_n(regs, p.n_regs, &kNull);  // as in run_program
  bool overflowed = false;
  if constexpr (U) {
    if (s.unpacked.size() < p.n_unpacks) s.unpacked.resize(p.n_unpacks);
    for (uint32_t u = 0; u < p.n_unpacks; ++u) {
      bool o = false;
      if (!internal::bag_unpack(p.unpacks[u].spec, s.unpacked[u], &o)) {
        if (o) mark_join_dropped(*p.collector, ts);  // an absent bag: no rows
        return;
      }
      overflowed = overflowed || o;  // First and MostRecent: exactly one tuple
      bind_tuple(p.unpacks[u], s.unpacked[u][0], regs);
    }
  }
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
  if (U && overflowed) partial->mark_incomplete();
}

}  // namespace

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

namespace {

template <int NK>
Simple::RunFn simple_runner_for_keys(uint32_t n_inputs) {
  switch (n_inputs) {
    case 1: return &run_simple<NK, 1, false>;
    case 2: return &run_simple<NK, 2, false>;
    default: return &run_simple<NK, -1, false>;
  }
}

Simple::RunFn simple_runner_for(uint32_t n_keys, uint32_t n_inputs) {
  switch (n_keys) {
    case 0: return simple_runner_for_keys<0>(n_inputs);
    case 1: return simple_runner_for_keys<1>(n_inputs);
    case 2: return simple_runner_for_keys<2>(n_inputs);
    default: return simple_runner_for_keys<-1>(n_inputs);
  }
}

}  // namespace

Simple::RunFn simple_runner(uint32_t n_keys, uint32_t n_inputs, bool unpacks) {
  // Joins get one instance: the UNPACKs outweigh unrolled operand loops.
  return unpacks ? &run_simple<-1, -1, true> : simple_runner_for(n_keys, n_inputs);
}

void free_scratch(internal::ThreadState& ts) {
  delete static_cast<Scratch*>(ts.scratch);
  ts.scratch = nullptr;
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

}  // namespace pivot::advice::detail
