// Header carriers: where pivot::baggage::inject/extract and
// pivot::trace_context::inject/extract read and write request headers.
//
// A carrier is anything with Get(key) and Set(key, value), the shape of
// OpenTelemetry's TextMapCarrier, so a carrier written for OpenTelemetry
// (HTTP headers, gRPC metadata, a message's attributes) works unchanged:
//
//   struct GrpcMetadataCarrier {
//     grpc::ClientContext* ctx;
//     std::string_view Get(std::string_view) const { return {}; }   // outgoing only
//     void Set(std::string_view k, std::string_view v) { ctx->AddMetadata(std::string(k), std::string(v)); }
//   };
//
// Maps need no carrier: std::map and std::unordered_map<std::string,
// std::string> are accepted as they are (MapCarrier wraps them). A pair of
// callables becomes one with header_carrier(get, set).
//
// Keys are passed in lower case ("baggage", "traceparent"), as HTTP/2 and
// gRPC require; a carrier over a case-sensitive HTTP/1 map must match keys
// case-insensitively itself. Get returns "" for a missing header. What Get
// returns is read before the next call on the carrier, so it may be a view
// into the carrier's storage or a temporary std::string.
//
// Thread safety: a carrier is used only by the calling thread, for the
// duration of one inject or extract call.
#pragma once

#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "pivot/internal/config.h"

namespace pivot {

// Something to read headers from.
template <class C>
concept HeaderGetter = requires(const C& c, std::string_view key) {
  { c.Get(key) } -> std::convertible_to<std::string_view>;
};

// Something to read headers from and write them to.
template <class C>
concept HeaderCarrier = HeaderGetter<C> && requires(C& c, std::string_view key, std::string_view value) {
  c.Set(key, value);
};

// A map from std::string to std::string: std::map, std::unordered_map.
template <class M>
concept StringMap = std::same_as<typename std::remove_const_t<M>::key_type, std::string> &&
    std::same_as<typename std::remove_const_t<M>::mapped_type, std::string> &&
    requires(const M& m, const std::string& k) {
  m.find(k) == m.end();
};

// A carrier over a map of headers (const maps can only be read).
template <StringMap M>
class MapCarrier {
 public:
  explicit MapCarrier(M& map) noexcept : map_(&map) {}

  std::string_view Get(std::string_view key) const {
    auto it = map_->find(std::string(key));
    return it == map_->end() ? std::string_view() : std::string_view(it->second);
  }
  void Set(std::string_view key, std::string_view value) requires(!std::is_const_v<M>) {
    (*map_)[std::string(key)] = std::string(value);
  }

 private:
  M* map_;
};

// A carrier from two callables: get(std::string_view key) returning
// something convertible to std::string_view ("" when missing), and
// set(std::string_view key, std::string_view value).
template <class Getter, class Setter>
class CallbackCarrier {
 public:
  CallbackCarrier(Getter get, Setter set) : get_(std::move(get)), set_(std::move(set)) {}

  decltype(auto) Get(std::string_view key) const { return get_(key); }
  void Set(std::string_view key, std::string_view value) { set_(key, value); }

 private:
  [[no_unique_address]] Getter get_;
  [[no_unique_address]] Setter set_;
};

template <class Getter, class Setter>
CallbackCarrier<std::decay_t<Getter>, std::decay_t<Setter>> header_carrier(Getter&& get, Setter&& set) {
  return {std::forward<Getter>(get), std::forward<Setter>(set)};
}

// A getter alone, for extract().
template <class Getter>
auto header_getter(Getter&& get) {
  return header_carrier(std::forward<Getter>(get), [](std::string_view, std::string_view) {});
}

}  // namespace pivot
