// pivot::Value: the dynamically typed value of a tracepoint export, a tuple
// field, a group key or an aggregate.
//
// A Value is null, bool, int64, double or string. Integer arithmetic stays
// integer (SUM of integers is an integer); mixing int and double gives double.
// Values compare and hash by content; an int and a double that are equal
// (3 and 3.0) are equal and hash alike, so group keys behave as users expect.
//
//   pivot::Value v = int64_t{42};
//   v.to_json();    // "42"
//
// Thread safety: a plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace pivot {

enum class ValueType : uint8_t { kNull, kBool, kInt, kDouble, kString };

// "null", "bool", "int", "double" or "string".
std::string_view type_name(ValueType t);

class Value {
 public:
  Value() = default;
  Value(std::nullptr_t) {}                                       // NOLINT
  Value(bool b) : v_(b) {}                                       // NOLINT
  Value(int64_t i) : v_(i) {}                                    // NOLINT
  Value(int i) : v_(int64_t{i}) {}                               // NOLINT
  Value(double d) : v_(d) {}                                     // NOLINT
  Value(std::string s) : v_(std::move(s)) {}                     // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}              // NOLINT
  Value(const char* s) : v_(std::string(s ? s : "")) {}          // NOLINT

  ValueType type() const { return static_cast<ValueType>(v_.index()); }
  bool is_null() const { return v_.index() == 0; }
  bool is_bool() const { return v_.index() == 1; }
  bool is_int() const { return v_.index() == 2; }
  bool is_double() const { return v_.index() == 3; }
  bool is_string() const { return v_.index() == 4; }
  bool is_number() const { return is_int() || is_double(); }

  bool as_bool() const { return std::get<1>(v_); }
  int64_t as_int() const { return std::get<2>(v_); }
  double as_double() const { return std::get<3>(v_); }
  const std::string& as_string() const { return std::get<4>(v_); }
  // int or double as double; 0 for anything else.
  double to_double() const;
  // Truthiness for Where: false for null and false, true for true; numbers
  // and strings are not booleans (the binder rejects them in Where).
  bool truthy() const { return is_bool() && as_bool(); }

  // JSON text: null, true, 42, 1.5, "escaped".
  std::string to_json() const;
  // Human text: strings unquoted, doubles shortest round-trip.
  std::string to_string() const;

  size_t hash() const;

  // Total order used for sorting results and for MIN/MAX: null < bool <
  // numbers (int and double compared by value) < strings.
  friend int compare(const Value& a, const Value& b);
  friend bool operator==(const Value& a, const Value& b) { return compare(a, b) == 0; }
  friend bool operator<(const Value& a, const Value& b) { return compare(a, b) < 0; }

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string> v_;
};

struct ValueHash {
  size_t operator()(const Value& v) const { return v.hash(); }
};

// Appends s to out as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

}  // namespace pivot
