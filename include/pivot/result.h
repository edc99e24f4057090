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
// Thread safety: these are plain values; copy them freely.
#pragma once

#include <string>
#include <utility>
#include <variant>

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

  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }

  const Error& error() const { return std::get<1>(v_); }

 private:
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
