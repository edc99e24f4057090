#include "query/parser.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/suggest.h"
#include "query/error.h"
#include "query/lexer.h"

namespace pivot::query {
namespace {

constexpr std::string_view kClauseOrder =
    "the clauses go in the order From, Join, Where, Let, GroupBy, Select";

// The clauses after From, in the order a query must write them.
enum class Clause { kJoin, kWhere, kLet, kGroupBy, kSelect, kNone };

std::string_view clause_name(Clause c) {
  switch (c) {
    case Clause::kJoin: return "Join";
    case Clause::kWhere: return "Where";
    case Clause::kLet: return "Let";
    case Clause::kGroupBy: return "GroupBy";
    case Clause::kSelect: return "Select";
    case Clause::kNone: return "From";
  }
  return "";
}

bool is_comparison(TokenKind k) {
  return k == TokenKind::kEq || k == TokenKind::kNe || k == TokenKind::kLt || k == TokenKind::kLe ||
         k == TokenKind::kGt || k == TokenKind::kGe;
}

Op binary_op(TokenKind k) {
  switch (k) {
    case TokenKind::kPlus: return Op::kAdd;
    case TokenKind::kMinus: return Op::kSub;
    case TokenKind::kStar: return Op::kMul;
    case TokenKind::kSlash: return Op::kDiv;
    case TokenKind::kPercent: return Op::kMod;
    case TokenKind::kEq: return Op::kEq;
    case TokenKind::kNe: return Op::kNe;
    case TokenKind::kLt: return Op::kLt;
    case TokenKind::kLe: return Op::kLe;
    case TokenKind::kGt: return Op::kGt;
    case TokenKind::kGe: return Op::kGe;
    default: return Op::kAdd;
  }
}

std::optional<AggFn> aggregate_of(Keyword k) {
  switch (k) {
    case Keyword::kCount: return AggFn::kCount;
    case Keyword::kSum: return AggFn::kSum;
    case Keyword::kMin: return AggFn::kMin;
    case Keyword::kMax: return AggFn::kMax;
    case Keyword::kAvg:
    case Keyword::kAverage: return AggFn::kAvg;
    case Keyword::kHist: return AggFn::kHist;
    case Keyword::kLhist: return AggFn::kLhist;
    case Keyword::kQuantile:
    case Keyword::kP50:
    case Keyword::kP90:
    case Keyword::kP99: return AggFn::kQuantile;
    default: return std::nullopt;
  }
}

// "ret", "duration" or "argN" (any case, N without leading zeros) for an
// export reference, or nullopt. A long N comes back as is, to be refused.
// Any other identifier names a parameter (or `this`), as written: C++
// names are case-sensitive; the agent checks it against debug information.
std::optional<std::string> export_ref(std::string_view text) {
  std::string lower;
  for (char c : text) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (lower == "ret" || lower == "duration") return lower;
  if (lower.size() <= 3 || lower.compare(0, 3, "arg") != 0 ||
      lower.find_first_not_of("0123456789", 3) != std::string::npos) {
    return std::nullopt;
  }
  size_t first_digit = std::min(lower.find_first_not_of('0', 3), lower.size() - 1);
  return "arg" + lower.substr(first_digit);
}

std::string at_text(Pos p) { return std::to_string(p.line) + ":" + std::to_string(p.column); }

// An expression being built: the node, how many operator levels it nests
// (a leaf is 0), and where its text starts (at a '(' if parenthesised).
struct Node {
  ExprPtr expr;
  int height = 0;
  Pos start;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text), tokens_(tokenize(text)) {}

  Result<Program> run();

 private:
  // --- tokens
  const Token& cur() const { return tokens_[i_]; }
  const Token& ahead(size_t n) const { return tokens_[std::min(i_ + n, tokens_.size() - 1)]; }
  const Token& advance() {
    const Token& t = tokens_[i_];
    if (i_ + 1 < tokens_.size()) ++i_;
    return t;
  }
  bool at(TokenKind k) const { return cur().kind == k; }
  bool at(Keyword k) const { return cur().is(k); }
  bool accept(TokenKind k) { return at(k) ? (advance(), true) : false; }
  bool accept(Keyword k) { return at(k) ? (advance(), true) : false; }
  uint32_t prev_end() const { return i_ == 0 ? 0 : tokens_[i_ - 1].end_offset(); }
  bool at_plain_name() const { return at(TokenKind::kIdent) && !is_reserved(cur().keyword); }
  bool at_named_query() const;
  // First( MostRecent( FirstN( MostRecentN( at the cursor.
  bool at_join_mode() const {
    const Token& t = cur();
    return (t.is(Keyword::kFirst) || t.is(Keyword::kMostRecent) || t.is(Keyword::kFirstN) ||
            t.is(Keyword::kMostRecentN)) &&
           ahead(1).kind == TokenKind::kLParen;
  }
  Clause clause_at() const;

  // --- errors; each returns false so a caller can `return fail(...)`
  bool fail(Pos pos, std::string message);
  bool expected(std::string_view what, std::string_view after = "");
  std::string snippet(uint32_t from, uint32_t to) const;

  // --- program and queries
  bool parse_statement(Program& p);
  bool parse_after_statement();
  bool define_name(const std::string& name, Pos pos, bool is_query);
  bool parse_query(Program& p, std::string name, Pos name_pos);
  bool parse_clauses(Query& q);
  bool parse_clause_error(Clause last);
  bool parse_let(Query& q, const Token& kw);
  bool parse_group_by(Query& q, const Token& kw);
  bool parse_var(std::string& out, Pos& pos, std::string_view what);
  bool parse_name(std::string& out, Pos& pos, std::string_view what);
  bool parse_source(Source& s, std::string_view what);
  bool parse_join(Join& j);
  bool parse_join_source(Join& j);
  bool parse_join_count(Join& j, const Token& mode);
  bool parse_select(Query& q);
  bool at_order_by() const {
    return at(Keyword::kOrderBy) || (at(Keyword::kOrder) && ahead(1).is(Keyword::kBy));
  }
  bool parse_order_and_limit(Query& q);
  bool parse_limit(Query& q);

  // --- tracepoint definitions
  bool parse_tracepoint(Program& p);
  bool parse_export(TracepointDef& def);

  // --- expressions, loosest first; a null expr means an error was recorded
  Node parse_expr();
  Node parse_or();
  Node parse_and();
  Node parse_not();
  Node parse_comparison();
  Node parse_additive();
  Node parse_multiplicative();
  Node parse_unary();
  Node parse_primary();
  Node parse_aggregate();
  bool parse_lhist_params(Expr& e);
  bool parse_quantile_param(Expr& e, const Token& name);
  bool at_distinct() const;
  bool parse_int_param(int64_t& out, std::string_view what);
  void unknown_function(const Token& name);
  Node parse_field_or_name();
  Node parse_parenthesised();
  Node literal(const Token& t, Value v);
  Node binary(Op op, const Token& op_token, Node left, Node right);
  Node unary(Op op, const Token& op_token, Node operand);
  bool check_height(int height, Pos pos);

  std::string_view text_;
  std::vector<Token> tokens_;
  size_t i_ = 0;
  std::optional<Error> error_;
  int parens_ = 0;                 // open '(' of any kind, to tell a stray ')' from a misplaced one
  int nesting_ = 0;                // open '(' inside the current expression
  bool after_tracepoint_ = false;  // the last statement was a Tracepoint definition
  struct Defined {
    Pos pos;
    bool is_query;
  };
  std::map<std::string, Defined> names_;  // queries and tracepoints of the program
};

// ---------------------------------------------------------------- errors

bool Parser::fail(Pos pos, std::string message) {
  if (!error_) error_ = make_error(text_, pos, message);
  return false;
}

bool Parser::expected(std::string_view what, std::string_view after) {
  const Token& t = cur();
  if (t.kind == TokenKind::kError) return fail(t.pos, t.string_value);
  if (t.kind == TokenKind::kEnd) return fail(t.pos, "unexpected end of query: expected " + std::string(what));
  if (t.kind == TokenKind::kRParen && parens_ == 0)
    return fail(t.pos, "unexpected ')' without a matching '('");
  std::string message = "expected " + std::string(what);
  if (!after.empty()) message += " after '" + std::string(after) + "'";
  return fail(t.pos, message + ", found " + describe(t));
}

// The source text from..to on one line, for "after 'From incr'" in messages.
std::string Parser::snippet(uint32_t from, uint32_t to) const {
  constexpr size_t kMaxLength = 48;
  std::string out;
  bool space = false;
  for (uint32_t i = from; i < to && i < text_.size(); ++i) {
    char c = text_[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > kMaxLength) {
    size_t cut = kMaxLength - 3;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "...";
  }
  return out;
}

// ---------------------------------------------------------------- program

Result<Program> Parser::run() {
  Program program;
  program.text = std::string(text_);
  while (accept(TokenKind::kSemicolon)) {
  }
  if (at(TokenKind::kEnd)) return pivot::Error("empty query text");  // nothing to point at
  while (!at(TokenKind::kEnd)) {
    if (!parse_statement(program) || !parse_after_statement()) break;
  }
  if (error_) return *error_;
  return program;
}

bool Parser::parse_statement(Program& p) {
  after_tracepoint_ = at(Keyword::kTracepoint);
  if (after_tracepoint_) return parse_tracepoint(p);
  if (at(Keyword::kFrom)) return parse_query(p, "", cur().pos);
  if (at_named_query()) {
    std::string name;
    Pos pos;
    if (!parse_name(name, pos, "a query name")) return false;
    advance();  // '='
    if (!at(Keyword::kFrom)) return expected("From", snippet(pos.offset, prev_end()));
    return parse_query(p, std::move(name), pos);
  }
  return expected("From, a query name or Tracepoint");
}

// After a statement: ';'s, then the end or the start of the next statement.
bool Parser::parse_after_statement() {
  bool separated = false;
  while (accept(TokenKind::kSemicolon)) separated = true;
  if (separated || at(TokenKind::kEnd) || at(Keyword::kFrom) || at(Keyword::kTracepoint) ||
      at_named_query()) {
    return true;  // parse_statement() reports anything else after a ';'
  }
  const Token& t = cur();
  if (t.kind == TokenKind::kError) return fail(t.pos, t.string_value);
  if (t.kind == TokenKind::kRParen) return fail(t.pos, "unexpected ')' without a matching '('");
  if (!after_tracepoint_) {
    Clause c = clause_at();
    if (c == Clause::kSelect) {
      return fail(t.pos, "duplicate Select clause; list every item in one Select, separated by ','");
    }
    if (c != Clause::kNone) {
      return fail(t.pos,
                  std::string(clause_name(c)) + " must come before Select; " + std::string(kClauseOrder));
    }
  }
  std::string_view what = after_tracepoint_ ? "Tracepoint definition" : "query";
  return fail(t.pos, "unexpected " + describe(t) + " after the " + std::string(what) +
                         "; expected ';', From, a query name or Tracepoint");
}

// NAME "=" at the cursor: the start of a named query.
bool Parser::at_named_query() const {
  if (!at_plain_name()) return false;
  size_t n = 1;
  while (ahead(n).kind == TokenKind::kDot && ahead(n + 1).kind == TokenKind::kIdent) n += 2;
  return ahead(n).kind == TokenKind::kAssign;
}

bool Parser::define_name(const std::string& name, Pos pos, bool is_query) {
  std::string_view kind = is_query ? "query" : "tracepoint";
  auto [it, inserted] = names_.try_emplace(name, Defined{pos, is_query});
  if (inserted) return true;
  const Defined& first = it->second;
  if (first.is_query == is_query) {
    return fail(pos, "duplicate " + std::string(kind) + " name '" + name + "': already defined at " +
                         at_text(first.pos));
  }
  return fail(pos, "'" + name + "' is already the name of a " + (first.is_query ? "query" : "tracepoint") +
                       " defined at " + at_text(first.pos));
}

// ---------------------------------------------------------------- queries

bool Parser::parse_query(Program& p, std::string name, Pos name_pos) {
  Query q;
  q.name = std::move(name);
  q.pos = name_pos;
  if (!q.name.empty() && !define_name(q.name, name_pos, true)) return false;
  const Token& from = advance();
  if (!parse_var(q.var, q.var_pos, "a variable name after From")) return false;
  if (!accept(Keyword::kIn)) return expected("'In'", snippet(from.pos.offset, prev_end()));
  const Token& t = cur();
  if (at_join_mode()) {
    return fail(t.pos, std::string(keyword_spelling(t.keyword)) +
                           "(...) chooses among joined tuples; use it in a Join: Join x In " +
                           std::string(keyword_spelling(t.keyword)) + "(...) On x -> y");
  }
  if (!parse_source(q.source, "a tracepoint or query name after 'In'")) return false;
  if (!parse_clauses(q)) return false;
  p.queries.push_back(std::move(q));
  return true;
}

Clause Parser::clause_at() const {
  switch (cur().kind == TokenKind::kIdent ? cur().keyword : Keyword::kNone) {
    case Keyword::kJoin: return Clause::kJoin;
    case Keyword::kWhere: return Clause::kWhere;
    case Keyword::kLet: return Clause::kLet;
    case Keyword::kGroupBy: return Clause::kGroupBy;
    case Keyword::kGroup: return Clause::kGroupBy;
    case Keyword::kSelect: return Clause::kSelect;
    default: return Clause::kNone;
  }
}

// Join*, Where?, Let*, GroupBy?, then Select, in that order.
bool Parser::parse_clauses(Query& q) {
  Clause last = Clause::kNone;
  while (true) {
    Clause c = clause_at();
    if (c == Clause::kNone) return parse_clause_error(last);
    bool repeatable = c == Clause::kJoin || c == Clause::kLet;
    if (c == last && !repeatable) {
      return fail(cur().pos, c == Clause::kWhere
                                 ? "duplicate Where clause; combine the conditions with And"
                                 : "duplicate GroupBy clause; list every group key in one GroupBy, "
                                   "separated by ','");
    }
    if (last != Clause::kNone && c < last) {
      return fail(cur().pos, std::string(clause_name(c)) + " must come before " +
                                 std::string(clause_name(last)) + "; " + std::string(kClauseOrder));
    }
    last = c;
    const Token& kw = advance();
    switch (c) {
      case Clause::kJoin: {
        Join j;
        j.pos = kw.pos;
        if (!parse_join(j)) return false;
        q.joins.push_back(std::move(j));
        break;
      }
      case Clause::kWhere: {
        q.where_pos = kw.pos;
        q.where = parse_expr().expr;
        if (!q.where) return false;
        break;
      }
      case Clause::kLet:
        if (!parse_let(q, kw)) return false;
        break;
      case Clause::kGroupBy:
        if (!parse_group_by(q, kw)) return false;
        break;
      case Clause::kSelect: q.select_pos = kw.pos; return parse_select(q);
      case Clause::kNone: break;
    }
  }
}

// Let NAME = expr (the Let keyword `kw` is consumed).
bool Parser::parse_let(Query& q, const Token& kw) {
  Let let;
  if (!parse_var(let.name, let.name_pos, "a name after Let")) return false;
  if (!accept(TokenKind::kAssign)) return expected("'='", snippet(kw.pos.offset, prev_end()));
  let.expr = parse_expr().expr;
  if (!let.expr) return false;
  q.lets.push_back(std::move(let));
  return true;
}

// GroupBy expr {, expr}, or Group By (the GroupBy or Group keyword `kw` is consumed).
bool Parser::parse_group_by(Query& q, const Token& kw) {
  q.group_by_pos = kw.pos;
  if (kw.is(Keyword::kGroup) && !accept(Keyword::kBy)) return expected("'By'", "Group");
  do {
    ExprPtr e = parse_expr().expr;
    if (!e) return false;
    q.group_by.push_back(std::move(e));
  } while (accept(TokenKind::kComma));
  return true;
}

// No clause keyword where one must be: say what could come instead.
bool Parser::parse_clause_error(Clause last) {
  const Token& t = cur();
  if (t.kind == TokenKind::kError) return fail(t.pos, t.string_value);
  if (t.kind == TokenKind::kEnd) return fail(t.pos, "unexpected end of query: expected Select");
  if (t.kind == TokenKind::kSemicolon || t.is(Keyword::kFrom) || t.is(Keyword::kTracepoint) ||
      at_named_query()) {
    return fail(t.pos, "query has no Select clause");
  }
  if (at_order_by() || t.is(Keyword::kLimit)) {
    return fail(t.pos, std::string(t.is(Keyword::kLimit) ? "Limit" : "OrderBy") +
                           " must come after Select; OrderBy and Limit end a query");
  }
  switch (last) {
    case Clause::kNone:
    case Clause::kJoin: return expected("Join, Where, Let, GroupBy or Select");
    case Clause::kWhere:
    case Clause::kLet: return expected("Let, GroupBy or Select");
    default: return expected("',' or Select");
  }
}

bool Parser::parse_var(std::string& out, Pos& pos, std::string_view what) {
  if (!at_plain_name()) return expected(what);
  pos = cur().pos;
  out = std::string(advance().text);
  return true;
}

// NAME {"." IDENT}: a tracepoint or query name such as DN.DataTransferProtocol.
bool Parser::parse_name(std::string& out, Pos& pos, std::string_view what) {
  if (!parse_var(out, pos, what)) return false;
  while (at(TokenKind::kDot)) {
    const Token& dot = advance();
    const Token& t = cur();
    // A keyword continues a name only right after the dot: "X. Select" is a clause.
    bool adjacent = t.pos.offset == dot.end_offset();
    if (t.kind != TokenKind::kIdent || (is_reserved(t.keyword) && !adjacent)) {
      return expected("a name after '" + out + ".'");
    }
    out += '.';
    out += advance().text;
  }
  return true;
}

bool Parser::parse_source(Source& s, std::string_view what) {
  s.pos = cur().pos;
  if (!(at(Keyword::kUnion) && ahead(1).kind == TokenKind::kLParen)) {
    s.names.emplace_back();
    s.name_pos.emplace_back();
    return parse_name(s.names.back(), s.name_pos.back(), what);
  }
  s.is_union = true;
  advance();
  advance();
  ++parens_;
  do {
    s.names.emplace_back();
    s.name_pos.emplace_back();
    if (!parse_name(s.names.back(), s.name_pos.back(), "a tracepoint or query name in Union(...)"))
      return false;
  } while (accept(TokenKind::kComma));
  if (!accept(TokenKind::kRParen)) return expected("',' or ')' in Union(...)");
  --parens_;
  return true;
}

// Join VAR In jsource On VAR -> VAR (the Join keyword is consumed).
bool Parser::parse_join(Join& j) {
  if (!parse_var(j.var, j.var_pos, "a variable name after Join")) return false;
  if (!accept(Keyword::kIn)) return expected("'In'", snippet(j.pos.offset, prev_end()));
  if (!parse_join_source(j)) return false;
  if (!accept(Keyword::kOn)) return expected("'On'", snippet(j.pos.offset, prev_end()));
  if (!parse_var(j.before, j.before_pos, "a variable name after On")) return false;
  if (at(TokenKind::kLt) && ahead(1).kind == TokenKind::kMinus &&
      ahead(1).pos.offset == cur().pos.offset + 1) {
    const Token& other = ahead(2);
    std::string hint =
        other.kind == TokenKind::kIdent ? std::string(other.text) + " -> " + j.before : "earlier -> later";
    return fail(cur().pos, "expected '->' in On (happened-before), found '<-'; write On " + hint);
  }
  if (!accept(TokenKind::kArrow)) return expected("'->' in On (happened-before)");
  return parse_var(j.after, j.after_pos, "a variable name after '->'");
}

bool Parser::parse_join_source(Join& j) {
  const Token& mode = cur();
  if (!at_join_mode()) {
    return parse_source(j.source, "a tracepoint or query name after 'In'");
  }
  const std::string name(keyword_spelling(mode.keyword));
  advance();
  const Token& lparen = advance();
  ++parens_;
  if (!parse_source(j.source, "a tracepoint or query name in " + name + "(...)")) return false;
  if (mode.is(Keyword::kFirstN) || mode.is(Keyword::kMostRecentN)) {
    j.mode = mode.is(Keyword::kFirstN) ? JoinMode::kFirstN : JoinMode::kMostRecentN;
    if (!parse_join_count(j, mode)) return false;
  } else {
    j.mode = mode.is(Keyword::kFirst) ? JoinMode::kFirst : JoinMode::kMostRecent;
    j.n = 1;
    j.n_pos = mode.pos;
    if (at(TokenKind::kComma)) {
      return fail(cur().pos, name + " takes no count; use " + name + "N(source, N) to keep N tuples");
    }
  }
  if (!accept(TokenKind::kRParen)) {
    return expected("')' to close the '(' at " + at_text(lparen.pos));
  }
  --parens_;
  return true;
}

// ", N" of FirstN(source, N) and MostRecentN(source, N).
bool Parser::parse_join_count(Join& j, const Token& mode) {
  const std::string name(keyword_spelling(mode.keyword));
  if (at(TokenKind::kRParen)) return fail(cur().pos, name + " needs a count: " + name + "(source, N)");
  if (!accept(TokenKind::kComma)) return expected("',' and a count in " + name + "(source, N)");
  const Token& t = cur();
  if (t.kind == TokenKind::kEnd || t.kind == TokenKind::kError) return expected("the count N of " + name);
  if (t.kind != TokenKind::kInt || t.int_value < 1 || t.int_value > static_cast<uint64_t>(kMaxJoinCount)) {
    return fail(t.pos,
                "the count of " + name + " must be an integer from 1 to " + std::to_string(kMaxJoinCount));
  }
  j.n = static_cast<int64_t>(t.int_value);
  j.n_pos = t.pos;
  advance();
  return true;
}

// Select item {"," item}; item := expr [As NAME] (the Select keyword is consumed).
bool Parser::parse_select(Query& q) {
  do {
    SelectItem item;
    item.expr = parse_expr().expr;
    if (!item.expr) return false;
    if (accept(Keyword::kAs)) {
      if (!parse_var(item.alias, item.alias_pos, "a column name after As")) return false;
    }
    q.select.push_back(std::move(item));
  } while (accept(TokenKind::kComma));
  return parse_order_and_limit(q);
}

// [OrderBy expr [Desc|Asc] {, ...}] [Limit N], after the Select items.
bool Parser::parse_order_and_limit(Query& q) {
  if (at_named_query()) return true;  // a query named OrderBy or Limit comes next
  if (at_order_by()) {
    const Token& kw = advance();
    q.order_by_pos = kw.pos;
    if (kw.is(Keyword::kOrder)) advance();  // By
    do {
      OrderItem item;
      if (at(Keyword::kLimit) || at(TokenKind::kEnd) || at(TokenKind::kSemicolon)) {
        return expected("a Select item to order by");
      }
      item.expr = parse_expr().expr;
      if (!item.expr) return false;
      if (at(Keyword::kDesc) || at(Keyword::kAsc)) item.desc = advance().is(Keyword::kDesc);
      q.order_by.push_back(std::move(item));
    } while (accept(TokenKind::kComma));
    if (at_order_by())
      return fail(cur().pos, "duplicate OrderBy clause; list every key in one OrderBy, separated by ','");
  }
  if (at(Keyword::kLimit) && !at_named_query() && !parse_limit(q)) return false;
  if (at_order_by()) return fail(cur().pos, "OrderBy must come before Limit");
  if (at(Keyword::kOrder) && !at_named_query()) {
    advance();
    return expected("'By'", "Order");
  }
  if (at(Keyword::kLimit)) return fail(cur().pos, "duplicate Limit clause");
  return true;
}

// Limit N (at the Limit keyword).
bool Parser::parse_limit(Query& q) {
  q.limit_pos = advance().pos;
  const Token& t = cur();
  if (t.kind == TokenKind::kError) return fail(t.pos, t.string_value);
  if (t.kind != TokenKind::kInt || t.int_value < 1 || t.int_value > static_cast<uint64_t>(kMaxLimit)) {
    return fail(t.pos, "Limit needs a row count, an integer from 1 to " + std::to_string(kMaxLimit) +
                           (t.kind == TokenKind::kEnd ? std::string() : ", found " + describe(t)));
  }
  q.limit = static_cast<int64_t>(t.int_value);
  advance();
  return true;
}

// ---------------------------------------------------------------- tracepoints

// Tracepoint NAME = (Entry|Return)("symbol") [Exports NAME = REF {, NAME = REF}]
bool Parser::parse_tracepoint(Program& p) {
  TracepointDef def;
  const Token& kw = advance();
  if (!parse_name(def.name, def.pos, "a tracepoint name after Tracepoint")) return false;
  if (!define_name(def.name, def.pos, false)) return false;
  if (!accept(TokenKind::kAssign)) return expected("'='", snippet(kw.pos.offset, prev_end()));
  if (!at(Keyword::kEntry) && !at(Keyword::kReturn))
    return expected("Entry(\"symbol\") or Return(\"symbol\")");
  def.at_return = at(Keyword::kReturn);
  const Token& which = advance();
  if (!accept(TokenKind::kLParen)) return expected("'('", which.text);
  ++parens_;
  if (!at(TokenKind::kString)) return expected("the function's symbol as a string, as in Entry(\"ns::f\")");
  def.symbol = cur().string_value;
  def.symbol_pos = cur().pos;
  if (def.symbol.empty()) return fail(cur().pos, "the function symbol must not be empty");
  advance();
  if (!accept(TokenKind::kRParen)) return expected("')' after the symbol");
  --parens_;
  if (accept(Keyword::kExports)) {
    do {
      if (!parse_export(def)) return false;
    } while (accept(TokenKind::kComma));
    // "a = arg1 b = arg2" reads as a query named b: catch the missing ','.
    if (at(TokenKind::kIdent) && ahead(1).kind == TokenKind::kAssign && ahead(2).kind == TokenKind::kIdent &&
        (export_ref(ahead(2).text) || !is_reserved(ahead(2).keyword))) {
      return fail(cur().pos, "expected ',' between exports, found " + describe(cur()));
    }
  }
  p.tracepoints.push_back(std::move(def));
  return true;
}

// NAME = argN | ret | duration | this | PARAMETER
bool Parser::parse_export(TracepointDef& def) {
  TracepointExport e;
  if (!at(TokenKind::kIdent)) return expected("an export name");
  e.name = std::string(cur().text);
  e.name_pos = cur().pos;
  for (const TracepointExport& other : def.exports) {
    if (other.name == e.name) {
      return fail(e.name_pos, "duplicate export '" + e.name + "' in Tracepoint " + def.name);
    }
  }
  advance();
  if (!accept(TokenKind::kAssign)) return expected("'='", e.name);
  if (!at(TokenKind::kIdent)) return expected("argN, ret, duration, this or a parameter name");
  const Token& ref = cur();
  std::optional<std::string> canonical = export_ref(ref.text);
  e.ref = canonical ? *canonical : std::string(ref.text);
  e.ref_pos = ref.pos;
  if (!def.at_return && (e.ref == "ret" || e.ref == "duration")) {
    return fail(ref.pos, "'" + e.ref + "' is only available at Return(...) tracepoints");
  }
  bool is_arg = e.ref.compare(0, 3, "arg") == 0;
  if (is_arg && (e.ref.size() > 6 || std::stoi(e.ref.substr(3)) > kMaxArgIndex)) {
    return fail(ref.pos, "argument index " + e.ref.substr(3) +
                             " is out of range: exports can name arg0 to arg" + std::to_string(kMaxArgIndex));
  }
  advance();
  def.exports.push_back(std::move(e));
  return true;
}

// ---------------------------------------------------------------- expressions

bool Parser::check_height(int height, Pos pos) {
  if (height <= kMaxExprDepth) return true;
  return fail(pos,
              "expression is nested too deeply (more than " + std::to_string(kMaxExprDepth) + " levels)");
}

Node Parser::literal(const Token& t, Value v) {
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kLiteral;
  e->pos = t.pos;
  e->literal = std::move(v);
  return Node{std::move(e), 0, t.pos};
}

Node Parser::binary(Op op, const Token& op_token, Node left, Node right) {
  if (!left.expr || !right.expr) return {};
  int height = 1 + std::max(left.height, right.height);
  if (!check_height(height, op_token.pos)) return {};
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kBinary;
  e->pos = left.start;
  e->op = op;
  e->op_pos = op_token.pos;
  e->args = {std::move(left.expr), std::move(right.expr)};
  return Node{std::move(e), height, left.start};
}

Node Parser::unary(Op op, const Token& op_token, Node operand) {
  if (!operand.expr) return {};
  int height = 1 + operand.height;
  if (!check_height(height, op_token.pos)) return {};
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kUnary;
  e->pos = op_token.pos;
  e->op = op;
  e->op_pos = op_token.pos;
  e->args = {std::move(operand.expr)};
  return Node{std::move(e), height, op_token.pos};
}

Node Parser::parse_expr() { return parse_or(); }

Node Parser::parse_or() {
  Node left = parse_and();
  while (left.expr && at(Keyword::kOr)) {
    const Token& op = advance();
    left = binary(Op::kOr, op, std::move(left), parse_and());
  }
  return left;
}

Node Parser::parse_and() {
  Node left = parse_not();
  while (left.expr && at(Keyword::kAnd)) {
    const Token& op = advance();
    left = binary(Op::kAnd, op, std::move(left), parse_not());
  }
  return left;
}

// Not Not x: prefix chains are read in a loop, so they cost no stack.
Node Parser::parse_not() {
  std::vector<const Token*> nots;
  while (at(Keyword::kNot)) nots.push_back(&advance());
  Node operand = parse_comparison();
  for (auto it = nots.rbegin(); it != nots.rend() && operand.expr; ++it) {
    operand = unary(Op::kNot, **it, std::move(operand));
  }
  return operand;
}

Node Parser::parse_comparison() {
  Node left = parse_additive();
  if (!left.expr) return left;
  if (at(TokenKind::kAssign)) {
    fail(cur().pos, "'=' is assignment; use '==' to compare");
    return {};
  }
  if (!is_comparison(cur().kind)) return left;
  const Token& op = advance();
  Node result = binary(binary_op(op.kind), op, std::move(left), parse_additive());
  if (result.expr && at(TokenKind::kAssign)) {
    fail(cur().pos, "'=' is assignment; use '==' to compare");
    return {};
  }
  if (result.expr && is_comparison(cur().kind)) {
    fail(cur().pos, "comparisons do not chain; combine them with And, as in 'a < b And b < c'");
    return {};
  }
  return result;
}

Node Parser::parse_additive() {
  Node left = parse_multiplicative();
  while (left.expr && (at(TokenKind::kPlus) || at(TokenKind::kMinus))) {
    const Token& op = advance();
    left = binary(binary_op(op.kind), op, std::move(left), parse_multiplicative());
  }
  return left;
}

Node Parser::parse_multiplicative() {
  Node left = parse_unary();
  while (left.expr && (at(TokenKind::kStar) || at(TokenKind::kSlash) || at(TokenKind::kPercent))) {
    const Token& op = advance();
    left = binary(binary_op(op.kind), op, std::move(left), parse_unary());
  }
  return left;
}

// -x, - -x; a minus right before a number folds into it (-5 is a literal),
// which is also how the int64 minimum, -9223372036854775808, is written.
Node Parser::parse_unary() {
  std::vector<const Token*> minuses;
  while (at(TokenKind::kMinus)) minuses.push_back(&advance());
  Node operand;
  // An int has no -0: folding "-0" into 0 would print back as "0", not "-0".
  bool foldable = at(TokenKind::kDouble) || (at(TokenKind::kInt) && cur().int_value != 0);
  if (!minuses.empty() && foldable) {
    const Token& minus = *minuses.back();
    minuses.pop_back();
    const Token& number = advance();
    operand = number.kind == TokenKind::kDouble
                  ? literal(minus, Value(-number.double_value))
                  : literal(minus, Value(static_cast<int64_t>(0 - number.int_value)));
  } else {
    operand = parse_primary();
  }
  for (auto it = minuses.rbegin(); it != minuses.rend() && operand.expr; ++it) {
    operand = unary(Op::kNeg, **it, std::move(operand));
  }
  return operand;
}

Node Parser::parse_primary() {
  const Token& t = cur();
  switch (t.kind) {
    case TokenKind::kInt:
      if (t.int_value > static_cast<uint64_t>(INT64_MAX)) {
        fail(t.pos, "integer '" + std::string(t.text) + "' is out of range for a 64-bit integer");
        return {};
      }
      advance();
      return literal(t, Value(static_cast<int64_t>(t.int_value)));
    case TokenKind::kDouble: advance(); return literal(t, Value(t.double_value));
    case TokenKind::kString: advance(); return literal(t, Value(t.string_value));
    case TokenKind::kLParen: return parse_parenthesised();
    case TokenKind::kIdent: break;
    default: expected("an expression"); return {};
  }
  switch (t.keyword) {
    case Keyword::kTrue: advance(); return literal(t, Value(true));
    case Keyword::kFalse: advance(); return literal(t, Value(false));
    case Keyword::kNull: advance(); return literal(t, Value());
    case Keyword::kNot:
      fail(t.pos,
           "put 'Not ...' in parentheses here; Not binds more loosely than comparisons and arithmetic");
      return {};
    default: break;
  }
  // HIST and the like are aggregates only before '(' (contextual keywords).
  if (aggregate_of(t.keyword) && (is_reserved(t.keyword) || ahead(1).kind == TokenKind::kLParen))
    return parse_aggregate();
  if (is_reserved(t.keyword)) {
    expected("an expression");
    return {};
  }
  return parse_field_or_name();
}

Node Parser::parse_parenthesised() {
  const Token& lparen = advance();
  if (++nesting_ > kMaxExprDepth) {
    check_height(nesting_, lparen.pos);
    return {};
  }
  ++parens_;
  Node inner = parse_expr();
  if (inner.expr && !accept(TokenKind::kRParen)) {
    expected("')' to close the '(' at " + at_text(lparen.pos));
    inner = {};
  }
  --parens_;
  --nesting_;
  inner.start = lparen.pos;
  return inner;
}

// COUNT, COUNT(expr), COUNT(DISTINCT expr), SUM(expr), MIN, MAX, AVG,
// AVERAGE, HIST, LHIST, QUANTILE(expr, q), P50, P90, P99.
Node Parser::parse_aggregate() {
  const Token& name = advance();
  const AggFn fn = *aggregate_of(name.keyword);
  const std::string canonical(keyword_spelling(name.keyword));
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kAggregate;
  e->pos = name.pos;
  e->agg = fn;
  e->agg_spelling = std::string(name.text);
  const std::string usage = canonical + (name.is(Keyword::kQuantile) ? "(expr, q)" : "(expr)");
  if (!at(TokenKind::kLParen)) {
    if (fn == AggFn::kCount) return Node{std::move(e), 0, name.pos};
    fail(name.pos, canonical + " needs an argument: " + usage);
    return {};
  }
  const Token& lparen = advance();
  if (at(TokenKind::kRParen)) {
    fail(cur().pos, fn == AggFn::kCount
                        ? "COUNT() is empty; write COUNT, without parentheses, to count tuples"
                        : canonical + " needs an argument: " + usage);
    return {};
  }
  if (++nesting_ > kMaxExprDepth) {
    check_height(nesting_, lparen.pos);
    return {};
  }
  ++parens_;
  if (fn == AggFn::kCount && at_distinct()) {
    advance();
    e->agg = AggFn::kCountDistinct;
  }
  Node arg = parse_expr();
  if (arg.expr) e->args = {arg.expr};
  if (arg.expr && fn == AggFn::kLhist && !parse_lhist_params(*e)) arg = {};
  if (arg.expr && fn == AggFn::kQuantile && !parse_quantile_param(*e, name)) arg = {};
  if (arg.expr && !accept(TokenKind::kRParen)) {
    expected("')' after the argument of " + canonical);
    arg = {};
  }
  --parens_;
  --nesting_;
  if (!arg.expr || !check_height(arg.height + 1, name.pos)) return {};
  return Node{std::move(e), arg.height + 1, name.pos};
}

// ", min, max, step" of LHIST(x, min, max, step): integers, min < max,
// 0 < step, at most kMaxLhistBuckets buckets between them.
bool Parser::parse_lhist_params(Expr& e) {
  int64_t p[3];
  const char* what[3] = {"minimum", "maximum", "step"};
  for (int i = 0; i < 3; ++i) {
    if (!accept(TokenKind::kComma)) {
      return fail(cur().pos, "LHIST needs a minimum, a maximum and a step: LHIST(expr, min, max, step)");
    }
    Pos pos = cur().pos;
    if (!parse_int_param(p[i], std::string("the ") + what[i] + " of LHIST")) return false;
    auto lit = std::make_shared<Expr>();
    lit->kind = Expr::Kind::kLiteral;
    lit->pos = pos;
    lit->literal = Value(p[i]);
    e.args.push_back(std::move(lit));
  }
  if (p[0] >= p[1]) return fail(e.args[2]->pos, "the maximum of LHIST must be greater than its minimum");
  if (p[2] <= 0) return fail(e.args[3]->pos, "the step of LHIST must be positive");
  uint64_t n = (static_cast<uint64_t>(p[1]) - static_cast<uint64_t>(p[0]) + static_cast<uint64_t>(p[2]) - 1) /
               static_cast<uint64_t>(p[2]);
  if (n > static_cast<uint64_t>(kMaxLhistBuckets)) {
    return fail(e.args[3]->pos, "LHIST would have " + std::to_string(n) + " buckets between " +
                                    std::to_string(p[0]) + " and " + std::to_string(p[1]) + "; at most " +
                                    std::to_string(kMaxLhistBuckets) + ": use a larger step");
  }
  return true;
}

// QUANTILE's ", q", a number literal with 0 < q <= 1; P50, P90 and P99
// have theirs.
bool Parser::parse_quantile_param(Expr& e, const Token& name) {
  auto q = std::make_shared<Expr>();
  q->kind = Expr::Kind::kLiteral;
  if (!name.is(Keyword::kQuantile)) {
    q->pos = name.pos;
    q->literal = Value(name.is(Keyword::kP50) ? 0.5 : name.is(Keyword::kP90) ? 0.9 : 0.99);
    e.args.push_back(std::move(q));
    return true;
  }
  if (!accept(TokenKind::kComma)) {
    return fail(cur().pos,
                "QUANTILE needs the quantile: QUANTILE(expr, q), with 0 < q <= 1 (P99(expr) is "
                "QUANTILE(expr, 0.99))");
  }
  q->pos = cur().pos;
  const bool negative = accept(TokenKind::kMinus);
  const Token& t = cur();
  if (t.kind == TokenKind::kError) return fail(t.pos, t.string_value);
  if (t.kind != TokenKind::kInt && t.kind != TokenKind::kDouble) {
    return fail(t.pos, "the quantile of QUANTILE must be a number, found " + describe(t));
  }
  double v = t.kind == TokenKind::kInt ? static_cast<double>(t.int_value) : t.double_value;
  if (negative) v = -v;
  if (!(v > 0 && v <= 1)) {
    return fail(q->pos, "the quantile of QUANTILE must be greater than 0 and at most 1, found '" +
                            std::string(negative ? "-" : "") + std::string(t.text) + "'");
  }
  advance();
  q->literal = Value(v);
  e.args.push_back(std::move(q));
  return true;
}

// DISTINCT right after COUNT( is a keyword when an expression follows it
// (COUNT(DISTINCT r.x)); else it is a name (COUNT(distinct), a Let).
bool Parser::at_distinct() const {
  if (!at(Keyword::kDistinct)) return false;
  TokenKind next = ahead(1).kind;
  return next == TokenKind::kIdent || next == TokenKind::kLParen || next == TokenKind::kInt ||
         next == TokenKind::kDouble || next == TokenKind::kString;
}

// An integer literal, maybe negative, as an aggregate's parameter.
bool Parser::parse_int_param(int64_t& out, std::string_view what) {
  bool negative = accept(TokenKind::kMinus);
  const Token& t = cur();
  if (t.kind != TokenKind::kInt || t.int_value > static_cast<uint64_t>(INT64_MAX) + (negative ? 1 : 0)) {
    if (t.kind == TokenKind::kError) return fail(t.pos, t.string_value);
    return fail(t.pos, std::string(what) + " must be an integer, found " + describe(t));
  }
  out = negative ? static_cast<int64_t>(0 - t.int_value) : static_cast<int64_t>(t.int_value);
  advance();
  return true;
}

// `name(` where name is not an aggregate: the aggregates, and the closest.
void Parser::unknown_function(const Token& name) {
  std::vector<std::string> aggregates;
  for (int k = static_cast<int>(Keyword::kFrom); k <= static_cast<int>(kLastKeyword); ++k) {
    if (aggregate_of(static_cast<Keyword>(k)))
      aggregates.emplace_back(keyword_spelling(static_cast<Keyword>(k)));
  }
  std::string list;
  for (const auto& a : aggregates) list += (list.empty() ? "" : ", ") + a;
  std::string hint = internal::did_you_mean(name.text, aggregates);
  fail(name.pos, "unknown aggregate '" + std::string(name.text) + "'; " + (hint.empty() ? "" : hint + " ") +
                     "aggregates: " + list);
}

// var.field, or a Let name.
Node Parser::parse_field_or_name() {
  const Token& first = advance();
  auto e = std::make_shared<Expr>();
  e->pos = first.pos;
  if (at(TokenKind::kLParen)) {
    unknown_function(first);
    return {};
  }
  if (!at(TokenKind::kDot)) {
    e->kind = Expr::Kind::kName;
    e->name = std::string(first.text);
    return Node{std::move(e), 0, first.pos};
  }
  const Token& dot = advance();
  const Token& field = cur();
  // Any identifier is a field (s.count), but a keyword only right after the dot.
  bool adjacent = field.pos.offset == dot.end_offset();
  if (field.kind != TokenKind::kIdent || (is_reserved(field.keyword) && !adjacent)) {
    expected("a field name after '" + std::string(first.text) + ".'");
    return {};
  }
  advance();
  e->kind = Expr::Kind::kField;
  e->var = std::string(first.text);
  e->field = std::string(field.text);
  e->field_pos = field.pos;
  return Node{std::move(e), 0, first.pos};
}

}  // namespace

pivot::Result<Program> parse(std::string_view text) {
  if (text.size() > kMaxQueryBytes) {
    return pivot::Error("query text is too long: " + std::to_string(text.size()) + " bytes, the limit is " +
                        std::to_string(kMaxQueryBytes));
  }
  try {
    Parser parser(text);
    return parser.run();
  } catch (const std::bad_alloc&) {
    return pivot::Error("out of memory while parsing the query");
  } catch (...) {
    return pivot::Error("internal error while parsing the query");
  }
}

}  // namespace pivot::query
