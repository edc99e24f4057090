#include "wire/protocol.h"

#include <algorithm>
#include <cstdio>

#include "core/codec.h"

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

namespace {

// The binary form of a partial's groups (a report's "bin", attached after
// the message's text by encode()):
//   varint format (1), varint keys per group, varint aggregates per group,
//   varint groups, then per group: varint events, the keys (tagged values,
//   core/codec.h), and per aggregate: zigzag count, tagged value, u8 extra
//   (0: none, 1: a distribution: varint offset, varint n, n varint counts).
// Values go as they are: a NaN stays a NaN and a string's bytes stay its
// bytes, where JSON groups made them null and U+FFFD.
constexpr uint64_t kBinaryFormat = 1;
enum : uint8_t { kNoExtra = 0, kDistExtra = 1 };

std::string partial_bytes(const aggregate::Partial& p) {
  std::string out;
  ByteWriter w(out);
  w.varint(kBinaryFormat);
  w.varint(p.shape().keys);
  w.varint(p.shape().aggs.size());
  w.varint(p.groups().size());
  for (size_t i = 0; i < p.groups().size(); ++i) {
    w.varint(static_cast<uint64_t>(std::max<int64_t>(p.groups()[i].events, 0)));
    for (const Value& k : p.keys(i)) w.value(k);
    for (const aggregate::AggState& s : p.states(i)) {
      w.zigzag(s.count);
      w.value(s.acc);
      if (const aggregate::Dist* d = s.dist.get()) {
        w.u8(kDistExtra);
        w.varint(static_cast<uint64_t>(d->offset));
        w.varint(d->counts.size());
        for (int64_t c : d->counts) w.varint(static_cast<uint64_t>(c));
      } else {
        w.u8(kNoExtra);
      }
    }
  }
  return out;
}

}  // namespace

ReportFormat report_format_asked(const Json& install) {
  auto f = install.is_object() ? install.find("report_format") : install.end();
  return f != install.end() && f->is_string() && *f == kBinaryReports ? ReportFormat::kBinary
                                                                      : ReportFormat::kJson;
}

Json to_json(const aggregate::Partial& p, ReportFormat format) {
  if (format == ReportFormat::kBinary) {
    std::string bytes = partial_bytes(p);
    Json out{{"bin", Json::binary(Json::binary_t::container_type(bytes.begin(), bytes.end()))},
             {"incomplete", p.incomplete()},
             {"dropped", p.dropped()}};
    if (p.overflow()) out["overflow"] = true;
    return out;
  }
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
  aggregate::Partial in(&out.shape());
  if (auto s = partial_from_json(j, in); !s) return s;
  out.merge(in);
  return Status();
}

namespace {

// A report's marks: "incomplete", "overflow", "dropped".
void flags_from_json(const Json& j, aggregate::Partial& in) {
  if (auto inc = j.find("incomplete"); inc != j.end() && inc->is_boolean() && inc->get<bool>()) {
    in.mark_incomplete();
  }
  if (auto o = j.find("overflow"); o != j.end() && o->is_boolean() && o->get<bool>()) in.mark_overflow();
  if (j.contains("dropped") && j["dropped"].is_number_unsigned())
    in.add_dropped(j["dropped"].get<uint64_t>());
}

Status binary_error(const ByteReader& r) {
  return Error("partial aggregate: bad binary groups: " + r.error_message());
}

// The inverse of partial_bytes, group by group into `in`; every count and
// bucket checked against the query's shape, so a hostile report cannot make
// the frontend allocate more than its bytes and the group cap allow.
Status groups_from_bytes(std::string_view bytes, aggregate::Partial& in) {
  const aggregate::EmitShape& shape = in.shape();
  ByteReader r(bytes);
  uint64_t format = 0, n_keys = 0, n_aggs = 0, n_groups = 0;
  if (!r.varint(format) || !r.varint(n_keys) || !r.varint(n_aggs) || !r.varint(n_groups))
    return binary_error(r);
  if (format != kBinaryFormat) {
    return Error("partial aggregate: binary groups of format " + std::to_string(format) +
                 "; this pivot reads 1");
  }
  if (n_keys != shape.keys || n_aggs != shape.aggs.size()) {
    return Error("partial aggregate: groups have " + std::to_string(n_keys) + " keys and " +
                 std::to_string(n_aggs) + " aggregates; the query has " + std::to_string(shape.keys) +
                 " and " + std::to_string(shape.aggs.size()));
  }
  if (n_groups > r.remaining()) return Error("partial aggregate: more groups than bytes");
  std::vector<Value> keys(n_keys);
  std::vector<aggregate::AggState> states(n_aggs);
  for (uint64_t g = 0; g < n_groups; ++g) {
    uint64_t events = 0;
    if (!r.varint(events)) return binary_error(r);
    if (events > static_cast<uint64_t>(INT64_MAX))
      return Error("partial aggregate: a group's event count is out of range");
    for (Value& k : keys) {
      if (!r.value(k)) return binary_error(r);
    }
    for (size_t i = 0; i < n_aggs; ++i) {
      aggregate::AggState& s = states[i];
      uint8_t extra = 0;
      if (!r.zigzag(s.count) || !r.value(s.acc) || !r.u8(extra)) return binary_error(r);
      s.dist = {};
      if (extra == kNoExtra) continue;
      if (extra != kDistExtra)
        return Error("partial aggregate: unknown state extra " + std::to_string(extra));
      const aggregate::DistParams params =
          i < shape.params.size() ? shape.params[i] : aggregate::DistParams{};
      const uint64_t buckets = static_cast<uint64_t>(params.buckets());
      uint64_t offset = 0, n = 0;
      if (!r.varint(offset) || !r.varint(n)) return binary_error(r);
      if (buckets == 0)
        return Error("partial aggregate: buckets for an aggregate that is not a distribution");
      if (offset > buckets || n > buckets - offset) {
        return Error("partial aggregate: a distribution's buckets are out of range");
      }
      aggregate::Dist& d = s.dist.make();
      for (uint64_t b = 0; b < n; ++b) {
        uint64_t c = 0;
        if (!r.varint(c)) return binary_error(r);
        if (c > static_cast<uint64_t>(INT64_MAX))
          return Error("partial aggregate: a bucket's count is out of range");
        if (c != 0) d.add_bucket(static_cast<int32_t>(offset + b), static_cast<int64_t>(c));
      }
    }
    in.merge_group(keys, states, static_cast<int64_t>(events));
  }
  if (!r.at_end())
    return Error("partial aggregate: " + std::to_string(r.remaining()) + " bytes after the groups");
  return Status();
}

}  // namespace

namespace {

Status decode_partial(const Json& j, aggregate::Partial& in) {
  if (auto bin = j.is_object() ? j.find("bin") : j.end(); j.is_object() && bin != j.end()) {
    if (!bin->is_binary()) return Error("partial aggregate: \"bin\" must be bytes attached to the message");
    const Json::binary_t& bytes = bin->get_binary();
    std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (auto s = groups_from_bytes(view, in); !s) return s;
    flags_from_json(j, in);
    return Status();
  }
  if (!j.is_object() || !j.contains("groups") || !j["groups"].is_array()) {
    return Error("partial aggregate: expected an object with a \"groups\" array");
  }
  const aggregate::EmitShape& shape = in.shape();
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
  flags_from_json(j, in);
  return Status();
}

}  // namespace

Status partial_from_json(const Json& j, aggregate::Partial& in) {
  in.clear();
  Status s = decode_partial(j, in);
  if (!s) in.clear();  // nothing half decoded is left to merge
  return s;
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

namespace {

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// A report's part whose groups are bytes ("bin", ReportFormat::kBinary).
bool carries_bytes(const Json& part) {
  if (!part.is_object()) return false;
  auto bin = part.find("bin");
  return bin != part.end() && bin->is_binary();
}

bool has_attachments(const Json& j) {
  auto q = j.is_object() ? j.find("queries") : j.end();
  return q != j.end() && q->is_array() && std::any_of(q->begin(), q->end(), carries_bytes);
}

}  // namespace

std::string encode(const Json& j) {
  if (!has_attachments(j)) return dump(j);
  Json copy = j;
  std::string attached;
  for (Json& part : copy["queries"]) {
    if (!carries_bytes(part)) continue;
    const Json::binary_t& b = part["bin"].get_binary();
    Json where = Json::array({attached.size(), b.size()});
    attached.append(reinterpret_cast<const char*>(b.data()), b.size());
    part["bin"] = std::move(where);
  }
  std::string out = dump(copy);
  out.push_back('\0');
  out += attached;
  return out;
}

Json message(std::string_view type) { return Json{{"v", kVersion}, {"type", type}}; }

Result<Json> parse_message(std::string_view frame) {
  // JSON text, then (after a NUL, which JSON text never holds) the bytes
  // that "bin" fields of a report's parts point into (encode).
  const size_t nul = frame.find('\0');
  std::string_view text = frame.substr(0, nul);
  std::string_view attached = nul == std::string_view::npos ? std::string_view() : frame.substr(nul + 1);
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
  if (nul == std::string_view::npos) return m;
  auto q = m.find("queries");
  if (q == m.end() || !q->is_array())
    return Error("malformed message: bytes attached to a message without parts");
  size_t used = 0;
  for (Json& part : *q) {
    auto bin = part.is_object() ? part.find("bin") : part.end();
    if (!part.is_object() || bin == part.end()) continue;
    // [offset, length], each part's bytes after the previous one's.
    if (!bin->is_array() || bin->size() != 2 || !(*bin)[0].is_number_unsigned() ||
        !(*bin)[1].is_number_unsigned() || (*bin)[0].get<uint64_t>() != used ||
        (*bin)[1].get<uint64_t>() > attached.size() - used) {
      return Error(
          "malformed message: a part's \"bin\" must be [offset, length] of the attached bytes, in order");
    }
    const size_t n = (*bin)[1].get<uint64_t>();
    const auto* p = reinterpret_cast<const uint8_t*>(attached.data() + used);
    *bin = Json::binary(Json::binary_t::container_type(p, p + n));
    used += n;
  }
  if (used != attached.size()) {
    return Error("malformed message: " + std::to_string(attached.size() - used) +
                 " attached bytes no part uses");
  }
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
