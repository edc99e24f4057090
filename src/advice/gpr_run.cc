// run_gpr (gpr_plan.h): built for the general-purpose registers only, in
// the pivot_gpr section (tracepoint/gpr_code.h, src/CMakeLists.txt).
// Everything it calls must inline; the hook stage's section check fails
// otherwise.
#include "advice/gpr_plan.h"
#include "aggregate/partial.h"
#include "tracepoint/gpr_code.h"

namespace pivot::advice {
namespace {

using aggregate::AggFn;
using aggregate::AggState;
using aggregate::Partial;

// One key or input of this event: an int, or a Value fixed at bind time.
struct Operand {
  const Value* value;  // null: the int
  int64_t i;
  size_t hash;
};

[[gnu::always_inline]] inline Operand operand(const GprSource& s, const int64_t* exports,
                                              const internal::ThreadState& ts) {
  switch (s.kind) {
    case GprSource::Kind::kExport: return {nullptr, exports[s.index], Value::int_hash(exports[s.index])};
    case GprSource::Kind::kTid: return {nullptr, ts.tid, Value::int_hash(ts.tid)};
    case GprSource::Kind::kValue: break;
  }
  return {s.value, 0, s.hash};
}

// The int value of s, or false.
[[gnu::always_inline]] inline bool int_operand(const GprSource& s, const int64_t* exports,
                                               const internal::ThreadState& ts, int64_t* out) {
  Operand o = operand(s, exports, ts);
  if (o.value == nullptr) {
    *out = o.i;
    return true;
  }
  if (!o.value->is_int()) return false;
  *out = o.value->as_int();
  return true;
}

// Whether the row passes p's filters (eval's int comparisons); *ok is false
// when one needs the interpreter.
[[gnu::always_inline]] inline bool passes(const GprPlan& p, const int64_t* exports,
                                          const internal::ThreadState& ts, bool* ok) {
  *ok = true;
  for (uint32_t f = 0; f < p.n_filters; ++f) {
    const GprFilter& filter = p.filters[f];
    int64_t a, b;
    if (!int_operand(filter.a, exports, ts, &a) || !int_operand(filter.b, exports, ts, &b)) {
      *ok = false;
      return false;
    }
    bool pass;
    switch (filter.op) {
      case Op::kEq: pass = a == b; break;
      case Op::kNe: pass = a != b; break;
      case Op::kLt: pass = a < b; break;
      case Op::kLe: pass = a <= b; break;
      case Op::kGt: pass = a > b; break;
      case Op::kGe: pass = a >= b; break;
      default: *ok = false; return false;
    }
    if (!pass) return false;
  }
  return true;
}

// Whether group key k equals o as Value's == says: 1 yes, 0 no, -1 when
// telling needs floating point (a double on either side).
[[gnu::always_inline]] inline int same(const Value& k, const Operand& o) {
  if (o.value == nullptr) {
    if (k.is_int()) return k.as_int() == o.i;
    return k.is_double() ? -1 : 0;
  }
  const Value& v = *o.value;
  if (k.type() != v.type()) return k.is_number() && v.is_number() ? -1 : 0;
  switch (k.type()) {
    case ValueType::kNull: return 1;
    case ValueType::kBool: return k.as_bool() == v.as_bool();
    case ValueType::kInt: return k.as_int() == v.as_int();
    case ValueType::kDouble: return -1;
    case ValueType::kString: {
      const std::string& a = k.as_string();
      const std::string& b = v.as_string();
      return a.size() == b.size() && aggregate::same_bytes(a.data(), b.data(), a.size());
    }
  }
  return -1;
}

// The index of the existing group with these keys, or -1 (a new group,
// or one that cannot be told apart without floating point: the caller
// gives up). As Partial::find.
[[gnu::always_inline]] inline int64_t find(const Partial::PlainView& v, size_t hash, const Operand* keys,
                                           uint32_t n) {
  size_t mask = v.index_size - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint32_t slot = v.index[i];
    if (slot == 0) return -1;
    const Partial::Group& g = v.groups[slot - 1];
    if (g.hash != hash) continue;
    const Value* gk = v.keys + size_t{slot - 1} * n;
    uint32_t k = 0;
    for (; k < n; ++k) {
      int s = same(gk[k], keys[k]);
      if (s < 0) return -1;
      if (s == 0) break;
    }
    if (k == n) return slot - 1;
  }
}

// What one program adds: an event to its group, and to each of the group's
// states a count and (for SUM and AVG) the new int sum.
struct Update {
  int64_t* events;  // null: the row was filtered out
  AggState* states;
  uint32_t n;
  bool counted[kGprOperands];
  bool summed[kGprOperands];
  int64_t sum[kGprOperands];
};

// Works out p's update for this event without changing anything; false
// when the interpreter must take the event. Only an existing group is
// updated: a new one (and with it the group cap, GroupBudget, and the
// dropped count of an event that finds no room) is Partial::add_slow's.
[[gnu::always_inline]] inline bool prepare(const GprPlan& p, const int64_t* exports, uint64_t have,
                                           internal::ThreadState& ts, Update& u) {
  if ((p.needs & ~have) != 0) return false;
  u.events = nullptr;
  u.n = 0;
  bool ok;
  if (!passes(p, exports, ts, &ok)) return ok;  // filtered out: nothing to add
  auto* partial = static_cast<Partial*>(ts.slots[p.slot].load(std::memory_order_relaxed));
  Partial::PlainView v;
  if (partial == nullptr || !partial->plain_view(&v) || v.n_keys != p.n_keys || v.n_aggs != p.n_inputs)
    return false;
  Operand keys[kGprOperands];
  size_t hash = aggregate::kKeyHashSeed;
  for (uint32_t k = 0; k < p.n_keys; ++k) {
    keys[k] = operand(p.keys[k], exports, ts);
    hash = aggregate::mix_hash(hash, keys[k].hash);
  }
  int64_t g = find(v, hash, keys, p.n_keys);
  if (g < 0) return false;
  u.events = &v.groups[g].events;
  u.states = v.states + static_cast<size_t>(g) * v.n_aggs;
  u.n = p.n_inputs;
  for (uint32_t i = 0; i < p.n_inputs; ++i) {
    Operand in = operand(p.inputs[i], exports, ts);
    u.summed[i] = false;
    u.counted[i] = in.value == nullptr || !in.value->is_null();
    if (v.aggs[i] == AggFn::kCount) continue;
    if (v.aggs[i] != AggFn::kSum && v.aggs[i] != AggFn::kAvg) return false;
    if (in.value != nullptr) {
      if (!in.value->is_int()) return false;
      in.i = in.value->as_int();
    }
    const Value& acc = u.states[i].acc;
    if (!acc.is_int() || __builtin_add_overflow(acc.as_int(), in.i, &u.sum[i])) return false;
    u.summed[i] = true;
  }
  return true;
}

// As add_hashed for an existing group of the common shape, one row.
[[gnu::always_inline]] inline void commit(const Update& u) {
  if (u.events == nullptr) return;
  ++*u.events;
  for (uint32_t i = 0; i < u.n; ++i) {
    AggState& s = u.states[i];
    s.count += u.counted[i];
    if (u.summed[i]) *s.acc.if_int() = u.sum[i];
  }
}

}  // namespace

PIVOT_GPR_CODE bool run_gpr(const internal::SiteAdvice& self, const int64_t* exports, uint64_t have,
                            internal::ThreadState& ts) noexcept {
  const auto& a = static_cast<const GprAdvice&>(self);
  if (a.n_plans == 1) {  // one query at the site: no updates to hold for the others
    const GprPlan& plan = a.plans[0];
    if (!plan.enabled->load(std::memory_order_relaxed)) return true;
    Update u;
    if (!prepare(plan, exports, have, ts, u)) return false;
    commit(u);
    return true;
  }
  Update updates[kGprPrograms];
  uint32_t n = 0;
  for (uint32_t p = 0; p < a.n_plans; ++p) {
    const GprPlan& plan = a.plans[p];
    if (!plan.enabled->load(std::memory_order_relaxed)) continue;
    if (!prepare(plan, exports, have, ts, updates[n])) return false;
    ++n;
  }
  // Plans write to distinct partials (bind.cc, add_gpr_plans), so what each
  // prepared still holds.
  for (uint32_t i = 0; i < n; ++i) commit(updates[i]);
  return true;
}

}  // namespace pivot::advice
