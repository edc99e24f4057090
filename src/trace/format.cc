#include "trace/format.h"

#include <charconv>

#include "pivot/internal/json.h"
#include "pivot/value.h"

namespace pivot::internal {
namespace {

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// ns as microseconds with three decimals: 1500 -> "1.500".
void append_us(std::string& out, int64_t ns) {
  if (ns < 0) {
    out += '-';
    ns = -ns;
  }
  append_int(out, ns / 1000);
  int64_t frac = ns % 1000;
  out += '.';
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
}

// Hex ids need no escaping.
void append_w3c_ids(std::string& out, const SpanRecord& r) {
  if (r.trace_id.empty()) return;
  out += ",\"traceId\":\"";
  out += r.trace_id;
  out += "\",\"spanId\":\"";
  out += r.span_id;
  out += "\",\"parentSpanId\":\"";
  out += r.parent_span_id;
  out += '"';
}

}  // namespace

void append_json_text(std::string& out, std::string_view s) { append_json_string(out, s); }

void append_span_json(std::string& out, const SpanRecord& r) {
  out += "{\"tid\":";
  append_int(out, r.tid);
  out += ",\"host\":";
  append_json_text(out, r.host);
  out += ",\"kpid\":";
  append_int(out, r.kpid);
  out += ",\"kind\":";
  append_json_text(out, r.kind);
  out += ",\"uniq\":";
  append_json_text(out, r.uniq);
  out += ",\"freq\":";
  append_int(out, r.freq);
  out += ",\"pid\":";
  append_int(out, r.pid);
  out += ",\"id\":";
  append_int(out, r.id);
  out += ",\"tag\":";
  append_json_text(out, r.tag);
  out += ",\"t1\":";
  append_int(out, r.t1);
  out += ",\"t2\":";
  append_int(out, r.t2);
  if (r.cross_thread) out += ",\"cross_thread\":true";
  append_w3c_ids(out, r);
  out += '}';
}

void append_chrome_event(std::string& out, const SpanRecord& r) {
  out += "{\"name\":";
  append_json_text(out, r.tag);
  out += ",\"cat\":";
  append_json_text(out, r.kind);
  out += ",\"ph\":\"X\",\"ts\":";
  append_us(out, r.t1);
  out += ",\"dur\":";
  append_us(out, r.t2 - r.t1);
  out += ",\"pid\":";
  append_int(out, r.kpid);
  out += ",\"tid\":";
  append_int(out, r.tid);
  out += ",\"args\":{\"uniq\":";
  append_json_text(out, r.uniq);
  out += ",\"freq\":";
  append_int(out, r.freq);
  out += ",\"id\":";
  append_int(out, r.id);
  out += ",\"parent\":";
  append_int(out, r.pid);
  if (r.cross_thread) out += ",\"cross_thread\":true";
  append_w3c_ids(out, r);
  out += "}}";
}

void append_chrome_process_name(std::string& out, int64_t kpid, std::string_view name) {
  out += "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":";
  append_int(out, kpid);
  out += ",\"tid\":0,\"args\":{\"name\":";
  append_json_text(out, name);
  out += "}}";
}

}  // namespace pivot::internal
