#include "advice/rows.h"

namespace pivot::advice {

void run_on_rows(const Program& p, std::span<const uint32_t> columns,
                 const std::vector<std::vector<Value>>& rows, aggregate::Partial& out) {
  static const Value kNull;
  if (!p.emit) return;
  const Emit& emit = *p.emit;
  std::vector<Value> vals(p.n_regs), computed(emit.keys.size() + emit.inputs.size());
  std::vector<const Value*> regs(p.n_regs), keys(emit.keys.size()), inputs(emit.inputs.size());
  for (const std::vector<Value>& row : rows) {
    std::fill(regs.begin(), regs.end(), &kNull);
    for (size_t i = 0; i < p.observe.size() && i < columns.size(); ++i) {
      if (columns[i] < row.size()) regs[p.observe[i].reg] = &row[columns[i]];
    }
    if (!run_steps(p.steps.data(), p.steps.size(), vals.data(), regs.data())) continue;
    for (size_t k = 0; k < keys.size(); ++k) {
      computed[k] = eval(*emit.keys[k], regs.data());
      keys[k] = &computed[k];
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      computed[keys.size() + i] = eval(*emit.inputs[i], regs.data());
      inputs[i] = &computed[keys.size() + i];
    }
    out.add(keys.data(), inputs.data());
  }
}

}  // namespace pivot::advice
