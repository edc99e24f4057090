#include "planner/projection.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace pivot::planner {
namespace {

using query::Expr;
using query::ExprPtr;

// 32 bits, so that the id is a varint of at most 5 bytes in every request's
// baggage. Ids only need to differ between the bags of the queries
// installed at one time: with 20 bags the chance that two collide is
// below 10^-7.
uint64_t hash_bag(uint64_t uid, std::string_view label) {
  uint64_t h = uid ^ 0xcbf29ce484222325ull;
  for (unsigned char c : label) h = (h ^ c) * 0x100000001b3ull;
  h ^= h >> 29;
  return (h ^ (h >> 32)) & 0xffffffffull;
}

internal::Combine combine_of(query::AggFn f) {
  if (f == query::AggFn::kMin) return internal::Combine::kMin;
  if (f == query::AggFn::kMax) return internal::Combine::kMax;
  return internal::Combine::kSum;
}

internal::PackMode pack_mode(query::JoinMode m) {
  switch (m) {
    case query::JoinMode::kAll: return internal::PackMode::kAll;
    case query::JoinMode::kFirst: return internal::PackMode::kFirst;
    case query::JoinMode::kMostRecent: return internal::PackMode::kMostRecent;
    case query::JoinMode::kFirstN: return internal::PackMode::kFirstN;
    case query::JoinMode::kMostRecentN: return internal::PackMode::kMostRecentN;
  }
  return internal::PackMode::kAll;
}

// The root's EMIT reads its group keys and aggregate arguments, except
// those the pre-aggregated child computes.
void add_emit_uses(const BoundQuery& b, AdvicePlan& plan) {
  std::vector<Column>& uses = plan.nodes[0].uses;
  for (const ExprPtr& k : b.keys) {
    if (plan.pre_key(k) < 0) columns_of(*k, uses);
  }
  for (const Expr* a : b.aggs) {
    if (!a->args.empty() && plan.pre_agg(a) < 0) columns_of(*a->args[0], uses);
  }
}

std::vector<Column> used_above(const BoundQuery& b, const AdvicePlan& plan, int n) {
  std::vector<Column> out;
  for (int a = b.nodes[n].parent; a >= 0; a = b.nodes[a].parent) {
    for (const Column& c : plan.nodes[a].uses) add_unique(out, c);
  }
  return out;
}

// A bag of partial aggregates: the group keys, the row count, then one
// field per aggregate, each combined as its aggregate merges.
void aggregate_bag(NodePlan& p) {
  p.spec.mode = internal::PackMode::kAggregate;
  p.spec.keys = static_cast<uint32_t>(p.pre_keys.size());
  p.spec.combine.push_back(internal::Combine::kSum);  // the row count
  for (size_t i = 0; i < p.pre_keys.size(); ++i) {
    p.packed.push_back({"pre:key" + std::to_string(i), "", "", p.pre_keys[i].get()});
  }
  p.packed.push_back({"pre:count", "", "COUNT"});
  for (size_t i = 0; i < p.pre_aggs.size(); ++i) {
    p.spec.combine.push_back(combine_of(p.pre_aggs[i]->agg));
    p.packed.push_back({"pre:agg" + std::to_string(i), "", "", p.pre_aggs[i]->args[0].get()});
  }
}

// A bag of tuples: whatever the advice has (its observed exports, its Lets,
// its children's bags) that is read above it.
void tuple_bag(const Node& node, const std::vector<Column>& above, const AdvicePlan& plan, NodePlan& p) {
  p.spec.mode = pack_mode(node.mode);
  p.spec.n = static_cast<uint32_t>(node.mode == query::JoinMode::kAll ? 0 : std::max<int64_t>(node.n, 1));
  std::vector<Column> avail = p.observed;
  for (const query::Let* l : p.lets) avail.push_back(let_column(l->name));
  for (int c : node.children) {
    for (const Column& col : plan.nodes[c].packed) avail.push_back(col);
  }
  for (const Column& c : avail) {
    if (contains(above, c.key)) add_unique(p.packed, c);
  }
}

}  // namespace

void project(const BoundQuery& b, uint64_t uid, AdvicePlan& plan) {
  add_emit_uses(b, plan);
  for (int n : b.deepest_first()) {  // a bag is known before its parent's
    const Node& node = b.nodes[n];
    NodePlan& p = plan.nodes[n];
    std::vector<Column> above = used_above(b, plan, n);
    for (const Field& f : node.fields) {  // in export order
      Column c = field_column(node.var, f.name);
      if (contains(p.uses, c.key) || contains(above, c.key)) p.observed.push_back(c);
    }
    if (n == 0) continue;
    p.spec.bag_id = hash_bag(uid, b.flat->label + "." + node.var);
    if (n == plan.pre_aggregated)
      aggregate_bag(p);
    else
      tuple_bag(node, above, plan, p);
  }
}

}  // namespace pivot::planner
