// pivot::Error, pivot::Status and pivot::Result<T>: errors are values.
//
// Result<T> behaves like std::expected<T, pivot::Error> (C++23), which the
// toolchains pivot supports do not have yet:
//
//   pivot::Result<pivot::QueryId> q = session.install(text);
//   if (!q) { std::cerr << q.error().message() << "\n"; return; }
//   session.results(*q);
//
// An Error carries a message and, for errors in query text, the 1-based line
// and column it points at (0 when it points nowhere). The message of a query
// error already includes the offending line and a caret under the column.
//
// Preconditions, as std::expected's: *r, r->, and r.value() need a value
// (test `r` first); r.error() needs an error. Breaking one is a bug in the
// calling code, not an error to handle: it is an assertion that fails in
// every build, printing what was accessed (and the error's message) and
// aborting. Nothing here throws.
//
// Thread safety: these are plain values; copy them freely.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "pivot/internal/check.h"
#include "pivot/internal/config.h"

namespace pivot {

class Error {
 public:
  Error() = default;
  explicit Error(std::string message, int line = 0, int column = 0)
      : message_(std::move(message)), line_(line), column_(column) {}

  const std::string& message() const { return message_; }
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  std::string message_;
  int line_ = 0;
  int column_ = 0;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  explicit operator bool() const { return v_.index() == 0; }
  bool has_value() const { return v_.index() == 0; }

  // Precondition: has_value().
  T& operator*() & { return *value_ptr(); }
  const T& operator*() const& { return *value_ptr(); }
  T&& operator*() && { return std::move(*value_ptr()); }
  T* operator->() { return value_ptr(); }
  const T* operator->() const { return value_ptr(); }
  T& value() & { return *value_ptr(); }
  const T& value() const& { return *value_ptr(); }
  T&& value() && { return std::move(*value_ptr()); }

  // Precondition: !has_value().
  const Error& error() const {
    const Error* e = std::get_if<1>(&v_);
    if (e == nullptr) [[unlikely]]
      internal::precondition_failed("error() of a pivot::Result that holds a value", nullptr);
    return *e;
  }

 private:
  T* value_ptr() {
    T* v = std::get_if<0>(&v_);
    if (v == nullptr) [[unlikely]]
      internal::precondition_failed("the value of a pivot::Result that holds an error",
                                    std::get_if<1>(&v_)->message().c_str());
    return v;
  }
  const T* value_ptr() const { return const_cast<Result*>(this)->value_ptr(); }

  std::variant<T, Error> v_;
};

// The result of an operation that returns nothing but may fail.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : failed_(true), error_(std::move(error)) {}  // NOLINT: implicit by design

  static Status Ok() { return Status(); }
  bool ok() const { return !failed_; }
  explicit operator bool() const { return !failed_; }
  const Error& error() const { return error_; }

 private:
  bool failed_ = false;
  Error error_;
};

}  // namespace pivot
