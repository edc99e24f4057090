#include "wire/protocol.h"

#include <algorithm>
#include <cstdio>

namespace pivot::wire {

Json to_json(const Value& v) {
  switch (v.type()) {
    case ValueType::kNull: return nullptr;
    case ValueType::kBool: return v.as_bool();
    case ValueType::kInt: return v.as_int();
    case ValueType::kDouble: return v.as_double();
    case ValueType::kString: return v.as_string();
  }
  return nullptr;
}

Result<Value> value_from_json(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return Value();
    case Json::value_t::boolean: return Value(j.get<bool>());
    case Json::value_t::number_integer: return Value(j.get<int64_t>());
    case Json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Error("integer out of range: " + j.dump());
      return Value(static_cast<int64_t>(u));
    }
    case Json::value_t::number_float: return Value(j.get<double>());
    case Json::value_t::string: return Value(j.get<std::string>());
    default: return Error("expected a scalar value, found " + std::string(j.type_name()));
  }
}

Json to_json(const aggregate::Partial& p) {
  Json groups = Json::array();
  Json events = Json::array();
  for (size_t i = 0; i < p.groups().size(); ++i) {
    events.push_back(p.groups()[i].events);
    Json keys = Json::array();
    for (const Value& k : p.keys(i)) keys.push_back(to_json(k));
    Json states = Json::array();
    for (const auto& s : p.states(i)) {
      Json state = Json::array({s.count, to_json(s.acc)});
      if (const aggregate::Dist* d = s.dist.get()) state.push_back(Json::array({d->offset, d->counts}));
      states.push_back(std::move(state));
    }
    groups.push_back(Json::array({std::move(keys), std::move(states)}));
  }
  Json out{{"groups", std::move(groups)},
           {"events", std::move(events)},
           {"incomplete", p.incomplete()},
           {"dropped", p.dropped()}};
  if (p.overflow()) out["overflow"] = true;
  return out;
}

namespace {

// A distribution's buckets, [offset, [count...]], each within the
// aggregate's buckets: a hostile report cannot make a frontend allocate more.
Status dist_from_json(const Json& j, const aggregate::DistParams& params, aggregate::DistBox& out) {
  const int64_t n = params.buckets();
  if (n == 0) return Error("partial aggregate: buckets for an aggregate that is not a distribution");
  if (!j.is_array() || j.size() != 2 || !j[0].is_number_integer() || !j[1].is_array()) {
    return Error("partial aggregate: a distribution must be [offset, [counts...]]");
  }
  const int64_t offset = j[0].get<int64_t>();
  if (offset < 0 || offset > n || static_cast<int64_t>(j[1].size()) > n - offset) {
    return Error("partial aggregate: a distribution's buckets are out of range");
  }
  aggregate::Dist& d = out.make();
  for (size_t i = 0; i < j[1].size(); ++i) {
    const Json& c = j[1][i];
    if (!c.is_number_integer() || c.get<int64_t>() < 0) {
      return Error("partial aggregate: a bucket's count must be a non-negative integer");
    }
    if (c.get<int64_t>() != 0)
      d.add_bucket(static_cast<int32_t>(offset + static_cast<int64_t>(i)), c.get<int64_t>());
  }
  return Status();
}

}  // namespace

Status merge_from_json(const Json& j, aggregate::Partial& out) {
  if (!j.is_object() || !j.contains("groups") || !j["groups"].is_array()) {
    return Error("partial aggregate: expected an object with a \"groups\" array");
  }
  const aggregate::EmitShape& shape = out.shape();
  aggregate::Partial in(&shape);
  std::vector<Value> keys;
  std::vector<aggregate::AggState> states;
  // Each group's event count (what dropping it loses); an agent older than
  // the group cap sends none.
  const Json* events = nullptr;
  if (auto e = j.find("events"); e != j.end()) {
    if (!e->is_array() || e->size() != j["groups"].size()) {
      return Error("partial aggregate: \"events\" must be an array with one count per group");
    }
    events = &*e;
  }
  size_t index = 0;
  for (const Json& g : j["groups"]) {
    int64_t n = 0;
    if (events != nullptr) {
      const Json& e = (*events)[index];
      if (!e.is_number_integer() || e.get<int64_t>() < 0) {
        return Error("partial aggregate: a group's event count must be a non-negative integer");
      }
      n = e.get<int64_t>();
    }
    ++index;
    if (!g.is_array() || g.size() != 2 || !g[0].is_array() || !g[1].is_array()) {
      return Error("partial aggregate: a group must be [[keys...], [states...]]");
    }
    if (g[0].size() != shape.keys || g[1].size() != shape.aggs.size()) {
      return Error("partial aggregate: a group has " + std::to_string(g[0].size()) + " keys and " +
                   std::to_string(g[1].size()) + " aggregates; the query has " + std::to_string(shape.keys) +
                   " and " + std::to_string(shape.aggs.size()));
    }
    keys.clear();
    for (const Json& k : g[0]) {
      auto v = value_from_json(k);
      if (!v) return v.error();
      keys.push_back(std::move(*v));
    }
    states.clear();
    for (const Json& s : g[1]) {
      if (!s.is_array() || (s.size() != 2 && s.size() != 3) || !s[0].is_number_integer()) {
        return Error("partial aggregate: a state must be [count, value] or [count, value, buckets]");
      }
      auto v = value_from_json(s[1]);
      if (!v) return v.error();
      states.push_back({s[0].get<int64_t>(), std::move(*v), {}});
      if (s.size() == 3) {
        size_t i = states.size() - 1;
        const aggregate::DistParams params =
            i < shape.params.size() ? shape.params[i] : aggregate::DistParams{};
        if (auto st = dist_from_json(s[2], params, states.back().dist); !st) return st;
      }
    }
    in.merge_group(keys, states, n);
  }
  if (auto inc = j.find("incomplete"); inc != j.end() && inc->is_boolean() && inc->get<bool>()) {
    in.mark_incomplete();
  }
  if (auto o = j.find("overflow"); o != j.end() && o->is_boolean() && o->get<bool>()) in.mark_overflow();
  out.merge(in);
  if (j.contains("dropped") && j["dropped"].is_number_unsigned())
    out.add_dropped(j["dropped"].get<uint64_t>());
  return Status();
}

Json to_json(const planner::Catalog& c) {
  Json out = Json::array();
  for (const auto& t : c.tracepoints) {
    Json exports = Json::array();
    for (const auto& e : t.exports) {
      Json x = {{"name", e.name}, {"type", std::string(type_name(e.type))}, {"list", e.is_list}};
      if (e.unit != Unit::kNone)
        x["unit"] = std::string(unit_name(e.unit));  // absent: none (older agents too)
      exports.push_back(std::move(x));
    }
    out.push_back({{"name", t.name}, {"exports", std::move(exports)}});
  }
  return out;
}

Result<planner::Catalog> catalog_from_json(const Json& j) {
  if (!j.is_array()) return Error("catalog: expected an array of tracepoints");
  planner::Catalog c;
  for (const Json& t : j) {
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string() || !t.contains("exports") ||
        !t["exports"].is_array()) {
      return Error("catalog: a tracepoint must be {\"name\": ..., \"exports\": [...]}");
    }
    planner::TracepointSchema s;
    s.name = t["name"].get<std::string>();
    for (const Json& e : t["exports"]) {
      if (!e.is_object() || !e.contains("name") || !e["name"].is_string()) {
        return Error("catalog: an export of '" + s.name + "' has no name");
      }
      planner::ExportSchema x;
      x.name = e["name"].get<std::string>();
      auto ty = e.find("type");
      std::string type = ty != e.end() && ty->is_string() ? ty->get<std::string>() : "null";
      for (ValueType vt :
           {ValueType::kNull, ValueType::kBool, ValueType::kInt, ValueType::kDouble, ValueType::kString}) {
        if (type_name(vt) == type) x.type = vt;
      }
      auto list = e.find("list");
      x.is_list = list != e.end() && list->is_boolean() && list->get<bool>();
      auto unit = e.find("unit");
      if (unit != e.end() && unit->is_string()) x.unit = unit_from_name(unit->get<std::string>());
      s.exports.push_back(std::move(x));
    }
    c.tracepoints.push_back(std::move(s));
  }
  return c;
}

void merge_catalog(planner::Catalog& a, const planner::Catalog& b) {
  for (const auto& t : b.tracepoints) {
    auto it = std::find_if(a.tracepoints.begin(), a.tracepoints.end(),
                           [&](const auto& x) { return x.name == t.name; });
    if (it == a.tracepoints.end()) {
      a.tracepoints.push_back(t);
      continue;
    }
    for (const auto& e : t.exports) {
      bool seen = std::any_of(it->exports.begin(), it->exports.end(),
                              [&](const auto& x) { return x.name == e.name; });
      if (!seen) it->exports.push_back(e);
    }
  }
  std::sort(a.tracepoints.begin(), a.tracepoints.end(),
            [](const auto& x, const auto& y) { return x.name < y.name; });
}

std::string encode(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json message(std::string_view type) { return Json{{"v", kVersion}, {"type", type}}; }

Result<Json> parse_message(std::string_view text) {
  Json m = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (m.is_discarded()) return Error("malformed message: not JSON");
  if (!m.is_object()) return Error("malformed message: expected a JSON object");
  if (!m.contains("v") || !m["v"].is_number_integer())
    return Error("malformed message: no protocol version \"v\"");
  if (m["v"].get<int64_t>() != kVersion) {
    return Error("unsupported protocol version " + m["v"].dump() + " (this side speaks " +
                 std::to_string(kVersion) + ")");
  }
  if (!m.contains("type") || !m["type"].is_string()) return Error("malformed message: no \"type\"");
  return m;
}

Result<std::string> get_string(const Json& m, const char* key) {
  if (!m.contains(key) || !m[key].is_string()) {
    return Error("message '" + m.value("type", std::string("?")) + "' needs a string \"" + key + "\"");
  }
  return m[key].get<std::string>();
}

Result<int64_t> get_int(const Json& m, const char* key) {
  if (!m.contains(key) || !m[key].is_number_integer()) {
    return Error("message '" + m.value("type", std::string("?")) + "' needs an integer \"" + key + "\"");
  }
  return m[key].get<int64_t>();
}

namespace {

Json function_json(const hook::ListedFunction& f) {
  Json j;
  j["signature"] = f.signature;
  j["object"] = f.object;
  char address[24];
  std::snprintf(address, sizeof address, "0x%lx", static_cast<unsigned long>(f.address));
  j["address"] = address;
  j["size"] = f.size;
  j["debug_info"] = f.debug_info;
  j["how"] = f.how;
  j["member"] = f.is_member;
  Json params = Json::array();
  for (const hook::ListedParam& p : f.params) {
    params.push_back({{"name", p.name}, {"type", p.type}, {"where", p.where}, {"readable", p.readable}});
  }
  j["params"] = std::move(params);
  j["returns"] = f.returns;
  j["hookable"] = f.hookable;
  if (!f.why_not.empty()) j["why_not"] = f.why_not;
  if (!f.ifunc.empty()) j["ifunc"] = f.ifunc;
  Json clones = Json::array();
  for (const hook::ListedFunction& c : f.clones) clones.push_back(function_json(c));
  j["clones"] = std::move(clones);
  return j;
}

}  // namespace

void add_listing(Json& answer, const hook::Listing& listing) {
  Json functions = Json::array();
  size_t bytes = 0, more = listing.more;
  for (const hook::ListedFunction& f : listing.functions) {
    Json j = function_json(f);
    size_t size = encode(j).size();
    if (bytes + size > kMaxListingBytes) {
      ++more;
      continue;
    }
    bytes += size;
    functions.push_back(std::move(j));
  }
  answer["functions"] = std::move(functions);
  answer["more"] = more;
  if (!listing.note.empty()) answer["note"] = listing.note;
}

}  // namespace pivot::wire
