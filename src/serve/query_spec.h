// A managed query as an operator asked for it, and the state file that
// keeps serve's queries across its restarts.
//
// The state file is JSON, written whole to FILE.tmp (mode 0600: query texts
// may say what a system is being asked) and renamed over FILE, so a crash
// leaves the old list or the new one, never half of one:
//
//   {"version":1,"queries":[{"name":"seed","text":"From ...","interval_ms":1000,
//                            "max_groups":10000,"show":"","paused":false}]}
//
// Thread safety: plain values and functions; callers serialise writes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "aggregate/partial.h"
#include "pivot/result.h"
#include "wire/protocol.h"

namespace pivot::serve {

struct QuerySpec {
  std::string name;
  std::string text;
  int64_t interval_ms = 1000;
  uint32_t max_groups = aggregate::kDefaultMaxGroups;
  std::string show;  // the named query of the text to report; "" for the last
  bool paused = false;
};

// The longest query text serve takes (the request body is bounded too).
inline constexpr size_t kMaxQueryText = 32 << 10;

// Checks a spec from outside (an HTTP body, the state file): a name of 1 to
// 64 of [A-Za-z0-9_.-] starting with a letter, digit or '_' (it goes in
// URLs and metric labels), a text, an interval of 10 ms to 1 h, max_groups
// of 1 to kMaxMaxGroups.
Status validate(const QuerySpec& spec);

wire::Json to_json(const QuerySpec& spec);
// Fields that are missing take their defaults; ones of the wrong type are errors.
Result<QuerySpec> spec_from_json(const wire::Json& j);

// The specs in `path`; none when it does not exist yet.
Result<std::vector<QuerySpec>> load_state(const std::string& path);
Status save_state(const std::string& path, const std::vector<QuerySpec>& specs);
// Takes PATH.lock (flock), so that two serves never run and rewrite the
// same queries; the lock lasts while the returned descriptor is open. An
// error names the reason, another serve holding it among them.
Result<int> lock_state(const std::string& path);

}  // namespace pivot::serve
