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
    schema.exports.push_back({spec.exports[i].name, i < types.size() ? types[i] : ValueType::kNull, false,
                              hook::export_unit(spec.exports[i])});
  }
  for (int b = 0; b < internal::kBuiltinCount; ++b) {
    const internal::ExportDesc& d = internal::builtin_desc(static_cast<internal::Builtin>(b));
    bool shadowed = std::any_of(schema.exports.begin(), schema.exports.end(),
                                [&](const ExportSchema& e) { return e.name == d.name; });
    if (!shadowed) schema.exports.push_back({std::string(d.name), d.type, d.is_list, d.unit});
  }
  return schema;
}

// A query's rows as a tracepoint for the queries that read them: each
// named Select item is an export.
TracepointSchema rows_schema(const FlatQuery& q, const BoundQuery& b) {
  TracepointSchema schema;
  schema.name = q.label;
  for (size_t i = 0; i < q.query.select.size(); ++i) {
    std::string name = output_name(q.query.select[i]);
    if (!name.empty()) schema.exports.push_back({name, b.types[i], false, b.units[i]});
  }
  return schema;
}

// Makes `qp` read the rows of query `source`: OBSERVE i reads the first
// Select item of the source named as it observes.
void read_rows(QueryPlan& qp, int source, const FlatQuery& from) {
  qp.source = source;
  const auto& items = from.query.select;
  for (const advice::Observe& o : qp.programs.front()->observe) {
    auto it = std::find_if(items.begin(), items.end(),
                           [&](const query::SelectItem& item) { return output_name(item) == o.name; });
    qp.source_columns.push_back(static_cast<uint32_t>(it - items.begin()));
  }
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
  std::vector<TracepointSchema> rows;  // per query: its rows, as a later query reads them
  for (const FlatQuery& q : *flat) {
    Catalog with_rows;  // the catalog and the rows of the query this one reads
    const Catalog* qcat = cat;
    int source = -1;
    if (!q.from_query.empty()) {
      auto it = std::find_if(plan.queries.begin(), plan.queries.end(),
                             [&](const QueryPlan& p) { return p.label == q.from_query; });
      source = static_cast<int>(it - plan.queries.begin());
      with_rows = *cat;
      with_rows.tracepoints.push_back(rows[source]);
      qcat = &with_rows;
    }
    auto bound = bind_query(q, *qcat, program->text);
    if (!bound) return bound.error();
    plan.queries.push_back(plan_query(*bound, uid, counter));
    rows.push_back(rows_schema(q, *bound));
    if (source >= 0) read_rows(plan.queries.back(), source, (*flat)[source]);
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
