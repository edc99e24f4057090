// libFuzzer target for the query language front end (src/query): any bytes
// must either parse or give an Error that points into the text; never crash,
// hang or exhaust the stack. On success every expression is printed, and its
// canonical text must parse back to the same text (printer round trip).
//
//   cmake --preset fuzz && cmake --build --preset fuzz
//   mkdir -p /tmp/qp && ./build/fuzz/fuzz/query_parser_fuzzer -max_total_time=60 /tmp/qp
//   fuzz/corpus/query_parser
//
// (libFuzzer writes new inputs to the first directory; the seed corpus holds
// the paper's queries and should stay small.)
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "query/parser.h"
#include "query/printer.h"

namespace {

using pivot::query::Expr;
using pivot::query::ExprPtr;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// to_string(e) parses back to an expression that prints the same.
void check_round_trip(const ExprPtr& e) {
  check(e != nullptr);
  std::string text = pivot::query::to_string(*e);
  auto again = pivot::query::parse("From v In T Select " + text);
  check(again.has_value());
  check(again->queries.size() == 1 && again->queries[0].select.size() == 1);
  check(pivot::query::to_string(*again->queries[0].select[0].expr) == text);
}

void check_error(const pivot::Error& e) {
  check(!e.message().empty());
  if (e.line() == 0) return;
  std::string prefix = std::to_string(e.line()) + ":" + std::to_string(e.column()) + ": ";
  check(e.message().compare(0, prefix.size(), prefix) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto program = pivot::query::parse(text);
  if (!program) {
    check_error(program.error());
    return 0;
  }
  for (const auto& q : program->queries) {
    if (q.where) check_round_trip(q.where);
    for (const auto& let : q.lets) check_round_trip(let.expr);
    for (const auto& g : q.group_by) check_round_trip(g);
    for (const auto& item : q.select) check_round_trip(item.expr);
  }
  return 0;
}
