// Register allocation for one variable's advice program, and the names
// `explain` shows for the registers (advice::Program::reg_names).
//
//   Registers regs(bound, plan, n);
//   uint16_t r = regs.reg(field_column("cl", "procName"));
//   program.n_regs = regs.count();
//   program.reg_names = regs.names();  // {"procName", ...}
//
// Every column the program reads gets a register before any code is
// generated, in a fixed order: its observed exports, then the fields of each
// child's bag (consecutive, as UNPACK writes them), then its Lets.
//
// A register's name is its column as the query would say it: an export by
// its name, or `var.field` where the program also has another variable's
// export of that name; a Let by its name; a pre-aggregated bag's field by
// its expression. Internal to the planner.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "planner/advice_plan.h"
#include "planner/binder.h"

namespace pivot::planner {

class Registers {
 public:
  // Allocates the registers of variable n's advice.
  Registers(const BoundQuery& b, const AdvicePlan& plan, int n);

  // The column's register. Code generation only looks columns up: one not
  // allocated here is one this advice does not have, and gets a fresh
  // register, which reads as null.
  uint16_t reg(const Column& c);
  // The first register of the bag of the node's i-th child.
  uint16_t bag_start(size_t i) const { return bag_start_[i]; }
  uint16_t count() const { return static_cast<uint16_t>(columns_.size()); }
  // Per register, its name.
  std::vector<std::string> names() const;

 private:
  std::string name(const Column& c) const;
  std::string show(const query::Expr& e) const;

  std::map<std::string, uint16_t> regs_;  // by Column::key
  std::vector<Column> columns_;           // per register
  std::vector<uint16_t> bag_start_;       // per child
};

}  // namespace pivot::planner
