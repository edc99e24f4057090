#include "query/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "query/printer.h"

namespace pivot::query {
namespace {

// The paper's queries (docs/query-language.md, /work/shared/paper-queries.md).
constexpr std::string_view kQ1 =
    "From incr In DataNodeMetrics.incrBytesRead GroupBy incr.host Select incr.host, SUM(incr.delta)";
constexpr std::string_view kQ2 =
    "From incr In DataNodeMetrics.incrBytesRead Join cl In First(ClientProtocols) On cl -> incr "
    "GroupBy cl.procName Select cl.procName, SUM(incr.delta)";
constexpr std::string_view kQ3 =
    "From dnop In DN.DataTransferProtocol GroupBy dnop.host Select dnop.host, COUNT";
constexpr std::string_view kQ4 =
    "From getloc In NN.GetBlockLocations Join st In StressTest.DoNextOp On st -> getloc "
    "GroupBy st.host, getloc.src Select st.host, getloc.src, COUNT";
constexpr std::string_view kQ5 =
    "From getloc In NN.GetBlockLocations Join st In StressTest.DoNextOp On st -> getloc "
    "GroupBy st.host, getloc.replicas Select st.host, getloc.replicas, COUNT";
constexpr std::string_view kQ6 =
    "From DNop In DN.DataTransferProtocol Join st In StressTest.DoNextOp On st -> DNop "
    "GroupBy st.host, DNop.host Select st.host, DNop.host, COUNT";
constexpr std::string_view kQ7 =
    "From DNop In DN.DataTransferProtocol Join getloc In NN.GetBlockLocations On getloc -> DNop "
    "Join st In StressTest.DoNextOp On st -> getloc Where st.host != DNop.host "
    "GroupBy DNop.host, getloc.replicas Select DNop.host, getloc.replicas, COUNT";
constexpr std::string_view kQ8 =
    "From incr In DataNodeMetrics.incrBytesRead Join getloc In MostRecent(NN.GetBlockLocations) On getloc -> "
    "incr "
    "GroupBy incr.host, getloc.src Select incr.host, getloc.src, SUM(incr.delta)";
constexpr std::string_view kL =
    "From response In SendResponse Join request In MostRecent(ReceiveRequest) On request -> response "
    "Select response.timestamp - request.timestamp";

Program must_parse(std::string_view text) {
  Result<Program> p = parse(text);
  EXPECT_TRUE(p) << p.error().message();
  return p ? *p : Program{};
}

std::string error_of(std::string_view text) {
  Result<Program> p = parse(text);
  return p ? "(parsed)" : p.error().message();
}

// The Pos of the first occurrence of `needle` in a one-line `text`.
Pos pos_of(std::string_view text, std::string_view needle, size_t from = 0) {
  size_t at = text.find(needle, from);
  EXPECT_NE(at, std::string_view::npos) << needle;
  return Pos{1, static_cast<int>(at) + 1, static_cast<uint32_t>(at)};
}

void expect_pos(Pos actual, Pos expected) {
  EXPECT_EQ(actual.line, expected.line);
  EXPECT_EQ(actual.column, expected.column);
  EXPECT_EQ(actual.offset, expected.offset);
}

std::string source_text(const Source& s) {
  std::string out = s.is_union ? "Union(" : "";
  for (size_t i = 0; i < s.names.size(); ++i) out += (i ? ", " : "") + s.names[i];
  return out + (s.is_union ? ")" : "");
}

std::string join_text(const Join& j) {
  std::string src = source_text(j.source);
  switch (j.mode) {
    case JoinMode::kAll: break;
    case JoinMode::kFirst: src = "First(" + src + ")"; break;
    case JoinMode::kMostRecent: src = "MostRecent(" + src + ")"; break;
    case JoinMode::kFirstN: src = "FirstN(" + src + ", " + std::to_string(j.n) + ")"; break;
    case JoinMode::kMostRecentN: src = "MostRecentN(" + src + ", " + std::to_string(j.n) + ")"; break;
  }
  return " Join " + j.var + " In " + src + " On " + j.before + " -> " + j.after;
}

// A query as canonical text, from its AST.
std::string dump(const Query& q) {
  std::string out = q.name.empty() ? "" : q.name + " = ";
  out += "From " + q.var + " In " + source_text(q.source);
  for (const Join& j : q.joins) out += join_text(j);
  if (q.where) out += " Where " + to_string(*q.where);
  for (const Let& l : q.lets) out += " Let " + l.name + " = " + to_string(*l.expr);
  for (size_t i = 0; i < q.group_by.size(); ++i) out += (i ? ", " : " GroupBy ") + to_string(*q.group_by[i]);
  for (size_t i = 0; i < q.select.size(); ++i) {
    out += (i ? ", " : " Select ") + to_string(*q.select[i].expr);
    if (!q.select[i].alias.empty()) out += " As " + q.select[i].alias;
  }
  return out;
}

// The canonical text of the one Select item of "From v In T Select <expr>".
std::string canonical(std::string_view expr) {
  Result<Program> p = parse("From v In T Select " + std::string(expr));
  if (!p) return "error: " + p.error().message();
  return to_string(*p->queries[0].select[0].expr);
}

TEST(Parser, EveryPaperQueryParsesToItsCanonicalText) {
  for (std::string_view q : {kQ1, kQ2, kQ3, kQ4, kQ5, kQ6, kQ7, kQ8, kL}) {
    Program p = must_parse(q);
    ASSERT_EQ(p.queries.size(), 1u) << q;
    EXPECT_TRUE(p.tracepoints.empty());
    EXPECT_EQ(dump(p.queries[0]), q);
    EXPECT_EQ(p.text, q);
  }
}

TEST(Parser, SeedQueryQ2Structure) {
  Program p = must_parse(kQ2);
  const Query& q = p.queries[0];
  EXPECT_EQ(q.name, "");
  expect_pos(q.pos, pos_of(kQ2, "From"));
  EXPECT_EQ(q.var, "incr");
  expect_pos(q.var_pos, pos_of(kQ2, "incr"));
  EXPECT_FALSE(q.source.is_union);
  EXPECT_EQ(q.source.names, std::vector<std::string>{"DataNodeMetrics.incrBytesRead"});
  expect_pos(q.source.pos, pos_of(kQ2, "DataNodeMetrics"));
  ASSERT_EQ(q.source.name_pos.size(), 1u);
  expect_pos(q.source.name_pos[0], pos_of(kQ2, "DataNodeMetrics"));

  ASSERT_EQ(q.joins.size(), 1u);
  const Join& j = q.joins[0];
  expect_pos(j.pos, pos_of(kQ2, "Join"));
  EXPECT_EQ(j.var, "cl");
  expect_pos(j.var_pos, pos_of(kQ2, "cl In"));
  EXPECT_EQ(j.mode, JoinMode::kFirst);
  EXPECT_EQ(j.n, 1);
  expect_pos(j.n_pos, pos_of(kQ2, "First"));
  EXPECT_EQ(j.source.names, std::vector<std::string>{"ClientProtocols"});
  expect_pos(j.source.pos, pos_of(kQ2, "ClientProtocols"));
  EXPECT_EQ(j.before, "cl");
  expect_pos(j.before_pos, pos_of(kQ2, "cl ->"));
  EXPECT_EQ(j.after, "incr");
  expect_pos(j.after_pos, pos_of(kQ2, "incr GroupBy"));

  EXPECT_EQ(q.where, nullptr);
  EXPECT_TRUE(q.lets.empty());
  ASSERT_EQ(q.group_by.size(), 1u);
  expect_pos(q.group_by_pos, pos_of(kQ2, "GroupBy"));
  EXPECT_EQ(q.group_by[0]->kind, Expr::Kind::kField);
  EXPECT_EQ(q.group_by[0]->var, "cl");
  EXPECT_EQ(q.group_by[0]->field, "procName");
  expect_pos(q.group_by[0]->pos, pos_of(kQ2, "cl.procName"));
  expect_pos(q.group_by[0]->field_pos, pos_of(kQ2, "procName"));

  expect_pos(q.select_pos, pos_of(kQ2, "Select"));
  ASSERT_EQ(q.select.size(), 2u);
  EXPECT_EQ(to_string(*q.select[0].expr), "cl.procName");
  EXPECT_EQ(q.select[0].alias, "");
  const Expr& sum = *q.select[1].expr;
  EXPECT_EQ(sum.kind, Expr::Kind::kAggregate);
  EXPECT_EQ(sum.agg, AggFn::kSum);
  EXPECT_EQ(sum.agg_spelling, "SUM");
  expect_pos(sum.pos, pos_of(kQ2, "SUM"));
  ASSERT_EQ(sum.args.size(), 1u);
  EXPECT_EQ(sum.args[0]->var, "incr");
  EXPECT_EQ(sum.args[0]->field, "delta");
}

TEST(Parser, Q7TwoJoinsAndAWhere) {
  Program p = must_parse(kQ7);
  const Query& q = p.queries[0];
  EXPECT_EQ(q.var, "DNop");
  EXPECT_EQ(q.source.names[0], "DN.DataTransferProtocol");
  ASSERT_EQ(q.joins.size(), 2u);
  EXPECT_EQ(q.joins[0].var, "getloc");
  EXPECT_EQ(q.joins[0].mode, JoinMode::kAll);
  EXPECT_EQ(q.joins[0].n, 0);
  EXPECT_EQ(q.joins[0].source.names[0], "NN.GetBlockLocations");
  EXPECT_EQ(q.joins[0].before, "getloc");
  EXPECT_EQ(q.joins[0].after, "DNop");
  EXPECT_EQ(q.joins[1].var, "st");
  EXPECT_EQ(q.joins[1].source.names[0], "StressTest.DoNextOp");
  EXPECT_EQ(q.joins[1].before, "st");
  EXPECT_EQ(q.joins[1].after, "getloc");
  ASSERT_NE(q.where, nullptr);
  expect_pos(q.where_pos, pos_of(kQ7, "Where"));
  EXPECT_EQ(q.where->kind, Expr::Kind::kBinary);
  EXPECT_EQ(q.where->op, Op::kNe);
  expect_pos(q.where->pos, pos_of(kQ7, "st.host !="));
  expect_pos(q.where->op_pos, pos_of(kQ7, "!="));
  EXPECT_EQ(to_string(*q.where), "st.host != DNop.host");
  ASSERT_EQ(q.group_by.size(), 2u);
  EXPECT_EQ(to_string(*q.group_by[1]), "getloc.replicas");
  ASSERT_EQ(q.select.size(), 3u);
  EXPECT_EQ(q.select[2].expr->kind, Expr::Kind::kAggregate);
  EXPECT_EQ(q.select[2].expr->agg, AggFn::kCount);
  EXPECT_TRUE(q.select[2].expr->args.empty());
}

TEST(Parser, LatencyQueryL) {
  Program p = must_parse(kL);
  const Query& q = p.queries[0];
  EXPECT_EQ(q.joins[0].mode, JoinMode::kMostRecent);
  EXPECT_EQ(q.joins[0].n, 1);
  EXPECT_EQ(q.joins[0].source.names[0], "ReceiveRequest");
  const Expr& e = *q.select[0].expr;
  EXPECT_EQ(e.kind, Expr::Kind::kBinary);
  EXPECT_EQ(e.op, Op::kSub);
  EXPECT_EQ(e.args[0]->var, "response");
  EXPECT_EQ(e.args[1]->var, "request");
  EXPECT_EQ(e.args[1]->field, "timestamp");
}

TEST(Parser, FirstNAndMostRecentN) {
  constexpr std::string_view text =
      "From a In A Join b In FirstN(B, 3) On b -> a Join c In MostRecentN(Union(C, D.e), 1000000) On c -> b "
      "Select COUNT";
  Program p = must_parse(text);
  const Query& q = p.queries[0];
  ASSERT_EQ(q.joins.size(), 2u);
  EXPECT_EQ(q.joins[0].mode, JoinMode::kFirstN);
  EXPECT_EQ(q.joins[0].n, 3);
  expect_pos(q.joins[0].n_pos, pos_of(text, "3"));
  EXPECT_EQ(q.joins[1].mode, JoinMode::kMostRecentN);
  EXPECT_EQ(q.joins[1].n, 1000000);
  EXPECT_TRUE(q.joins[1].source.is_union);
  EXPECT_EQ(q.joins[1].source.names, (std::vector<std::string>{"C", "D.e"}));
  expect_pos(q.joins[1].source.pos, pos_of(text, "Union"));
  expect_pos(q.joins[1].source.name_pos[1], pos_of(text, "D.e"));
}

TEST(Parser, UnionSourceAndCaseInsensitiveKeywords) {
  Program p = must_parse("from x in union(A, B.c) where x.v > 1 group by x.h select x.h, count as n");
  const Query& q = p.queries[0];
  EXPECT_TRUE(q.source.is_union);
  EXPECT_EQ(q.source.names, (std::vector<std::string>{"A", "B.c"}));
  EXPECT_EQ(dump(q), "From x In Union(A, B.c) Where x.v > 1 GroupBy x.h Select x.h, COUNT As n");
  expect_pos(q.group_by_pos, Pos{1, 39, 38});  // the "group" of "group by"
  EXPECT_EQ(q.select[1].alias, "n");
  expect_pos(q.select[1].alias_pos, Pos{1, 73, 72});
}

TEST(Parser, ContextualKeywordsAreNames) {
  Program p = must_parse(
      "From first In Union Join union In First On first -> union Select first.count, union.Select");
  const Query& q = p.queries[0];
  EXPECT_EQ(q.var, "first");
  EXPECT_EQ(q.source.names[0], "Union");
  EXPECT_FALSE(q.source.is_union);
  EXPECT_EQ(q.joins[0].mode, JoinMode::kAll);
  EXPECT_EQ(q.joins[0].source.names[0], "First");
  EXPECT_EQ(to_string(*q.select[0].expr), "first.count");
  EXPECT_EQ(to_string(*q.select[1].expr), "union.Select");
}

TEST(Parser, LetsAndAliases) {
  Program p = must_parse(
      "From incr In X Where incr.delta > 0 Let total = incr.a + incr.b Let half = total / 2 "
      "Select half As h, SUM(total) As sum_total, AVERAGE(incr.delta)");
  const Query& q = p.queries[0];
  ASSERT_EQ(q.lets.size(), 2u);
  EXPECT_EQ(q.lets[0].name, "total");
  expect_pos(q.lets[0].name_pos, Pos{1, 41, 40});
  EXPECT_EQ(to_string(*q.lets[0].expr), "incr.a + incr.b");
  EXPECT_EQ(q.lets[1].name, "half");
  EXPECT_EQ(q.lets[1].expr->args[0]->kind, Expr::Kind::kName);
  EXPECT_EQ(q.lets[1].expr->args[0]->name, "total");
  EXPECT_EQ(q.select[0].alias, "h");
  EXPECT_EQ(q.select[0].expr->name, "half");
  EXPECT_EQ(q.select[1].alias, "sum_total");
  EXPECT_EQ(q.select[2].expr->agg, AggFn::kAvg);
  EXPECT_EQ(q.select[2].expr->agg_spelling, "AVERAGE");
  EXPECT_EQ(to_string(*q.select[2].expr), "AVG(incr.delta)");
}

TEST(Parser, CompositionOfNamedQueries) {
  Program p = must_parse(
      "L = From a In SendResponse Join b In MostRecent(ReceiveRequest) On b -> a "
      "Select a.host, a.timestamp - b.timestamp As lat;  From l In L GroupBy l.host Select l.host, "
      "AVG(l.lat)");
  ASSERT_EQ(p.queries.size(), 2u);
  EXPECT_EQ(p.queries[0].name, "L");
  expect_pos(p.queries[0].pos, Pos{1, 1, 0});
  EXPECT_EQ(p.queries[0].select[1].alias, "lat");
  EXPECT_EQ(p.queries[1].name, "");
  EXPECT_EQ(p.queries[1].source.names[0], "L");
  EXPECT_EQ(p.queries[1].pos.column, 125);
  EXPECT_EQ(dump(p.queries[1]), "From l In L GroupBy l.host Select l.host, AVG(l.lat)");
}

TEST(Parser, MultiLineProgramWithSeveralQueriesAndTracepoints) {
  constexpr std::string_view text =
      "-- The paper's latency query, in two steps\n"
      "Tracepoint Net.Send = Return(\"net::send(int, char const*)\") Exports bytes = arg2, r = ret, d = "
      "duration\n"
      "\n"
      "Lat = From response In SendResponse\n"
      "      Join request In MostRecent(ReceiveRequest) On request -> response\n"
      "      Select response.host, response.timestamp - request.timestamp As lat\n"
      "\n"
      "From l In Lat   // no ';' needed between queries\n"
      "GroupBy l.host\n"
      "Select l.host, AVG(l.lat), MAX(l.lat);\n"
      "tracepoint T2 = entry('f') exports X = ARG0;\n"
      "From s In Net.Send Select SUM(s.bytes)\n";
  Program p = must_parse(text);
  ASSERT_EQ(p.queries.size(), 3u);
  ASSERT_EQ(p.tracepoints.size(), 2u);
  EXPECT_EQ(p.queries[0].name, "Lat");
  expect_pos(p.queries[0].pos, Pos{4, 1, 148});
  expect_pos(p.queries[0].joins[0].pos, Pos{5, 7, 190});
  expect_pos(p.queries[0].select_pos, Pos{6, 7, 262});
  EXPECT_EQ(p.queries[1].source.names[0], "Lat");
  expect_pos(p.queries[1].pos, Pos{8, 1, 331});
  EXPECT_EQ(dump(p.queries[1]), "From l In Lat GroupBy l.host Select l.host, AVG(l.lat), MAX(l.lat)");
  EXPECT_EQ(dump(p.queries[2]), "From s In Net.Send Select SUM(s.bytes)");

  const TracepointDef& t = p.tracepoints[0];
  EXPECT_EQ(t.name, "Net.Send");
  expect_pos(t.pos, Pos{2, 12, 54});
  EXPECT_TRUE(t.at_return);
  EXPECT_EQ(t.symbol, "net::send(int, char const*)");
  expect_pos(t.symbol_pos, Pos{2, 30, 72});
  ASSERT_EQ(t.exports.size(), 3u);
  EXPECT_EQ(t.exports[0].name, "bytes");
  EXPECT_EQ(t.exports[0].ref, "arg2");
  expect_pos(t.exports[0].name_pos, Pos{2, 69, 111});
  expect_pos(t.exports[0].ref_pos, Pos{2, 77, 119});
  EXPECT_EQ(t.exports[1].ref, "ret");
  EXPECT_EQ(t.exports[2].name, "d");
  EXPECT_EQ(t.exports[2].ref, "duration");
  EXPECT_EQ(p.tracepoints[1].name, "T2");
  EXPECT_FALSE(p.tracepoints[1].at_return);
  EXPECT_EQ(p.tracepoints[1].symbol, "f");
  EXPECT_EQ(p.tracepoints[1].exports[0].name, "X");
  EXPECT_EQ(p.tracepoints[1].exports[0].ref, "arg0");  // refs are normalised to lower case
}

TEST(Parser, TracepointWithoutExportsAndCanonicalArgRefs) {
  Program p =
      must_parse("Tracepoint A = Entry(\"a\"); Tracepoint B = Entry(\"b\") Exports x = arg007, y = Arg10");
  ASSERT_EQ(p.tracepoints.size(), 2u);
  EXPECT_TRUE(p.tracepoints[0].exports.empty());
  EXPECT_EQ(p.tracepoints[1].exports[0].ref, "arg7");
  EXPECT_EQ(p.tracepoints[1].exports[1].ref, "arg10");
  EXPECT_TRUE(p.queries.empty());
}

TEST(Parser, SemicolonsAreOptionalAndMayRepeat) {
  Program p = must_parse(";; From a In A Select COUNT;;; From b In B Select COUNT From c In C Select COUNT;");
  ASSERT_EQ(p.queries.size(), 3u);
  EXPECT_EQ(p.queries[2].var, "c");
}

TEST(Parser, Literals) {
  Program p =
      must_parse("From v In T Select 1, 1.0, 'x', true, FALSE, Null, -3, -2.5, -9223372036854775808, 1e3");
  const auto& s = p.queries[0].select;
  ASSERT_EQ(s.size(), 10u);
  for (const auto& item : s) EXPECT_EQ(item.expr->kind, Expr::Kind::kLiteral);
  EXPECT_TRUE(s[0].expr->literal.is_int());
  EXPECT_EQ(s[0].expr->literal.as_int(), 1);
  EXPECT_TRUE(s[1].expr->literal.is_double());
  EXPECT_EQ(s[1].expr->literal.as_double(), 1.0);
  EXPECT_EQ(s[2].expr->literal.as_string(), "x");
  EXPECT_EQ(s[3].expr->literal.as_bool(), true);
  EXPECT_EQ(s[4].expr->literal.as_bool(), false);
  EXPECT_TRUE(s[5].expr->literal.is_null());
  EXPECT_EQ(s[6].expr->literal.as_int(), -3);
  expect_pos(s[6].expr->pos, Pos{1, 52, 51});  // the minus sign
  EXPECT_EQ(s[7].expr->literal.as_double(), -2.5);
  EXPECT_EQ(s[8].expr->literal.as_int(), INT64_MIN);
  EXPECT_EQ(s[9].expr->literal.as_double(), 1000.0);
}

TEST(Parser, PrecedenceShapesTheTree) {
  Program p = must_parse("From v In T Where Not v.a == 1 Or v.b + v.c * 2 > 3 And v.d Select COUNT");
  const Expr& e = *p.queries[0].where;
  // ((Not (v.a == 1)) Or (((v.b + (v.c * 2)) > 3) And v.d))
  ASSERT_EQ(e.op, Op::kOr);
  const Expr& lhs = *e.args[0];
  EXPECT_EQ(lhs.kind, Expr::Kind::kUnary);
  EXPECT_EQ(lhs.op, Op::kNot);
  EXPECT_EQ(lhs.args[0]->op, Op::kEq);
  const Expr& rhs = *e.args[1];
  ASSERT_EQ(rhs.op, Op::kAnd);
  const Expr& gt = *rhs.args[0];
  ASSERT_EQ(gt.op, Op::kGt);
  const Expr& add = *gt.args[0];
  ASSERT_EQ(add.op, Op::kAdd);
  EXPECT_EQ(add.args[1]->op, Op::kMul);
  EXPECT_EQ(rhs.args[1]->field, "d");
}

TEST(Parser, BinaryOperatorsAreLeftAssociative) {
  Program p = must_parse("From v In T Select v.a - v.b - v.c, v.a / v.b % v.c");
  const Expr& sub = *p.queries[0].select[0].expr;
  EXPECT_EQ(sub.op, Op::kSub);
  EXPECT_EQ(sub.args[0]->op, Op::kSub);
  EXPECT_EQ(sub.args[1]->field, "c");
  const Expr& mod = *p.queries[0].select[1].expr;
  EXPECT_EQ(mod.op, Op::kMod);
  EXPECT_EQ(mod.args[0]->op, Op::kDiv);
}

TEST(Parser, ExpressionPositions) {
  constexpr std::string_view text = "From v In T Where (v.a + 1) * 2 > -v.b Select COUNT";
  Program p = must_parse(text);
  const Expr& gt = *p.queries[0].where;
  expect_pos(gt.pos, pos_of(text, "("));  // a binary expression starts where its left operand's text does
  expect_pos(gt.op_pos, pos_of(text, ">"));
  const Expr& mul = *gt.args[0];
  expect_pos(mul.pos, pos_of(text, "("));
  expect_pos(mul.op_pos, pos_of(text, "*"));
  const Expr& add = *mul.args[0];
  expect_pos(add.pos, pos_of(text, "v.a"));  // inside the parentheses
  expect_pos(add.op_pos, pos_of(text, "+"));
  expect_pos(add.args[1]->pos, pos_of(text, "1"));
  const Expr& neg = *gt.args[1];
  EXPECT_EQ(neg.op, Op::kNeg);
  expect_pos(neg.pos, pos_of(text, "-v"));
  expect_pos(neg.op_pos, pos_of(text, "-v"));
  expect_pos(neg.args[0]->pos, pos_of(text, "v.b"));
  expect_pos(neg.args[0]->field_pos, pos_of(text, "b Select"));
}

TEST(Parser, FieldsMayBeKeywords) {
  Program p = must_parse("From s In X Select s.count, s.From, s.select");
  EXPECT_EQ(p.queries[0].select[0].expr->field, "count");
  EXPECT_EQ(p.queries[0].select[1].expr->field, "From");
  EXPECT_EQ(p.queries[0].select[2].expr->field, "select");
}

struct Canonical {
  std::string_view input;
  std::string_view expected;
};

TEST(Printer, CanonicalText) {
  const Canonical cases[] = {
      // UTF-8 prints as it is (bytes that are not UTF-8 are a lexer error).
      {"a.s == 'x\xc3\xa9\\n'", "a.s == \"x\xc3\xa9\\n\""},
      {"a.x+b.y*2", "a.x + b.y * 2"},
      {"(a.x+b.y)*2", "(a.x + b.y) * 2"},
      {"a.x - (b.y - c.z)", "a.x - (b.y - c.z)"},
      {"(a.x - b.y) - c.z", "a.x - b.y - c.z"},
      {"a.x / b.y % 3", "a.x / b.y % 3"},
      {"a.x / (b.y * 3)", "a.x / (b.y * 3)"},
      {"a.x == 1 and b.y != 2 or not c.z < 3", "a.x == 1 And b.y != 2 Or Not c.z < 3"},
      {"a.x == 1 And (b.y == 2 Or c.z == 3)", "a.x == 1 And (b.y == 2 Or c.z == 3)"},
      {"(a.x Or b.y) And c.z", "(a.x Or b.y) And c.z"},
      {"a.x Or (b.y And c.z)", "a.x Or b.y And c.z"},
      {"a.x Or (b.y Or c.z)", "a.x Or (b.y Or c.z)"},
      {"not (a.x and b.y)", "Not (a.x And b.y)"},
      {"(not a.x) == b.y", "(Not a.x) == b.y"},
      {"Not Not a.x", "Not Not a.x"},
      {"(a.x < b.y) == true", "(a.x < b.y) == true"},
      {"a.x == (b.y < c.z)", "a.x == (b.y < c.z)"},
      {"a.x + b.y <= c.z * 2", "a.x + b.y <= c.z * 2"},
      {"a.x >= 1", "a.x >= 1"},
      {"-a.x * -b.y", "-a.x * -b.y"},
      {"-(a.x + 1)", "-(a.x + 1)"},
      {"-(a.x * b.y)", "-(a.x * b.y)"},
      {"(-a.x) * b.y", "-a.x * b.y"},
      {"- -a.x", "- -a.x"},
      {"-(-5)", "- -5"},
      {"-5", "-5"},
      {"-(5)", "-5"},
      {"3 - -5", "3 - -5"},
      {"-0", "-0"},
      {"-(-0)", "- -0"},
      {"-0.0", "-0.0"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"-(Not a.x)", "-(Not a.x)"},
      {"a.x * (Not b.y)", "a.x * (Not b.y)"},
      {"sum(a.x)", "SUM(a.x)"},
      {"Average(a.x)", "AVG(a.x)"},
      {"avg(a.x)", "AVG(a.x)"},
      {"count", "COUNT"},
      {"count(a.x)", "COUNT(a.x)"},
      {"min(a.x) + max(a.y)", "MIN(a.x) + MAX(a.y)"},
      {"SUM(a.x + 1) / COUNT", "SUM(a.x + 1) / COUNT"},
      {"'say \"hi\"'", "\"say \\\"hi\\\"\""},
      {"'tab\\there\\u0001'", "\"tab\\there\\u0001\""},
      {"\"\\u00e9\"", "\"\xC3\xA9\""},
      {"42", "42"},
      {"2.0", "2.0"},
      {"1e3", "1000.0"},
      {".5", "0.5"},
      {"1.5e300", "1.5e+300"},
      {"TRUE", "true"},
      {"False", "false"},
      {"NULL", "null"},
      {"s.count", "s.count"},
      {"lat", "lat"},
      {"((a.x))", "a.x"},
      {"lat * (lat + 1)", "lat * (lat + 1)"},
  };
  for (const Canonical& c : cases) {
    std::string once = canonical(c.input);
    EXPECT_EQ(once, c.expected) << c.input;
    EXPECT_EQ(canonical(once), once) << "the canonical text parses back to itself: " << c.input;
  }
}

TEST(Printer, OperatorAndAggregateNames) {
  EXPECT_EQ(op_spelling(Op::kAnd), "And");
  EXPECT_EQ(op_spelling(Op::kNe), "!=");
  EXPECT_EQ(op_spelling(Op::kNeg), "-");
  EXPECT_EQ(op_spelling(Op::kNot), "Not");
  EXPECT_EQ(agg_name(AggFn::kAvg), "AVG");
  EXPECT_EQ(agg_name(AggFn::kCount), "COUNT");
}

TEST(Printer, HandBuiltTreeWithMissingOperandDoesNotCrash) {
  Expr e;
  e.kind = Expr::Kind::kBinary;
  e.op = Op::kAdd;
  EXPECT_EQ(to_string(e), "? + ?");
}

std::string nested_parens(int depth) { return std::string(depth, '(') + "v.a" + std::string(depth, ')'); }

// "- - - " ("--" would start a comment).
std::string minuses(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "- ";
  return s;
}

std::string chain(int terms, std::string_view op) {
  std::string s = "v.a";
  for (int i = 1; i < terms; ++i) s += std::string(" ") + std::string(op) + " v.a";
  return s;
}

TEST(Parser, NestingIsLimited) {
  const std::string too_deep = "expression is nested too deeply (more than 200 levels)";
  EXPECT_EQ(canonical(nested_parens(200)), "v.a");
  EXPECT_NE(canonical(nested_parens(201)).find(too_deep), std::string::npos);
  EXPECT_EQ(canonical(chain(201, "+")), chain(201, "+"));  // 200 operators
  EXPECT_NE(canonical(chain(202, "+")).find(too_deep), std::string::npos);
  EXPECT_NE(canonical(minuses(201) + "v.a").find(too_deep), std::string::npos);
  EXPECT_EQ(canonical(minuses(200) + "v.a"), minuses(199) + "-v.a");
  std::string nots;
  for (int i = 0; i < 201; ++i) nots += "Not ";
  EXPECT_NE(canonical(nots + "v.a").find(too_deep), std::string::npos);
  std::string sums = "v.a";
  for (int i = 0; i < 201; ++i) sums = "SUM(" + sums + ")";
  EXPECT_NE(canonical(sums).find(too_deep), std::string::npos);
  // Far deeper than the stack could take, were nesting not bounded.
  EXPECT_NE(canonical(nested_parens(100000)).find(too_deep), std::string::npos);
  EXPECT_NE(canonical(minuses(100000) + "1").find(too_deep), std::string::npos);
}

TEST(Parser, NestingErrorPointsWhereTheLimitIsPassed) {
  Result<Program> p = parse("From v In T Select " + nested_parens(201));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().line(), 1);
  EXPECT_EQ(p.error().column(), 20 + 200);  // the 201st '('
}

TEST(Parser, ErrorsCarryLineAndColumn) {
  Result<Program> p = parse("From a In A\nSelect a.x,\n  a.y = 2");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().line(), 3);
  EXPECT_EQ(p.error().column(), 7);
  EXPECT_EQ(p.error().message(), "3:7: '=' is assignment; use '==' to compare\n  a.y = 2\n      ^");
}

TEST(Parser, EmptyTextPointsNowhere) {
  Result<Program> p = parse("  \n -- just a comment\n");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message(), "empty query text");
  EXPECT_EQ(p.error().line(), 0);
}

TEST(Parser, TextLengthIsLimited) {
  std::string text = "From a In A Select COUNT" + std::string(kMaxQueryBytes, ' ');
  EXPECT_EQ(error_of(text), "query text is too long: 1048600 bytes, the limit is 1048576");
  EXPECT_EQ(error_of("From a In A Select COUNT" + std::string(kMaxQueryBytes - 24, ' ')), "(parsed)");
}

TEST(Parser, KeywordAfterADotWithSpaceIsAClause) {
  EXPECT_EQ(error_of("From s In X Select s. count"),
            "1:23: expected a field name after 's.', found keyword 'count'\n"
            "From s In X Select s. count\n"
            "                      ^");
  EXPECT_EQ(error_of("From s In X Select s. other"), "(parsed)");
}

TEST(Parser, LexicalErrorsWinOverLaterParseErrors) {
  // The lexer stops at '@'; the parser reports the first problem in the text.
  EXPECT_EQ(error_of("From a In A Select a.x @"),
            "1:24: unexpected character '@'\nFrom a In A Select a.x @\n                       ^");
  EXPECT_EQ(error_of("From a In Select a.x @"),
            "1:11: expected a tracepoint or query name after 'In', found keyword 'Select'\n"
            "From a In Select a.x @\n"
            "          ^");
}

TEST(Parser, CrLfLineEndings) {
  Result<Program> p = parse("From a In A\r\nSelect a.x +\r\n");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message(),
            "2:13: unexpected end of query: expected an expression\nSelect a.x +\n            ^");
}

}  // namespace
}  // namespace pivot::query
