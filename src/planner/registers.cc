#include "planner/registers.h"

#include <functional>
#include <memory>

#include "query/printer.h"

namespace pivot::planner {

Registers::Registers(const BoundQuery& b, const AdvicePlan& plan, int n) {
  const NodePlan& p = plan.nodes[n];
  for (const Column& c : p.observed) reg(c);
  for (int child : b.nodes[n].children) {
    bag_start_.push_back(count());
    for (const Column& c : plan.nodes[child].packed) reg(c);
  }
  for (const query::Let* l : p.lets) reg(let_column(l->name));
}

uint16_t Registers::reg(const Column& c) {
  auto it = regs_.find(c.key);
  if (it != regs_.end()) return it->second;
  columns_.push_back(c);
  return regs_[c.key] = static_cast<uint16_t>(columns_.size() - 1);
}

std::vector<std::string> Registers::names() const {
  std::vector<std::string> out;
  for (const Column& c : columns_) out.push_back(name(c));
  return out;
}

std::string Registers::name(const Column& c) const {
  if (c.expr != nullptr) return show(*c.expr);
  if (c.var.empty()) return c.name;
  for (const Column& o : columns_) {
    if (o.name == c.name && !o.var.empty() && o.var != c.var) return c.var + "." + c.name;
  }
  return c.name;
}

// The expression as text, its fields named as this program names them.
std::string Registers::show(const query::Expr& e) const {
  std::function<query::ExprPtr(const query::Expr&)> sub = [&](const query::Expr& x) -> query::ExprPtr {
    auto copy = std::make_shared<query::Expr>(x);
    if (x.kind == query::Expr::Kind::kField) {
      copy->kind = query::Expr::Kind::kName;
      copy->name = name(field_column(x.var, x.field));
    }
    for (query::ExprPtr& a : copy->args) {
      if (a) a = sub(*a);
    }
    return copy;
  };
  return query::to_string(*sub(e));
}

}  // namespace pivot::planner
