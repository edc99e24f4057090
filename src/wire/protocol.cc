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
//   (0: none, 1: a distribution: varint offset, varint n, n varint counts;
//   2: a quantile sketch: zigzag zeros, f64 min, f64 max, then the positive
//   and the negative store, each zigzag offset, varint n, n varint counts,
//   varint collapsed; 3: a distinct count's hashes: varint n, n fixed64;
//   4: its HyperLogLog registers, kHllRegisters bytes).
// Values go as they are: a NaN stays a NaN and a string's bytes stay its
// bytes, where JSON groups made them null and U+FFFD.
constexpr uint64_t kBinaryFormat = 1;
enum : uint8_t { kNoExtra = 0, kDistExtra = 1, kSketchExtra = 2, kHashesExtra = 3, kRegistersExtra = 4 };

// A state's box as partial_bytes writes it: its extra's tag and bytes.
void box_bytes(const aggregate::StateBox& box, ByteWriter& w) {
  if (const aggregate::Dist* d = box.get<aggregate::Dist>()) {
    w.u8(kDistExtra);
    w.varint(static_cast<uint64_t>(d->offset));
    w.varint(d->counts.size());
    for (int64_t c : d->counts) w.varint(static_cast<uint64_t>(c));
  } else if (const aggregate::QuantileSketch* q = box.get<aggregate::QuantileSketch>(); q && q->count() > 0) {
    w.u8(kSketchExtra);
    w.zigzag(q->zero);
    w.f64(q->min);
    w.f64(q->max);
    for (const aggregate::QuantileSketch::Store* st : {&q->positive, &q->negative}) {
      w.zigzag(st->buckets.offset);
      w.varint(st->buckets.counts.size());
      for (int64_t c : st->buckets.counts) w.varint(static_cast<uint64_t>(c));
      w.varint(static_cast<uint64_t>(st->collapsed));
    }
  } else if (const aggregate::DistinctCount* dc = box.get<aggregate::DistinctCount>(); dc && dc->exact()) {
    w.u8(kHashesExtra);
    const std::vector<uint64_t> hashes = dc->hashes();
    w.varint(hashes.size());
    for (uint64_t h : hashes) w.fixed64(h);
  } else if (dc != nullptr) {
    w.u8(kRegistersExtra);
    w.bytes(std::string_view(reinterpret_cast<const char*>(dc->registers().data()), dc->registers().size()));
  } else {
    w.u8(kNoExtra);
  }
}

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
      box_bytes(s.box, w);
    }
  }
  return out;
}

// A HIST or LHIST: [offset, [counts...]]. A QUANTILE: {"zero": n, "min": x,
// "max": y, "pos": STORE, "neg": STORE}, a STORE [offset, [counts...],
// collapsed] (left out when empty). A COUNT(DISTINCT): {"hashes": [h...]}
// while exact, else {"hll": REGISTERS}, one character per register, '0' + its
// value. Null for a box without values.
Json box_to_json(const aggregate::StateBox& box) {
  if (const aggregate::Dist* d = box.get<aggregate::Dist>()) return Json::array({d->offset, d->counts});
  if (const aggregate::QuantileSketch* q = box.get<aggregate::QuantileSketch>()) {
    if (q->count() == 0) return nullptr;
    Json out{{"zero", q->zero}, {"min", q->min}, {"max", q->max}};
    auto store = [&](const char* name, const aggregate::QuantileSketch::Store& st) {
      if (!st.buckets.counts.empty())
        out[name] = Json::array({st.buckets.offset, st.buckets.counts, st.collapsed});
    };
    store("pos", q->positive);
    store("neg", q->negative);
    return out;
  }
  if (const aggregate::DistinctCount* d = box.get<aggregate::DistinctCount>()) {
    if (d->exact()) return Json{{"hashes", d->hashes()}};
    std::string regs(d->registers().begin(), d->registers().end());
    for (char& c : regs) c = static_cast<char>('0' + c);
    return Json{{"hll", std::move(regs)}};
  }
  return nullptr;
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
      if (Json box = box_to_json(s.box); !box.is_null()) state.push_back(std::move(box));
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

// Buckets [offset, [count...]] into d, each within [lo, hi]: a hostile
// report cannot make a frontend allocate more than the aggregate's range.
Status buckets_from_json(const Json& j, int64_t lo, int64_t hi, aggregate::Dist& d) {
  if (!j.is_array() || j.size() < 2 || !j[0].is_number_integer() || !j[1].is_array()) {
    return Error("partial aggregate: buckets must be [offset, [counts...]]");
  }
  const int64_t offset = j[0].get<int64_t>();
  if (offset < lo || offset > hi + 1 || static_cast<int64_t>(j[1].size()) > hi + 1 - offset) {
    return Error("partial aggregate: a distribution's buckets are out of range");
  }
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

// A HIST or LHIST's buckets, within the aggregate's.
Status dist_from_json(const Json& j, const aggregate::DistParams& params, aggregate::StateBox& out) {
  const int64_t n = params.buckets();
  if (n == 0) return Error("partial aggregate: buckets for an aggregate that is not a distribution");
  if (!j.is_array() || j.size() != 2)
    return Error("partial aggregate: a distribution must be [offset, [counts...]]");
  return buckets_from_json(j, 0, n - 1, out.make<aggregate::Dist>());
}

// A QUANTILE's sketch, checked as QuantileSketch::check says.
Status sketch_from_json(const Json& j, aggregate::StateBox& out) {
  if (!j.is_object()) return Error("partial aggregate: a quantile sketch must be an object");
  aggregate::QuantileSketch q;
  auto zero = j.find("zero"), min = j.find("min"), max = j.find("max");
  if (zero == j.end() || !zero->is_number_integer() || min == j.end() || !min->is_number() ||
      max == j.end() || !max->is_number()) {
    return Error("partial aggregate: a quantile sketch needs \"zero\", \"min\" and \"max\"");
  }
  q.zero = zero->get<int64_t>();
  q.min = min->get<double>();
  q.max = max->get<double>();
  for (auto [name, store] : {std::pair{"pos", &q.positive}, std::pair{"neg", &q.negative}}) {
    auto it = j.find(name);
    if (it == j.end()) continue;
    // Checked against the widest range here, the bucket cap by check().
    if (!it->is_array() || it->size() != 3 || !(*it)[1].is_array() ||
        (*it)[1].size() > static_cast<size_t>(aggregate::kSketchMaxBuckets) ||
        !(*it)[2].is_number_integer()) {
      return Error("partial aggregate: a quantile sketch's store must be [offset, [counts...], collapsed]");
    }
    if (auto st =
            buckets_from_json(*it, aggregate::kSketchMinIndex, aggregate::kSketchMaxIndex, store->buckets);
        !st)
      return st;
    store->collapsed = (*it)[2].get<int64_t>();
  }
  if (auto st = q.check(); !st) return Error("partial aggregate: " + st.error().message());
  out.make<aggregate::QuantileSketch>() = std::move(q);
  return Status();
}

// A COUNT(DISTINCT)'s hashes or registers.
Result<aggregate::DistinctCount> distinct_from_json(const Json& j) {
  if (auto h = j.is_object() ? j.find("hashes") : j.end(); h != j.end() && h->is_array()) {
    if (h->size() > aggregate::kDistinctExactMax) return Error("too many distinct hashes");
    std::vector<uint64_t> hashes;
    for (const Json& x : *h) {
      if (!x.is_number_unsigned()) return Error("a distinct hash must be an unsigned integer");
      hashes.push_back(x.get<uint64_t>());
    }
    return aggregate::DistinctCount::from_hashes(hashes);
  }
  if (auto r = j.is_object() ? j.find("hll") : j.end(); r != j.end() && r->is_string()) {
    const std::string& text = r->get_ref<const std::string&>();
    if (text.size() != aggregate::kHllRegisters) return Error("bad HyperLogLog registers");
    std::vector<uint8_t> regs;
    for (char c : text)
      regs.push_back(static_cast<uint8_t>(static_cast<uint8_t>(c) - '0'));  // '/' wraps: refused
    return aggregate::DistinctCount::from_registers(std::move(regs));
  }
  return Error("a distinct count must be {\"hashes\": [...]} or {\"hll\": \"...\"}");
}

// The third element of an aggregate's state, as box_to_json wrote it.
Status box_from_json(const Json& j, aggregate::AggFn fn, const aggregate::DistParams& params,
                     aggregate::StateBox& out) {
  switch (fn) {
    case aggregate::AggFn::kQuantile: return sketch_from_json(j, out);
    case aggregate::AggFn::kCountDistinct: {
      auto d = distinct_from_json(j);
      if (!d) return Error("partial aggregate: " + d.error().message());
      out.make<aggregate::DistinctCount>() = std::move(*d);
      return Status();
    }
    default: return dist_from_json(j, params, out);
  }
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

// Buckets from `offset` on, as box_bytes writes them, each in [lo, hi].
Status buckets_from_bytes(ByteReader& r, int64_t offset, int64_t lo, int64_t hi, aggregate::Dist& d) {
  uint64_t n = 0;
  if (!r.varint(n)) return binary_error(r);
  if (offset < lo || offset > hi + 1 || n > static_cast<uint64_t>(hi + 1 - offset)) {
    return Error("partial aggregate: a distribution's buckets are out of range");
  }
  for (uint64_t b = 0; b < n; ++b) {
    uint64_t c = 0;
    if (!r.varint(c)) return binary_error(r);
    if (c > static_cast<uint64_t>(INT64_MAX))
      return Error("partial aggregate: a bucket's count is out of range");
    if (c != 0) d.add_bucket(static_cast<int32_t>(offset + static_cast<int64_t>(b)), static_cast<int64_t>(c));
  }
  return Status();
}

// A state's box after its extra's tag, as box_bytes writes it; checked as
// the JSON form is (QuantileSketch::check, DistinctCount::from_*).
Status box_from_bytes(ByteReader& r, uint8_t extra, aggregate::AggFn fn, const aggregate::DistParams& params,
                      aggregate::StateBox& out) {
  const bool fits =
      extra == kDistExtra || (extra == kSketchExtra && fn == aggregate::AggFn::kQuantile) ||
      ((extra == kHashesExtra || extra == kRegistersExtra) && fn == aggregate::AggFn::kCountDistinct);
  if (extra > kRegistersExtra)
    return Error("partial aggregate: unknown state extra " + std::to_string(extra));
  if (!fits) {
    return Error("partial aggregate: state extra " + std::to_string(extra) +
                 " for another kind of aggregate");
  }
  switch (extra) {
    case kDistExtra: {
      const int64_t buckets = params.buckets();
      uint64_t offset = 0;
      if (!r.varint(offset)) return binary_error(r);
      if (buckets == 0)
        return Error("partial aggregate: buckets for an aggregate that is not a distribution");
      if (offset > static_cast<uint64_t>(buckets))
        return Error("partial aggregate: a distribution's buckets are out of range");
      return buckets_from_bytes(r, static_cast<int64_t>(offset), 0, buckets - 1, out.make<aggregate::Dist>());
    }
    case kSketchExtra: {
      aggregate::QuantileSketch q;
      if (!r.zigzag(q.zero) || !r.f64(q.min) || !r.f64(q.max)) return binary_error(r);
      for (aggregate::QuantileSketch::Store* st : {&q.positive, &q.negative}) {
        int64_t offset = 0;
        uint64_t collapsed = 0;
        if (!r.zigzag(offset)) return binary_error(r);
        if (offset < aggregate::kSketchMinIndex || offset > aggregate::kSketchMaxIndex + 1)
          return Error("partial aggregate: a distribution's buckets are out of range");
        const int64_t hi =
            std::min<int64_t>(aggregate::kSketchMaxIndex, offset + aggregate::kSketchMaxBuckets - 1);
        if (auto e = buckets_from_bytes(r, offset, aggregate::kSketchMinIndex, hi, st->buckets); !e) return e;
        if (!r.varint(collapsed)) return binary_error(r);
        if (collapsed > static_cast<uint64_t>(aggregate::kSketchMaxCount))
          return Error("partial aggregate: a quantile sketch's collapsed count is out of range");
        st->collapsed = static_cast<int64_t>(collapsed);
      }
      if (auto st = q.check(); !st) return Error("partial aggregate: " + st.error().message());
      out.make<aggregate::QuantileSketch>() = std::move(q);
      return Status();
    }
    case kHashesExtra:
    case kRegistersExtra: {
      Result<aggregate::DistinctCount> d = Error("");
      if (extra == kHashesExtra) {
        uint64_t n = 0;
        if (!r.varint(n)) return binary_error(r);
        if (n > aggregate::kDistinctExactMax) return Error("partial aggregate: too many distinct hashes");
        std::vector<uint64_t> hashes(n);
        for (uint64_t& h : hashes) {
          if (!r.fixed64(h)) return binary_error(r);
        }
        d = aggregate::DistinctCount::from_hashes(hashes);
      } else {
        std::string_view regs;
        if (!r.bytes(aggregate::kHllRegisters, regs)) return binary_error(r);
        d = aggregate::DistinctCount::from_registers(std::vector<uint8_t>(regs.begin(), regs.end()));
      }
      if (!d) return Error("partial aggregate: " + d.error().message());
      out.make<aggregate::DistinctCount>() = std::move(*d);
      return Status();
    }
  }
  return Status();
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
      s.box = {};
      if (extra == kNoExtra) continue;
      const aggregate::DistParams params =
          i < shape.params.size() ? shape.params[i] : aggregate::DistParams{};
      if (auto st = box_from_bytes(r, extra, shape.aggs[i], params, s.box); !st) return st;
    }
    in.take_group(keys, states, static_cast<int64_t>(events));
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
        if (auto st = box_from_json(s[2], shape.aggs[i], params, states.back().box); !st) return st;
      }
    }
    in.take_group(keys, states, n);
  }
  flags_from_json(j, in);
  return Status();
}

}  // namespace

Status partial_from_json(const Json& j, aggregate::Partial& in) {
  in.reset();
  Status s = decode_partial(j, in);
  if (!s) in.reset();  // nothing half decoded is left to merge
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

bool get_flag(const Json& m, const char* key) {
  auto it = m.find(key);
  return it != m.end() && it->is_boolean() && it->get<bool>();
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
