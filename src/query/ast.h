// The abstract syntax of pivot's query language (docs/query-language.md),
// as the parser produces it and the binder reads it.
//
// Nodes are immutable after parsing; expressions are shared so the planner
// can place one expression in several advice programs without copying.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pivot/value.h"

namespace pivot::query {

// A position in the query text: 1-based line and column, 0-based byte offset.
struct Pos {
  int line = 0;
  int column = 0;
  uint32_t offset = 0;
};

enum class Op : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,  // arithmetic
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,  // comparison
  kAnd,
  kOr,  // boolean
  kNot,
  kNeg,  // unary
};

enum class AggFn : uint8_t { kCount, kSum, kMin, kMax, kAvg, kHist, kLhist, kQuantile, kCountDistinct };

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
  enum class Kind : uint8_t {
    kLiteral,    // value
    kField,      // var.field     (var, field)
    kName,       // a Let name     (name)
    kUnary,      // op args[0]
    kBinary,     // args[0] op args[1]
    kAggregate,  // agg(args[0]); COUNT has no args
  };
  Kind kind = Kind::kLiteral;
  Pos pos;            // where the expression starts
  Value literal;      // kLiteral
  std::string var;    // kField
  std::string field;  // kField; pos of the field is field_pos
  Pos field_pos;
  std::string name;  // kName
  Op op = Op::kAdd;  // kUnary, kBinary (pos of the operator is op_pos)
  Pos op_pos;
  AggFn agg = AggFn::kCount;  // kAggregate
  std::string agg_spelling;   // as written, e.g. "AVERAGE"
  std::vector<ExprPtr> args;  // an aggregate's parameters follow its argument: LHIST(x, min, max, step),
                              // QUANTILE(x, q) (P50(x) is QUANTILE(x, 0.5))
};

// `Foo`, `Union(A, B)` or the name of an earlier query.
struct Source {
  Pos pos;
  bool is_union = false;
  std::vector<std::string> names;  // one unless is_union
  std::vector<Pos> name_pos;
};

enum class JoinMode : uint8_t { kAll, kFirst, kMostRecent, kFirstN, kMostRecentN };

struct Join {
  Pos pos;  // of the Join keyword
  std::string var;
  Pos var_pos;
  JoinMode mode = JoinMode::kAll;
  int64_t n = 0;  // kFirstN, kMostRecentN; 1 for kFirst, kMostRecent
  Pos n_pos;
  Source source;
  std::string before;  // On before -> after
  Pos before_pos;
  std::string after;
  Pos after_pos;
};

struct Let {
  std::string name;
  Pos name_pos;
  ExprPtr expr;
};

struct SelectItem {
  ExprPtr expr;
  std::string alias;  // empty without As
  Pos alias_pos;
};

// OrderBy expr [Desc]: a Select column, by its As name or as written.
struct OrderItem {
  ExprPtr expr;
  bool desc = false;
};

struct Query {
  std::string name;  // empty unless `name = From ...`
  Pos pos;           // of the name, or of From
  std::string var;   // From var In source
  Pos var_pos;
  Source source;
  std::vector<Join> joins;
  ExprPtr where;  // null without Where
  Pos where_pos;
  std::vector<Let> lets;
  std::vector<ExprPtr> group_by;
  Pos group_by_pos;
  std::vector<SelectItem> select;
  Pos select_pos;
  // OrderBy and Limit sort and cut the merged result at the frontend; the
  // advice never sees them.
  std::vector<OrderItem> order_by;
  Pos order_by_pos;
  int64_t limit = 0;  // 0: no Limit
  Pos limit_pos;
};

// Tracepoint NAME = Entry("symbol") Exports a = arg1, b = arg2
// Tracepoint NAME = Return("symbol") Exports r = ret, d = duration
struct TracepointExport {
  std::string name;
  Pos name_pos;
  std::string ref;  // "arg0".."argN", "ret" or "duration" (lower case, no leading zeros); else a
                    // parameter's name or "this", as written
  Pos ref_pos;
};

struct TracepointDef {
  std::string name;
  Pos pos;
  bool at_return = false;  // Return(...) rather than Entry(...)
  std::string symbol;      // the string literal, unescaped
  Pos symbol_pos;
  std::vector<TracepointExport> exports;
};

struct Program {
  std::string text;  // the source, for error messages
  std::vector<TracepointDef> tracepoints;
  std::vector<Query> queries;  // in text order
};

}  // namespace pivot::query
