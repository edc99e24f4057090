// Text forms of finished spans, exactly as the built-in sinks write them.
// Not public API.
//
//   {"tid":4242,"host":"dn1","kpid":77,"kind":"Auction","uniq":"a-1","freq":1,
//    "pid":-1,"id":1,"tag":"Router::bid","t1":1700000000000000000,"t2":1700000000000001500}
//
// (one line; the syslog line and the JSON-lines record are the same). Strings
// are JSON-escaped; bytes that are not UTF-8 become U+FFFD, so every line is
// valid JSON whatever the ids hold.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pivot::internal {

// Appends s as a JSON string literal (quotes included).
void append_json_text(std::string& out, std::string_view s);

struct SpanRecord {
  int64_t tid;
  std::string_view host;
  int64_t kpid;
  std::string_view kind;
  std::string_view uniq;
  int64_t freq;
  int64_t pid;
  int64_t id;
  std::string_view tag;
  int64_t t1;  // ns since the epoch
  int64_t t2;
  bool cross_thread;
  // W3C trace context ids in lowercase hex, all empty without one.
  std::string_view trace_id = {};
  std::string_view span_id = {};
  std::string_view parent_span_id = {};
};

// The syslog line / JSON-lines record, without a newline. "cross_thread":true
// is added only for spans that ended on another thread, "traceId", "spanId"
// and "parentSpanId" only for spans of a W3C trace (so RTBkit's lines stay
// as they were).
void append_span_json(std::string& out, const SpanRecord& r);

// One Chrome Trace Event Format complete ("X") event; ts and dur in
// microseconds with ns precision; the W3C ids, if any, among its args.
void append_chrome_event(std::string& out, const SpanRecord& r);

// The metadata event that names the process in Chrome/Perfetto.
void append_chrome_process_name(std::string& out, int64_t kpid, std::string_view name);

}  // namespace pivot::internal
