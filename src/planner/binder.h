// Binding: resolves a flat query's variables, joins and names against the
// catalog, checks types, and builds the join tree the planner places advice
// on. Internal to the planner.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "pivot/result.h"
#include "planner/catalog.h"
#include "planner/compose.h"
#include "query/ast.h"

namespace pivot::planner {

// The static type of an expression; kNull doubles as "unknown".
using Type = ValueType;

struct Field {
  std::string name;
  Type type = Type::kNull;
  bool is_list = false;
  Unit unit = Unit::kNone;
};

// One variable of the query: a tracepoint (or union) event.
struct Node {
  std::string var;
  query::Pos var_pos;
  std::vector<std::string> tracepoints;  // several for Union
  std::vector<Field> fields;             // exports (common ones for Union)
  query::JoinMode mode = query::JoinMode::kAll;
  int64_t n = 0;
  int parent = -1;  // the variable this one happened before; -1 for From
  std::vector<int> children;
  int depth = 0;
};

struct LetInfo {
  const query::Let* let = nullptr;
  Type type = Type::kNull;
  Unit unit = Unit::kNone;
  std::set<int> nodes;  // variables it reads, through other Lets too; {0} for a constant
};

struct BoundQuery {
  const FlatQuery* flat = nullptr;
  std::vector<Node> nodes;  // nodes[0] is the From variable
  std::map<std::string, LetInfo> lets;
  bool aggregating = false;
  std::vector<query::ExprPtr> keys;                // group keys (GroupBy, or the Select items of a raw query)
  std::vector<const query::Expr*> aggs;            // aggregate Select items, in order
  std::vector<std::pair<bool, uint32_t>> columns;  // per Select item: (is_key, index)
  std::vector<Type> types;                         // per Select item
  std::vector<Unit> units;                         // per Select item (units.h)
  bool raw = false;                                // no aggregates and no GroupBy
  std::vector<std::pair<uint32_t, bool>> order;    // OrderBy: (Select item, descending)

  int node_of(const std::string& var) const {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].var == var) return static_cast<int>(i);
    }
    return -1;
  }
  // The variables an expression reads (Let names expanded).
  std::set<int> refs(const query::Expr& e) const;
  // Whether variable n is `root` or below it in the join tree.
  bool in_subtree(int n, int root) const;
  // The variables, deepest first (ties in binding order): the causal order
  // of their advice, each packing before its parent unpacks.
  std::vector<int> deepest_first() const;
};

Result<BoundQuery> bind_query(const FlatQuery& q, const Catalog& catalog, std::string_view text);

}  // namespace pivot::planner
