#include "planner/planner.h"

#include <algorithm>
#include <cstdio>

#include "planner/binder.h"
#include "planner/codegen.h"
#include "planner/compose.h"
#include "planner/placement.h"
#include "planner/pre_aggregation.h"
#include "planner/projection.h"
#include "query/error.h"
#include "query/parser.h"
#include "tracepoint/registry.h"

namespace pivot::planner {

namespace {

// The hook spec of a definition, its sites named apart from every other
// install of the same text ("incr#<uid>").
hook::ProbeSpec probe_spec(const query::TracepointDef& def, uint64_t uid) {
  hook::ProbeSpec spec;
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "#%016llx", static_cast<unsigned long long>(uid));
  spec.tracepoint = def.name + suffix;
  spec.at_return = def.at_return;
  spec.pattern = def.symbol;
  for (const auto& e : def.exports) spec.exports.push_back({e.name, e.ref});
  if (def.at_return) {  // Return always exports ret and duration
    for (const char* implicit : {"ret", "duration"}) {
      bool named = std::any_of(def.exports.begin(), def.exports.end(),
                               [&](const query::TracepointExport& e) { return e.name == implicit; });
      if (!named) spec.exports.push_back({implicit, implicit});
    }
  }
  return spec;
}

// One query's advice: each pass decides a little more (advice_plan.h), then
// the programs are generated from the decisions.
QueryPlan plan_query(const BoundQuery& b, uint64_t uid, int& advice_counter) {
  AdvicePlan plan = place(b);
  choose_pre_aggregation(b, plan);
  project(b, uid, plan);
  return generate(b, plan, advice_counter);
}

// A defined tracepoint's schema: its exports as typed, then every builtin
// none of them shadows.
TracepointSchema definition_schema(const std::string& name, const hook::ProbeSpec& spec,
                                   const std::vector<ValueType>& types) {
  TracepointSchema schema;
  schema.name = name;
  for (size_t i = 0; i < spec.exports.size(); ++i) {
    schema.exports.push_back({spec.exports[i].name, i < types.size() ? types[i] : ValueType::kNull, false});
  }
  for (int b = 0; b < internal::kBuiltinCount; ++b) {
    const internal::ExportDesc& d = internal::builtin_desc(static_cast<internal::Builtin>(b));
    bool shadowed = std::any_of(schema.exports.begin(), schema.exports.end(),
                                [&](const ExportSchema& e) { return e.name == d.name; });
    if (!shadowed) schema.exports.push_back({std::string(d.name), d.type, d.is_list});
  }
  return schema;
}

}  // namespace

Result<Plan> compile(std::string_view text, const Catalog& catalog, uint64_t uid, const ProbeTyper& typer) {
  auto program = query::parse(text);
  if (!program) return program.error();
  // Defined tracepoints join the catalog under their own names, shadowing
  // the system's: a definition belongs to the text that carries it.
  Catalog with_defs;
  const Catalog* cat = &catalog;
  Plan plan;
  if (!program->tracepoints.empty()) {
    with_defs = catalog;
    cat = &with_defs;
    for (const query::TracepointDef& def : program->tracepoints) {
      hook::ProbeSpec spec = probe_spec(def, uid);
      std::vector<ValueType> types;
      if (typer) {
        auto typed = typer(spec);
        if (!typed) return query::make_error(program->text, def.symbol_pos, typed.error().message());
        types = std::move(*typed);
      } else {
        types = hook::declared_types(spec);
      }
      auto& tps = with_defs.tracepoints;
      tps.erase(std::remove_if(tps.begin(), tps.end(),
                               [&](const TracepointSchema& t) { return t.name == def.name; }),
                tps.end());
      tps.push_back(definition_schema(def.name, spec, types));
      plan.probes.push_back({def.name, std::move(spec)});
    }
  }
  auto flat = flatten(*program, *cat);
  if (!flat) return flat.error();
  int counter = 0;
  for (const FlatQuery& q : *flat) {
    auto bound = bind_query(q, *cat, program->text);
    if (!bound) return bound.error();
    plan.queries.push_back(plan_query(*bound, uid, counter));
  }
  // Advice binds to the definitions' own sites.
  for (QueryPlan& qp : plan.queries) {
    for (auto& prog : qp.programs) {
      for (const DefinedProbe& d : plan.probes) {
        if (prog->tracepoint == d.name) prog->tracepoint = d.spec.tracepoint;
      }
    }
  }
  return plan;
}

}  // namespace pivot::planner
