// `explain`: a plan's text, printed from its finished advice programs alone,
// so that it shows what runs. One line per program, its steps in the order
// the interpreter runs them, registers and bags by the names the program
// carries:
//
//   A1 @ ClientProtocols: OBSERVE procName; PACK-FIRST q1.cl(procName)
//   A2 @ DataNodeMetrics.incrBytesRead: OBSERVE delta; UNPACK q1.cl(procName); EMIT q1 ...
//
// A query over an aggregating query's rows runs at the frontend, on each
// merged table of that query: `A3 @ merged rows of R: OBSERVE bytes; ...`.
//
// A pre-aggregated bag shows its keys, then its row count, then each other
// field as its spec combines it: `q1.st(host; COUNT, SUM(tid))`. EMIT's
// aggregates are the query's shape, which its collector runs.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planner/planner.h"
#include "query/printer.h"

namespace pivot::planner {
namespace {

query::Op query_op(advice::Op op) { return static_cast<query::Op>(static_cast<int>(op)); }
static_assert(static_cast<int>(query::Op::kNeg) == static_cast<int>(advice::Op::kNeg));

query::AggFn query_agg(aggregate::AggFn f) {
  switch (f) {
    case aggregate::AggFn::kCount: return query::AggFn::kCount;
    case aggregate::AggFn::kSum: return query::AggFn::kSum;
    case aggregate::AggFn::kMin: return query::AggFn::kMin;
    case aggregate::AggFn::kMax: return query::AggFn::kMax;
    case aggregate::AggFn::kAvg: return query::AggFn::kAvg;
    case aggregate::AggFn::kHist: return query::AggFn::kHist;
    case aggregate::AggFn::kLhist: return query::AggFn::kLhist;
    case aggregate::AggFn::kQuantile: return query::AggFn::kQuantile;
    case aggregate::AggFn::kCountDistinct: return query::AggFn::kCountDistinct;
  }
  return query::AggFn::kCount;
}

std::string_view combine_name(internal::Combine c) {
  switch (c) {
    case internal::Combine::kSum: return query::agg_name(query::AggFn::kSum);
    case internal::Combine::kMin: return query::agg_name(query::AggFn::kMin);
    case internal::Combine::kMax: return query::agg_name(query::AggFn::kMax);
  }
  return "?";
}

// The expression as query text (the printer's canonical form), each
// register by its name.
query::ExprPtr as_query(const advice::Expr& e, const std::vector<std::string>& names) {
  auto out = std::make_shared<query::Expr>();
  switch (e.kind) {
    case advice::Expr::Kind::kConst:
      out->kind = query::Expr::Kind::kLiteral;
      out->literal = e.constant;
      break;
    case advice::Expr::Kind::kReg:
      out->kind = query::Expr::Kind::kName;
      out->name = e.reg < names.size() ? names[e.reg] : "r" + std::to_string(e.reg);
      break;
    case advice::Expr::Kind::kUnary:
      out->kind = query::Expr::Kind::kUnary;
      out->op = query_op(e.op);
      out->args = {as_query(*e.a, names)};
      break;
    case advice::Expr::Kind::kBinary:
      out->kind = query::Expr::Kind::kBinary;
      out->op = query_op(e.op);
      out->args = {as_query(*e.a, names), as_query(*e.b, names)};
      break;
  }
  return out;
}

std::string show(const advice::Expr& e, const advice::Program& p) {
  return query::to_string(*as_query(e, p.reg_names));
}

std::string list(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) s += (i ? std::string(sep) : "") + items[i];
  return s;
}

// "q1.cl(procName)"; for a pre-aggregated bag "q1.st(host; COUNT, SUM(tid))".
std::string bag_text(const internal::BagSpec& spec, const std::string& bag,
                     const std::vector<std::string>& fields) {
  if (spec.mode != internal::PackMode::kAggregate) return bag + "(" + list(fields) + ")";
  std::string s = bag + "(";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i < spec.keys) {
      s += (i ? ", " : "") + fields[i];
    } else if (i == spec.keys) {
      s += (i ? "; " : "") + std::string("COUNT");
    } else {
      size_t c = i - spec.keys;
      s += ", " + std::string(c < spec.combine.size() ? combine_name(spec.combine[c]) : "?") + "(" +
           fields[i] + ")";
    }
  }
  return s + ")";
}

std::string pack_verb(const internal::BagSpec& s) {
  switch (s.mode) {
    case internal::PackMode::kAll: return "PACK";
    case internal::PackMode::kFirst: return "PACK-FIRST";
    case internal::PackMode::kMostRecent: return "PACK-RECENT";
    case internal::PackMode::kFirstN: return "PACK-FIRSTN(" + std::to_string(s.n) + ")";
    case internal::PackMode::kMostRecentN: return "PACK-RECENTN(" + std::to_string(s.n) + ")";
    case internal::PackMode::kAggregate: return "PACK-AGG";
  }
  return "PACK";
}

std::string observe_text(const advice::Program& p) {
  std::vector<std::string> names;
  for (const advice::Observe& o : p.observe) names.push_back(p.reg_names.at(o.reg));
  return "OBSERVE " + list(names);
}

std::string unpack_text(const advice::Unpack& u, const advice::Program& p) {
  std::vector<std::string> fields;
  for (uint16_t f = 0; f < u.n_fields; ++f) fields.push_back(p.reg_names.at(u.first_reg + f));
  return "UNPACK " + bag_text(u.spec, u.bag, fields);
}

std::string step_text(const advice::Step& s, const advice::Program& p) {
  if (s.is_filter) return "FILTER " + show(*s.expr, p);
  return "LET " + p.reg_names.at(s.reg) + " = " + show(*s.expr, p);
}

std::string pack_text(const advice::Pack& pack, const advice::Program& p) {
  std::vector<std::string> values;
  for (const advice::ExprPtr& v : pack.values) values.push_back(show(*v, p));
  return pack_verb(pack.spec) + " " + bag_text(pack.spec, pack.bag, values);
}

// A COUNT of the constant true counts rows: bare COUNT, as it was written.
bool counts_rows(aggregate::AggFn f, const advice::Expr& input) {
  return f == aggregate::AggFn::kCount && input.kind == advice::Expr::Kind::kConst &&
         input.constant.is_bool() && input.constant.as_bool();
}

query::ExprPtr literal(Value v) {
  auto e = std::make_shared<query::Expr>();
  e->literal = std::move(v);
  return e;
}

// Aggregate i of an EMIT in canonical text: SUM(delta), LHIST(delta, 0,
// 100, 10), P99(delta).
std::string aggregate_text(const QueryPlan& q, size_t i, const advice::Expr& input,
                           const advice::Program& p) {
  auto e = std::make_shared<query::Expr>();
  e->kind = query::Expr::Kind::kAggregate;
  e->agg = query_agg(q.shape.aggs[i]);
  e->args = {as_query(input, p.reg_names)};
  const aggregate::DistParams d = i < q.shape.params.size() ? q.shape.params[i] : aggregate::DistParams{};
  if (d.kind == aggregate::DistParams::kLhist) {
    for (int64_t v : {d.min, d.max, d.step}) e->args.push_back(literal(Value(v)));
  } else if (e->agg == query::AggFn::kQuantile) {
    e->args.push_back(literal(Value(d.q)));
  }
  return query::to_string(*e);
}

std::string emit_text(const advice::Emit& e, const advice::Program& p, const QueryPlan& q) {
  std::vector<std::string> keys, aggs;
  for (const advice::ExprPtr& k : e.keys) keys.push_back(show(*k, p));
  for (size_t i = 0; i < e.inputs.size() && i < q.shape.aggs.size(); ++i) {
    aggregate::AggFn f = q.shape.aggs[i];
    if (counts_rows(f, *e.inputs[i]))
      aggs.push_back("COUNT");
    else
      aggs.push_back(aggregate_text(q, i, *e.inputs[i], p));
  }
  std::string s = "EMIT " + q.label;
  if (q.shape.raw) return s + " ROW(" + list(keys) + ")";
  if (!keys.empty()) s += " GROUP(" + list(keys) + ")";
  if (!aggs.empty()) s += " " + list(aggs);
  return s;
}

// "OBSERVE ...; UNPACK ...; ...; EMIT ...", in the order the interpreter runs them.
std::string program_text(const advice::Program& p, const QueryPlan& q) {
  std::vector<std::string> ops;
  if (!p.observe.empty()) ops.push_back(observe_text(p));
  for (const advice::Unpack& u : p.unpacks) ops.push_back(unpack_text(u, p));
  for (const advice::Step& s : p.steps) ops.push_back(step_text(s, p));
  if (p.pack) ops.push_back(pack_text(*p.pack, p));
  if (p.emit) ops.push_back(emit_text(*p.emit, p, q));
  return list(ops, "; ");
}

// The tracepoint as the text names it: a defined one's sites have a name
// unique to the compilation.
const std::string& tracepoint_name(const std::string& tracepoint, const std::vector<DefinedProbe>& probes) {
  for (const DefinedProbe& d : probes) {
    if (d.spec.tracepoint == tracepoint) return d.name;
  }
  return tracepoint;
}

}  // namespace

std::string Plan::explain() const {
  std::string out;
  for (const QueryPlan& q : queries) {
    // A program installed on several tracepoints (Union) comes as copies in a row.
    for (size_t i = 0; i < q.programs.size();) {
      const advice::Program& p = *q.programs[i];
      std::vector<std::string> where;
      for (; i < q.programs.size() && q.programs[i]->label == p.label; ++i) {
        where.push_back(q.source >= 0 ? "merged rows of " + queries[q.source].label
                                      : tracepoint_name(q.programs[i]->tracepoint, probes));
      }
      out += p.label + " @ " + list(where) + ": " + program_text(p, q) + "\n";
    }
  }
  return out;
}

}  // namespace pivot::planner
