#include "baggage/pack.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_map>

namespace pivot::internal {

namespace {

bool is_first(PackMode m) { return m == PackMode::kFirst || m == PackMode::kFirstN; }
bool is_most_recent(PackMode m) { return m == PackMode::kMostRecent || m == PackMode::kMostRecentN; }

// Reads one encoded value and tells whether it equals `v` by
// pivot::compare (so 3 equals 3.0), without building a string.
bool encoded_equals(ByteReader& r, const Value& v) {
  uint8_t tag = 0;
  if (!r.u8(tag)) return false;
  switch (static_cast<ValueTag>(tag)) {
    case ValueTag::kNull: return v.is_null();
    case ValueTag::kFalse: return v.is_bool() && !v.as_bool();
    case ValueTag::kTrue: return v.is_bool() && v.as_bool();
    case ValueTag::kInt: {
      int64_t i;
      return r.zigzag(i) && v.is_number() && compare(Value(i), v) == 0;
    }
    case ValueTag::kDouble: {
      double x;
      return r.f64(x) && v.is_number() && compare(Value(x), v) == 0;
    }
    case ValueTag::kString: {
      std::string_view s;
      return r.length_prefixed(s) && v.is_string() && v.as_string() == s;
    }
  }
  return false;
}

// Decodes entry e's values into t, reusing t's capacity.
void decode_entry(const BagData& d, const Entry& e, Tuple& t) {
  t.resize(e.n_values);
  ByteReader r(d.values(e));
  for (Value& v : t) {
    if (!r.value(v)) v = Value();  // cannot happen: values are checked when they enter
  }
}

bool keys_equal(const Tuple& a, const Tuple& b, size_t keys) {
  if (a.size() != b.size()) return false;
  size_t k = std::min(keys, a.size());
  for (size_t i = 0; i < k; ++i) {
    if (compare(a[i], b[i]) != 0) return false;
  }
  return true;
}

size_t key_hash(const Tuple& t, size_t keys) {
  size_t h = t.size();
  size_t k = std::min(keys, t.size());
  for (size_t i = 0; i < k; ++i) h = h * 0x9e3779b97f4a7c15ull + t[i].hash();
  return h;
}

// Combines the non-key fields of `from` into `into` (same arity).
void combine_tuple(const BagSpec& spec, Tuple& into, const Tuple& from) {
  size_t k = std::min<size_t>(spec.keys, into.size());
  for (size_t j = k; j < into.size(); ++j) {
    if (j - k < spec.combine.size()) combine_into(spec.combine[j - k], into[j], from[j]);
  }
}

// Writes `tuple` (`bytes` long) at the end of d.arena; on failure the
// arena is as before.
void append_values(BagData& d, std::span<const Value> tuple, size_t bytes) {
  size_t old = d.arena.size();
  d.arena.resize(old + bytes);
  char* p = d.arena.data() + old;
  for (const Value& v : tuple) p = put_value(p, v);
}

// A new entry for `tuple` in bag r (evicting, for MostRecent, the entries
// that can no longer be among the n latest).
void append(BagData& d, const BagSpec& spec, std::span<const Value> tuple, Range r, size_t cap) {
  size_t vbytes = 0;
  for (const Value& v : tuple) vbytes += value_size(v);
  if (vbytes > cap || tuple.size() > cap) {
    d.overflow = true;
    return;
  }
  Entry e{};
  e.bag_id = spec.bag_id;
  e.seq = d.max_seq == std::numeric_limits<uint64_t>::max() ? d.max_seq : d.max_seq + 1;
  e.id = next_entry_id();
  e.offset = static_cast<uint32_t>(d.arena.size());
  e.size = static_cast<uint32_t>(vbytes);
  e.n_values = static_cast<uint32_t>(tuple.size());
  e.shared = false;

  std::vector<Entry>& es = d.entries;
  // MostRecent: the new entry is the latest, so only the n - 1 latest
  // existing entries can still be selected. The others can never be again,
  // here or after any join (a join only adds entries, and these have n
  // later ones), so they go, shared or not: dropping a copy changes no
  // other branch, and a copy that comes back in a join is still beaten.
  size_t evict_end = r.first;
  if (is_most_recent(spec.mode)) {
    size_t keep = std::min<size_t>(keep_count(spec) - 1, r.size());
    evict_end = r.last - keep;
  }
  size_t evict_bytes = 0, evict_values = 0, n_evict = 0;
  for (size_t i = r.first; i < evict_end; ++i) {
    evict_bytes += entry_wire_size(es[i]);
    evict_values += es[i].size;
    ++n_evict;
  }
  size_t count = r.size() + 1 - n_evict;
  size_t body = d.body + entry_wire_size(e) - evict_bytes + bag_header_size(e.bag_id, count) -
                (r.size() ? bag_header_size(e.bag_id, r.size()) : 0);
  uint32_t n_bags = d.n_bags + (r.size() == 0 ? 1 : 0);
  if (2 + varint_size(n_bags) + body > cap) {
    d.overflow = true;
    return;
  }

  if (n_evict == 1 && r.size() == 1) {
    // MostRecent replacing its one entry (PACK-RECENT at every event): the
    // values go where the old ones were when they fit there or the old ones
    // end the arena, so that it does not grow at every event and need
    // compacting. Other copies of the old entry have their own arena.
    Entry& old = es[r.first];
    const bool at_end = old.offset + old.size == d.arena.size();
    if (vbytes <= old.size || at_end) {
      if (at_end) {
        d.arena.resize(old.offset + vbytes);  // may throw: nothing has changed yet
      } else {
        d.garbage += old.size - vbytes;
      }
      e.offset = old.offset;
      char* p = d.arena.data() + e.offset;
      for (const Value& v : tuple) p = put_value(p, v);
      old = e;
      d.body = body;
      d.max_seq = std::max(d.max_seq, e.seq);
      return;
    }
  }
  append_values(d, tuple, vbytes);
  if (n_evict == 0) {
    auto at = std::upper_bound(es.begin() + r.first, es.begin() + r.last, e, entry_less);
    try {
      if (at == es.end()) {
        es.push_back(e);  // inline, where insert's end case is a call
      } else {
        es.insert(at, e);
      }
    } catch (...) {
      d.arena.resize(e.offset);
      throw;
    }
  } else {
    // Evicting frees at least one slot: no allocation.
    size_t w = r.first;
    for (size_t i = evict_end; i < r.last; ++i) es[w++] = es[i];
    auto at = std::upper_bound(es.begin() + r.first, es.begin() + w, e, entry_less);
    std::move_backward(at, es.begin() + w, es.begin() + w + 1);
    *at = e;
    ++w;
    es.erase(es.begin() + w, es.begin() + r.last);
    d.garbage += evict_values;
  }
  d.body = body;
  d.n_bags = n_bags;
  d.max_seq = std::max(d.max_seq, e.seq);
  if (n_evict > 0) maybe_compact(d);
}

// kAggregate: combines `tuple` into an unshared entry of bag r with an equal
// key. Returns false if there is none.
bool aggregate_into(BagData& d, const BagSpec& spec, std::span<const Value> tuple, Range r, size_t cap) {
  size_t k = std::min<size_t>(spec.keys, tuple.size());
  for (size_t i = r.first; i < r.last; ++i) {
    Entry& e = d.entries[i];
    if (e.shared || e.n_values != tuple.size()) continue;
    ByteReader key_reader(d.values(e));
    bool equal = true;
    for (size_t j = 0; j < k && equal; ++j) equal = encoded_equals(key_reader, tuple[j]);
    if (!equal) continue;

    Tuple current;
    decode_entry(d, e, current);
    Tuple incoming(tuple.begin(), tuple.end());
    combine_tuple(spec, current, incoming);
    std::string enc;
    ByteWriter w(enc);
    for (const Value& v : current) w.value(v);

    size_t body = d.body - e.size + enc.size();
    if (2 + varint_size(d.n_bags) + body > cap) {
      d.overflow = true;
      return true;
    }
    if (enc.size() <= e.size) {
      std::memcpy(d.arena.data() + e.offset, enc.data(), enc.size());
      d.garbage += e.size - enc.size();
    } else {
      uint32_t offset = static_cast<uint32_t>(d.arena.size());
      d.arena.append(enc);
      d.garbage += e.size;
      e.offset = offset;
    }
    e.size = static_cast<uint32_t>(enc.size());
    d.body = body;
    maybe_compact(d);
    return true;
  }
  return false;
}

}  // namespace

void combine_into(Combine op, Value& acc, const Value& x) {
  if (x.is_null()) return;
  if (acc.is_null()) {
    acc = x;
    return;
  }
  switch (op) {
    case Combine::kSum: {
      int64_t sum;
      if (acc.is_int() && x.is_int() && !__builtin_add_overflow(acc.as_int(), x.as_int(), &sum)) {
        acc = Value(sum);
      } else {
        acc = Value(acc.to_double() + x.to_double());
      }
      return;
    }
    case Combine::kMin:
      if (compare(x, acc) < 0) acc = x;
      return;
    case Combine::kMax:
      if (compare(x, acc) > 0) acc = x;
      return;
  }
}

void pack(BagData& d, const BagSpec& spec, std::span<const Value> tuple, size_t cap) {
  Range r = bag_range(d, spec.bag_id);
  if (is_first(spec.mode)) {
    // The new tuple is later than every entry already there.
    if (r.size() >= keep_count(spec)) return;
  } else if (is_most_recent(spec.mode)) {
    if (keep_count(spec) == 0) return;
  } else if (spec.mode == PackMode::kAggregate) {
    if (aggregate_into(d, spec, tuple, r, cap)) return;
  }
  append(d, spec, tuple, r, cap);
}

bool unpack(const BagData& d, const BagSpec& spec, std::vector<Tuple>& out) {
  Range r = bag_range(d, spec.bag_id);
  size_t first = r.first, last = r.last;
  size_t keep = std::min<size_t>(keep_count(spec), r.size());
  if (is_first(spec.mode)) last = first + keep;
  if (is_most_recent(spec.mode)) first = last - keep;
  if (first == last) {
    out.clear();
    return false;
  }
  if (spec.mode != PackMode::kAggregate) {
    out.resize(last - first);
    for (size_t i = first; i < last; ++i) decode_entry(d, d.entries[i], out[i - first]);
    return true;
  }

  // One tuple per key, in order of first appearance. out[used] is scratch
  // for the entry being read; it becomes a group or is combined into one.
  size_t used = 0;
  const bool hashed = last - first > 16;
  std::unordered_multimap<size_t, size_t> groups;
  for (size_t i = first; i < last; ++i) {
    if (out.size() <= used) out.emplace_back();
    Tuple& t = out[used];
    decode_entry(d, d.entries[i], t);
    size_t found = used;
    if (hashed) {
      size_t h = key_hash(t, spec.keys);
      auto [lo, hi] = groups.equal_range(h);
      for (auto it = lo; it != hi && found == used; ++it) {
        if (keys_equal(out[it->second], t, spec.keys)) found = it->second;
      }
      if (found == used) groups.emplace(h, used);
    } else {
      for (size_t g = 0; g < used && found == used; ++g) {
        if (keys_equal(out[g], t, spec.keys)) found = g;
      }
    }
    if (found == used) {
      ++used;
    } else {
      combine_tuple(spec, out[found], t);
    }
  }
  out.resize(used);
  return true;
}

}  // namespace pivot::internal
