// What PIVOT_TRACEPOINT needs: the static site object, its descriptor, and
// the conversion of exported C++ values. Not public API.
//
// A site is a constant-initialized object, one per PIVOT_TRACEPOINT expansion
// (one per template instantiation), holding an atomic pointer to the advice
// installed on it. Sites register themselves with the process-wide registry
// during static initialization, so a query can name a site before it first
// runs (the role USDT's ELF notes play; an ELF section cannot be used here
// because GCC refuses to mix COMDAT and non-COMDAT objects in one section).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pivot/internal/preprocessor.h"
#include "pivot/value.h"

namespace pivot::internal {

struct SiteAdvice;  // advice installed on a site; defined in src/tracepoint/registry.h

struct ExportDesc {
  std::string_view name;
  ValueType type;  // element type when is_list
  bool is_list;
  Unit unit = Unit::kNone;
};

struct SiteInfo {
  std::string_view tracepoint;
  const char* file;
  int line;
  const ExportDesc* exports;
  uint32_t n_exports;
};

struct Site {
  std::atomic<const SiteAdvice*> advice{nullptr};
  const SiteInfo* info;
};

// Called once per site during static initialization (or dlopen).
bool register_site(Site* site) noexcept;

// ---------------------------------------------------------------------------
// Exported values.

// Receives one export's value while advice runs. A list-valued export
// (a container) is delivered element by element; the advice then runs once
// per element.
class ExportSink {
 public:
  explicit ExportSink(Value* scalar, std::vector<Value>* list) : scalar_(scalar), list_(list) {}

  template <class T>
  void put(const T& v);

  void put_value(Value v) { *scalar_ = std::move(v); }
  void begin_list() { list_->clear(); }
  void add_element(Value v) { list_->push_back(std::move(v)); }

 private:
  Value* scalar_;
  std::vector<Value>* list_;
};

template <class T>
concept StringLike = std::is_convertible_v<const T&, std::string_view>;

template <class T>
concept ListLike = !StringLike<T> && requires(const T& t) {
  std::begin(t);
  std::end(t);
};

template <class T>
constexpr ValueType scalar_type() {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, bool>)
    return ValueType::kBool;
  else if constexpr (std::is_integral_v<U> || std::is_enum_v<U> || (std::is_pointer_v<U> && !StringLike<U>))
    return ValueType::kInt;
  else if constexpr (std::is_floating_point_v<U>)
    return ValueType::kDouble;
  else if constexpr (StringLike<U>)
    return ValueType::kString;
  else
    return ValueType::kNull;
}

template <class T>
Value to_value(const T& v) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, bool>)
    return Value(v);
  else if constexpr (std::is_enum_v<U>)
    return Value(static_cast<int64_t>(v));
  else if constexpr (std::is_integral_v<U>)
    return Value(static_cast<int64_t>(v));
  else if constexpr (std::is_floating_point_v<U>)
    return Value(static_cast<double>(v));
  else if constexpr (StringLike<U>) {
    if constexpr (std::is_pointer_v<U>) {
      if (v == nullptr) return Value();
    }
    return Value(std::string_view(v));
  } else if constexpr (std::is_pointer_v<U>)
    return Value(static_cast<int64_t>(reinterpret_cast<uintptr_t>(v)));
  else
    static_assert(sizeof(U) == 0,
                  "pivot: cannot export this type; export a number, bool, string or a container of them");
}

template <class T>
void ExportSink::put(const T& v) {
  using U = std::remove_cvref_t<T>;
  if constexpr (ListLike<U>) {
    begin_list();
    for (const auto& e : v) add_element(to_value(e));
  } else {
    put_value(to_value(v));
  }
}

template <class T>
constexpr ExportDesc describe(std::string_view name) {
  using U = std::remove_cvref_t<T>;
  if constexpr (ListLike<U>) {
    return {name, scalar_type<decltype(*std::begin(std::declval<const U&>()))>(), true};
  } else {
    static_assert(scalar_type<U>() != ValueType::kNull,
                  "pivot: cannot export this type; export a number, bool, string or a container of them");
    return {name, scalar_type<U>(), false};
  }
}

// The export name of a PIVOT_TRACEPOINT argument, from its spelling: the
// string literal of PIVOT_EXPORT("name", expr), else the spelling itself,
// which must then be an identifier.
constexpr bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

// The n-th string literal after `marker` in a spelling, or "" without the
// marker. PIVOT_EXPORT's spelling is `pivot_export_named_("name", expr)`,
// PIVOT_EXPORT_UNIT's `pivot_export_unit_("name", "unit", expr)`.
constexpr std::string_view marked_literal(std::string_view spelling, std::string_view marker, int n) {
  size_t at = spelling.find(marker);
  if (at == std::string_view::npos) return "";
  size_t open = spelling.find('"', at);
  size_t close = spelling.find('"', open + 1);
  for (; n > 0; --n) {
    open = spelling.find('"', close + 1);
    close = spelling.find('"', open + 1);
  }
  return spelling.substr(open + 1, close - open - 1);
}

constexpr std::string_view export_name(std::string_view spelling) {
  for (std::string_view marker : {"pivot_export_named_(", "pivot_export_unit_("}) {
    if (spelling.find(marker) != std::string_view::npos) return marked_literal(spelling, marker, 0);
  }
  return spelling;
}

// The unit PIVOT_EXPORT_UNIT declares, as spelt ("" for none).
constexpr std::string_view export_unit_name(std::string_view spelling) {
  return marked_literal(spelling, "pivot_export_unit_(", 1);
}

template <class T>
constexpr T&& pivot_export_named_(std::string_view, T&& v) {
  return static_cast<T&&>(v);
}

template <class T>
constexpr T&& pivot_export_unit_(std::string_view, std::string_view, T&& v) {
  return static_cast<T&&>(v);
}

template <class... Ts>
struct TypeList {};

template <class Tag, class Types>
struct SiteHolder;

template <class Tag, class... Ts>
struct SiteHolder<Tag, TypeList<void, Ts...>> {  // void leads so the list may be empty
  static constexpr std::array<std::string_view, sizeof...(Ts)> kNames = Tag::names();
  static constexpr std::array<std::string_view, sizeof...(Ts)> kUnits = Tag::units();
  static constexpr auto kExports = [] {
    std::array<ExportDesc, sizeof...(Ts)> out{};
    size_t i = 0;
    ((out[i] = describe<Ts>(kNames[i]), out[i].unit = unit_from_name(kUnits[i]), ++i), ...);
    return out;
  }();
  static constexpr SiteInfo kInfo{Tag::tracepoint(), Tag::file(), Tag::line(), kExports.data(),
                                  static_cast<uint32_t>(sizeof...(Ts))};
  static constinit inline Site site{nullptr, &kInfo};
  static inline const bool registered = register_site(&site);
};

// The cold path: runs the advice installed on `site`. `get(ctx, i, sink)`
// delivers export i. Never throws, never blocks.
[[gnu::noinline, gnu::cold]] void fire_slow(Site& site, void* ctx,
                                            void (*get)(void* ctx, uint32_t i, ExportSink& sink)) noexcept;

template <class F>
inline void fire(Site& site, F& getter) {
  fire_slow(site, &getter, [](void* ctx, uint32_t i, ExportSink& sink) { (*static_cast<F*>(ctx))(i, sink); });
}

}  // namespace pivot::internal

#define PIVOT_INTERNAL_NAME(i, arg) ::pivot::internal::export_name(#arg),
#define PIVOT_INTERNAL_UNIT(i, arg) ::pivot::internal::export_unit_name(#arg),
#define PIVOT_INTERNAL_CHECK(i, arg)                                                                   \
  static_assert(::pivot::internal::is_identifier(::pivot::internal::export_name(#arg)),                \
                "pivot: a tracepoint export must be a variable name or PIVOT_EXPORT(\"name\", expr)"); \
  static_assert(                                                                                       \
      ::pivot::internal::export_unit_name(#arg).empty() ||                                             \
          ::pivot::unit_from_name(::pivot::internal::export_unit_name(#arg)) != ::pivot::Unit::kNone,  \
      "pivot: PIVOT_EXPORT_UNIT's unit must be \"ns\", \"bytes\" or \"epoch_ns\"");
#define PIVOT_INTERNAL_TYPE(i, arg) , decltype((arg))
#define PIVOT_INTERNAL_CASE(i, arg) \
  case (i): pivot_sink_.put(arg); break;
