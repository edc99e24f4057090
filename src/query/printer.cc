#include "query/printer.h"

#include <cmath>

#include "pivot/internal/json.h"

namespace pivot::query {
namespace {

// Binding strength, loosest first; a primary binds tightest.
enum Precedence : int {
  kOrPrec = 1,
  kAndPrec,
  kNotPrec,
  kComparePrec,
  kAddPrec,
  kMulPrec,
  kNegPrec,
  kPrimaryPrec,
};

int binary_precedence(Op op) {
  switch (op) {
    case Op::kOr: return kOrPrec;
    case Op::kAnd: return kAndPrec;
    case Op::kEq:
    case Op::kNe:
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe: return kComparePrec;
    case Op::kAdd:
    case Op::kSub: return kAddPrec;
    case Op::kMul:
    case Op::kDiv:
    case Op::kMod: return kMulPrec;
    case Op::kNot: return kNotPrec;
    case Op::kNeg: return kNegPrec;
  }
  return kPrimaryPrec;
}

bool is_negative_number(const Value& v) {
  return (v.is_int() && v.as_int() < 0) || (v.is_double() && std::signbit(v.as_double()));
}

int precedence(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kUnary: return e.op == Op::kNot ? kNotPrec : kNegPrec;
    case Expr::Kind::kBinary: return binary_precedence(e.op);
    // A negative number reads as a negation: it needs what `-x` needs.
    case Expr::Kind::kLiteral: return is_negative_number(e.literal) ? kNegPrec : kPrimaryPrec;
    default: return kPrimaryPrec;
  }
}

void print(const Expr& e, std::string& out);

// Prints `e`, in parentheses when it binds looser than `min_prec`.
void print_operand(const Expr* e, int min_prec, std::string& out) {
  if (e == nullptr) {
    out += '?';
    return;
  }
  bool parens = precedence(*e) < min_prec;
  if (parens) out += '(';
  print(*e, out);
  if (parens) out += ')';
}

const Expr* arg(const Expr& e, size_t i) { return i < e.args.size() ? e.args[i].get() : nullptr; }

void print_literal(const Value& v, std::string& out) {
  // Non-UTF-8 bytes stay as they are, so the text parses back to the same literal.
  if (v.is_string()) return internal::append_json_string(out, v.as_string(), internal::Utf8::kKeepBytes);
  out += v.is_double() ? v.to_string() : v.to_json();
}

void print_unary(const Expr& e, std::string& out) {
  if (e.op == Op::kNot) {
    out += "Not ";
    print_operand(arg(e, 0), kNotPrec, out);
    return;
  }
  std::string operand;
  print_operand(arg(e, 0), kNegPrec, operand);
  out += op_spelling(e.op);
  // "--" would start a comment: negating a negative prints "- -x".
  if (!operand.empty() && operand[0] == '-') out += ' ';
  out += operand;
}

void print_binary(const Expr& e, std::string& out) {
  int p = binary_precedence(e.op);
  // Operators are left-associative, except comparisons, which do not chain.
  print_operand(arg(e, 0), p == kComparePrec ? p + 1 : p, out);
  out += ' ';
  out += op_spelling(e.op);
  out += ' ';
  print_operand(arg(e, 1), p + 1, out);
}

void print_aggregate(const Expr& e, std::string& out) {
  std::string_view shorthand =
      e.agg == AggFn::kQuantile && e.args.size() == 2 && e.args[1]->literal.is_double()
          ? quantile_shorthand(e.args[1]->literal.as_double())
          : "";
  out += shorthand.empty() ? agg_name(e.agg) : shorthand;
  if (e.args.empty()) return;  // bare COUNT
  out += '(';
  if (e.agg == AggFn::kCountDistinct) out += "DISTINCT ";
  print_operand(arg(e, 0), kOrPrec, out);
  for (size_t i = 1; i < e.args.size() && shorthand.empty(); ++i) {
    out += ", ";
    print_operand(arg(e, i), kOrPrec, out);
  }
  out += ')';
}

void print(const Expr& e, std::string& out) {
  switch (e.kind) {
    case Expr::Kind::kLiteral: print_literal(e.literal, out); break;
    case Expr::Kind::kField: out += e.var + "." + e.field; break;
    case Expr::Kind::kName: out += e.name; break;
    case Expr::Kind::kUnary: print_unary(e, out); break;
    case Expr::Kind::kBinary: print_binary(e, out); break;
    case Expr::Kind::kAggregate: print_aggregate(e, out); break;
  }
}

}  // namespace

std::string_view op_spelling(Op op) {
  switch (op) {
    case Op::kAdd: return "+";
    case Op::kSub: return "-";
    case Op::kMul: return "*";
    case Op::kDiv: return "/";
    case Op::kMod: return "%";
    case Op::kEq: return "==";
    case Op::kNe: return "!=";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    case Op::kAnd: return "And";
    case Op::kOr: return "Or";
    case Op::kNot: return "Not";
    case Op::kNeg: return "-";
  }
  return "?";
}

std::string_view agg_name(AggFn fn) {
  switch (fn) {
    case AggFn::kCount: return "COUNT";
    case AggFn::kSum: return "SUM";
    case AggFn::kMin: return "MIN";
    case AggFn::kMax: return "MAX";
    case AggFn::kAvg: return "AVG";
    case AggFn::kHist: return "HIST";
    case AggFn::kLhist: return "LHIST";
    case AggFn::kQuantile: return "QUANTILE";
    case AggFn::kCountDistinct: return "COUNT";
  }
  return "?";
}

std::string_view quantile_shorthand(double q) {
  return q == 0.5 ? "P50" : q == 0.9 ? "P90" : q == 0.99 ? "P99" : "";
}

std::string to_string(const Expr& e) {
  std::string out;
  print(e, out);
  return out;
}

}  // namespace pivot::query
