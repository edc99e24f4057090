#include "trace/format.h"

#include <charconv>

namespace pivot::internal {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if there is none.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2, cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3, cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff) return 0;  // overlong, too big
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;                                         // surrogates
  return n;
}

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

}  // namespace

void append_json_text(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = utf8_sequence(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

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
