#include "pivot/value.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>

#include "pivot/internal/json.h"

namespace pivot {

std::string_view type_name(ValueType t) {
  switch (t) {
    case ValueType::kNull: return "null";
    case ValueType::kBool: return "bool";
    case ValueType::kInt: return "int";
    case ValueType::kDouble: return "double";
    case ValueType::kString: return "string";
  }
  return "?";
}

namespace {

std::string double_text(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, end);
  // Keep doubles recognisable as doubles: 2.0 prints "2.0", not "2".
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

int rank(const Value& v) {
  switch (v.type()) {
    case ValueType::kNull: return 0;
    case ValueType::kBool: return 1;
    case ValueType::kInt:
    case ValueType::kDouble: return 2;
    case ValueType::kString: return 3;
  }
  return 4;
}

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

template <class T>
int three_way(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

}  // namespace

void internal::append_json_string(std::string& out, std::string_view s, Utf8 mode) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80 && mode == Utf8::kReplaceInvalid) {
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

std::string Value::to_json() const {
  switch (type()) {
    case ValueType::kNull: return "null";
    case ValueType::kBool: return as_bool() ? "true" : "false";
    case ValueType::kInt: return std::to_string(as_int());
    case ValueType::kDouble: {
      double d = as_double();
      if (!std::isfinite(d)) return "null";  // JSON has no NaN or Infinity
      return double_text(d);
    }
    case ValueType::kString: {
      std::string out;
      internal::append_json_string(out, as_string());
      return out;
    }
  }
  return "null";
}

std::string Value::to_string() const {
  switch (type()) {
    case ValueType::kString: return as_string();
    case ValueType::kDouble: return double_text(as_double());
    default: return to_json();
  }
}

size_t Value::hash_other() const {
  switch (type()) {
    case ValueType::kNull: return 0x9e3779b97f4a7c15ull;
    case ValueType::kBool: return as_bool() ? 0x51ed27ull : 0x2545f491ull;
    case ValueType::kInt: return std::hash<int64_t>()(as_int()) * 0x9e3779b97f4a7c15ull;
    case ValueType::kDouble: {
      // Integral doubles hash as the equal int, since they compare equal.
      double d = as_double();
      if (std::isnan(d)) return 0x7ff8000000000000ull;  // every NaN alike: one group key
      if (d == std::trunc(d) && std::fabs(d) < 9.2e18) {
        return std::hash<int64_t>()(static_cast<int64_t>(d)) * 0x9e3779b97f4a7c15ull;
      }
      return std::hash<double>()(d);
    }
    case ValueType::kString: return std::hash<std::string_view>()(as_string());
  }
  return 0;
}

int compare(const Value& a, const Value& b) {
  int ra = rank(a), rb = rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (a.type()) {
    case ValueType::kNull: return 0;
    case ValueType::kBool: return three_way(a.as_bool(), b.as_bool());
    case ValueType::kString:
      return a.as_string().compare(b.as_string()) < 0 ? -1 : (a.as_string() == b.as_string() ? 0 : 1);
    default:
      if (a.is_int() && b.is_int()) return three_way(a.as_int(), b.as_int());
      return three_way(a.to_double(), b.to_double());
  }
}

}  // namespace pivot
