// Binding programs to a site: where each observed export is in the site,
// EMIT's operands resolved, and the precompiled plans of the common shapes
// (Simple for run.cc, GprPlan for gpr_run.cc).
#include <algorithm>
#include <memory>

#include "advice/bound.h"

namespace pivot::advice::detail {
namespace {

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

// The Simple plan of b, or null when b's program has another shape.
std::unique_ptr<const Simple> simple_plan(const Bound& b) {
  const Program& p = *b.program;
  if (b.has_list || p.pack || !p.emit || p.emit->weight_reg >= 0) return nullptr;
  if (p.n_regs > kSimpleRegs || p.observe.size() > kSimpleObserves || b.keys.size() > kSimpleOperands ||
      b.inputs.size() > kSimpleOperands || p.unpacks.size() > kSimpleUnpacks)
    return nullptr;
  // A First or MostRecent join gives at most one tuple, so one row.
  for (const Unpack& u : p.unpacks) {
    if (internal::keep_count(u.spec) != 1) return nullptr;
  }
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
  out->unpacks = p.unpacks.data();
  out->n_unpacks = static_cast<uint8_t>(p.unpacks.size());
  out->collector = p.emit->collector;
  out->run = simple_runner(out->n_keys, out->n_inputs, out->n_unpacks > 0);
  return out;
}

}  // namespace

Bound bind(const ProgramPtr& p, const internal::Site& site) {
  Bound b;
  b.program = p;
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
    b.has_list = b.has_list || list;
  }
  b.single_row = !b.has_list && p->unpacks.empty();
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
  if (b.simple == nullptr || b.simple->n_unpacks > 0 || b.keys.size() > kGprOperands ||
      b.inputs.size() > kGprOperands)
    return false;
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

}  // namespace pivot::advice::detail
