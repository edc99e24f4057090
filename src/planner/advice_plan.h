// What the planner decides about one query's advice before any program
// exists: per variable, what its advice filters, computes, observes and
// packs. Its passes fill it in this order (planner.cc runs them):
//
//   AdvicePlan plan = place(bound);           // filters and Lets (placement.h)
//   choose_pre_aggregation(bound, plan);      // PACK-AGG (pre_aggregation.h)
//   project(bound, uid, plan);                // observed, packed, bags (projection.h)
//   QueryPlan q = generate(bound, plan, n);   // advice programs (codegen.h)
//
// Values are named by Column: a variable's export, a Let, or a field of a
// pre-aggregated bag. Internal to the planner.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "baggage/bag.h"
#include "query/ast.h"

namespace pivot::planner {

// A value flowing through advice: a variable's export ("var.field"), a Let
// ("let:name"), or a field of a pre-aggregated bag ("pre:...").
struct Column {
  std::string key;
  std::string var;                    // display: the variable; empty for Lets and pre-aggregates
  std::string name;                   // display: the field or Let name
  const query::Expr* expr = nullptr;  // display: a pre-aggregated key or argument, as this expression
  bool operator==(const Column& o) const { return key == o.key; }
};

inline Column field_column(const std::string& var, const std::string& field) {
  return {var + "." + field, var, field};
}
inline Column let_column(const std::string& name) { return {"let:" + name, "", name}; }

inline void add_unique(std::vector<Column>& v, const Column& c) {
  if (std::find(v.begin(), v.end(), c) == v.end()) v.push_back(c);
}

inline bool contains(const std::vector<Column>& v, const std::string& key) {
  return std::any_of(v.begin(), v.end(), [&](const Column& c) { return c.key == key; });
}

// The columns an expression reads directly.
inline void columns_of(const query::Expr& e, std::vector<Column>& out) {
  if (e.kind == query::Expr::Kind::kField) add_unique(out, field_column(e.var, e.field));
  if (e.kind == query::Expr::Kind::kName) add_unique(out, let_column(e.name));
  for (const query::ExprPtr& a : e.args) {
    if (a) columns_of(*a, out);
  }
}

// The decisions for one variable's advice.
struct NodePlan {
  // Placement.
  std::vector<query::ExprPtr> filters;
  std::vector<const query::Let*> lets;
  std::vector<Column> uses;  // columns read here
  // Pre-aggregation (the pre-aggregated child of the root only).
  std::vector<query::ExprPtr> pre_keys;
  std::vector<const query::Expr*> pre_aggs;  // aggregates whose argument is computed here
  // Projection.
  std::vector<Column> observed;  // own exports read here or above
  std::vector<Column> packed;    // what this variable's bag carries to its parent
  internal::BagSpec spec;
};

struct AdvicePlan {
  std::vector<NodePlan> nodes;  // as BoundQuery::nodes
  int pre_aggregated = -1;      // the child of the root that packs partial aggregates, or -1

  // The index of group key `k` among the pre-aggregated child's keys, or -1.
  int pre_key(const query::ExprPtr& k) const {
    return pre_aggregated < 0 ? -1 : index_of(nodes[pre_aggregated].pre_keys, k);
  }
  // The index of aggregate `a` among those the pre-aggregated child packs, or -1.
  int pre_agg(const query::Expr* a) const {
    return pre_aggregated < 0 ? -1 : index_of(nodes[pre_aggregated].pre_aggs, a);
  }

 private:
  template <typename T>
  static int index_of(const std::vector<T>& v, const T& x) {
    auto it = std::find(v.begin(), v.end(), x);
    return it == v.end() ? -1 : static_cast<int>(it - v.begin());
  }
};

}  // namespace pivot::planner
