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
#include <new>
#include <string>
#include <string_view>

#include "pivot/internal/config.h"

namespace pivot {

enum class ValueType : uint8_t { kNull, kBool, kInt, kDouble, kString };

// "null", "bool", "int", "double" or "string".
std::string_view type_name(ValueType t);

// What a number measures, so that tables can print it with a unit
// (`10.09 ms`, `1.20 MiB`); JSON and CSV keep the raw number. A tracepoint
// declares it per export (PIVOT_EXPORT_UNIT); the query compiler carries it
// through arithmetic and aggregates to the result's columns.
//   kNanoseconds       a duration in ns (a hooked function's `duration`)
//   kBytes             a byte count
//   kEpochNanoseconds  a time in ns since the epoch (`timestamp`): the
//                      difference of two is a duration
enum class Unit : uint8_t { kNone, kNanoseconds, kBytes, kEpochNanoseconds };

// "", "ns", "bytes" or "epoch_ns": how PIVOT_EXPORT_UNIT, the agents'
// catalogs and `pivot tracepoints` spell a unit.
constexpr std::string_view unit_name(Unit u) {
  switch (u) {
    case Unit::kNone: return "";
    case Unit::kNanoseconds: return "ns";
    case Unit::kBytes: return "bytes";
    case Unit::kEpochNanoseconds: return "epoch_ns";
  }
  return "";
}

// The unit spelt `name`, or kNone.
constexpr Unit unit_from_name(std::string_view name) {
  for (Unit u : {Unit::kNanoseconds, Unit::kBytes, Unit::kEpochNanoseconds}) {
    if (unit_name(u) == name) return u;
  }
  return Unit::kNone;
}

class Value {
 public:
  Value() noexcept : type_(ValueType::kNull), i_(0) {}
  Value(std::nullptr_t) noexcept : Value() {}                            // NOLINT
  Value(bool b) noexcept : type_(ValueType::kBool), b_(b) {}             // NOLINT
  Value(int64_t i) noexcept : type_(ValueType::kInt), i_(i) {}           // NOLINT
  Value(int i) noexcept : type_(ValueType::kInt), i_(i) {}               // NOLINT
  Value(double d) noexcept : type_(ValueType::kDouble), d_(d) {}         // NOLINT
  Value(std::string s) : type_(ValueType::kString), s_(std::move(s)) {}  // NOLINT
  Value(std::string_view s) : type_(ValueType::kString), s_(s) {}        // NOLINT
  Value(const char* s) : type_(ValueType::kString), s_(s ? s : "") {}    // NOLINT

  Value(const Value& o) : type_(o.type_) {
    if (type_ == ValueType::kString)
      new (&s_) std::string(o.s_);
    else
      i_ = o.i_;
  }
  Value(Value&& o) noexcept : type_(o.type_) {
    if (type_ == ValueType::kString)
      new (&s_) std::string(std::move(o.s_));
    else
      i_ = o.i_;
  }
  Value& operator=(const Value& o) {
    if (type_ == ValueType::kString && o.type_ == ValueType::kString) {
      s_ = o.s_;
    } else if (this != &o) {
      this->~Value();
      new (this) Value(o);
    }
    return *this;
  }
  Value& operator=(Value&& o) noexcept {
    if (type_ == ValueType::kString && o.type_ == ValueType::kString) {
      s_ = std::move(o.s_);
    } else if (this != &o) {
      this->~Value();
      new (this) Value(std::move(o));
    }
    return *this;
  }
  ~Value() {
    if (type_ == ValueType::kString) s_.~basic_string();
  }

  ValueType type() const { return type_; }
  bool is_null() const { return type_ == ValueType::kNull; }
  bool is_bool() const { return type_ == ValueType::kBool; }
  bool is_int() const { return type_ == ValueType::kInt; }
  bool is_double() const { return type_ == ValueType::kDouble; }
  bool is_string() const { return type_ == ValueType::kString; }
  bool is_number() const { return is_int() || is_double(); }

  // Accessors; calling one for another type is a programming error.
  bool as_bool() const { return b_; }
  int64_t as_int() const { return i_; }
  double as_double() const { return d_; }
  const std::string& as_string() const { return s_; }
  // In-place access for accumulators; null when the value is another type.
  int64_t* if_int() { return is_int() ? &i_ : nullptr; }
  double* if_double() { return is_double() ? &d_ : nullptr; }
  // int or double as double; 0 for anything else.
  double to_double() const { return is_int() ? static_cast<double>(i_) : (is_double() ? d_ : 0.0); }
  // Truthiness for Where: false for null and false, true for true; numbers
  // and strings are not booleans (the binder rejects them in Where).
  bool truthy() const { return is_bool() && b_; }

  // JSON text: null, true, 42, 1.5, "escaped".
  std::string to_json() const;
  // Human text: strings unquoted, doubles shortest round-trip.
  std::string to_string() const;

  size_t hash() const {
    if (type_ == ValueType::kInt) return int_hash(i_);  // inline: group keys
    return hash_other();
  }
  // hash() of an int Value.
  static constexpr size_t int_hash(int64_t i) { return static_cast<size_t>(i) * 0x9e3779b97f4a7c15ull; }

  // Total order used for sorting results and for MIN/MAX: null < bool <
  // numbers (int and double compared by value) < strings.
  friend int compare(const Value& a, const Value& b);
  friend bool operator==(const Value& a, const Value& b) {
    if (a.type_ == b.type_) {
      switch (a.type_) {
        case ValueType::kNull: return true;
        case ValueType::kBool: return a.b_ == b.b_;
        case ValueType::kInt: return a.i_ == b.i_;
        case ValueType::kDouble: return a.d_ == b.d_;
        case ValueType::kString: return a.s_ == b.s_;
      }
    }
    return a.is_number() && b.is_number() && a.to_double() == b.to_double() && compare(a, b) == 0;
  }
  friend bool operator<(const Value& a, const Value& b) { return compare(a, b) < 0; }

 private:
  size_t hash_other() const;

  ValueType type_;
  union {
    bool b_;
    int64_t i_;
    double d_;
    std::string s_;
  };
};

struct ValueHash {
  size_t operator()(const Value& v) const { return v.hash(); }
};

}  // namespace pivot
