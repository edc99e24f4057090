// Baggage: the tuples a request carries along its causal path, so that a
// tracepoint can join with what happened before it, on this thread, on
// another thread or in another process.
//
// Each thread has a current baggage. Tracepoint advice packs tuples into it
// and unpacks them further along. Your code moves it where the request goes:
//
//   // Client side of an RPC: pivot's member in the W3C `baggage` header,
//   // next to whatever members OpenTelemetry or others put there.
//   pivot::baggage::inject(request.headers);
//
//   // Server side: make the request's baggage current while serving it.
//   pivot::baggage::Scope scope(pivot::baggage::extract(request.headers));
//
//   // Hand work to another thread: it runs under a fork of our baggage.
//   pool.submit(pivot::baggage::wrap([=] { serve(request); }));
//
//   // Branch and merge explicitly.
//   pivot::Baggage branch = pivot::baggage::fork();
//   std::thread t([&] { pivot::baggage::Scope s(std::move(branch)); work();
//                       branch = pivot::baggage::take(); });
//   t.join();
//   pivot::baggage::join(std::move(branch));
//
// Fork and join never double count: a tuple packed before a fork and present
// in both branches is kept once when they are joined. Sending baggage to
// another process (encode) counts as a fork.
//
// Empty baggage allocates nothing and encodes to "" (zero bytes on the wire).
// Baggage is bounded (set_byte_cap): past the cap, new tuples are dropped
// and the baggage is marked overflowed, which makes the results of the
// queries that read it say they are incomplete.
//
// decode() never throws and never crashes on hostile bytes: bad input gives
// an empty baggage and increments decode_errors().
//
// Thread safety: the current baggage is thread-local; a Baggage object is a
// value that may be moved between threads but not shared without a lock.
// Copying one is cheap: copies share their tuples until one of them changes
// (copy on write), and copies on different threads are independent values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "pivot/carrier.h"
#include "pivot/internal/carrier.h"
#include "pivot/result.h"

namespace pivot {

namespace internal {
struct BagData;
struct BagAccess;
// Deletes out of line, so that Baggage's defaulted members compile where
// BagData is incomplete.
struct BagDataDeleter {
  void operator()(BagData* d) const noexcept;
};
}  // namespace internal

class Baggage {
 public:
  Baggage() noexcept = default;  // empty; allocates nothing
  Baggage(const Baggage& other);
  Baggage& operator=(const Baggage& other);
  Baggage(Baggage&&) noexcept = default;
  Baggage& operator=(Baggage&&) noexcept = default;
  ~Baggage();

  bool empty() const noexcept;
  // True when tuples were dropped because of the byte cap.
  bool overflowed() const noexcept;
  // Bytes of the binary encoding (0 when empty).
  size_t byte_size() const noexcept;

 private:
  friend struct internal::BagAccess;
  std::unique_ptr<internal::BagData, internal::BagDataDeleter> data_;
};

namespace baggage {

// The current baggage, as header-safe text (base64url of the binary
// encoding, no padding); "" when empty. Usable as the value of one member of
// a W3C `baggage` header. Marks the current tuples as sent (a fork).
std::string encode();
std::string encode(const Baggage& b);

// Parses encode()'s text. Bad input: empty baggage, decode_errors() + 1.
Baggage decode(std::string_view text) noexcept;
// The same, with the reason for bad input.
Result<Baggage> try_decode(std::string_view text);

// Binary form (what encode() base64url-encodes), for binary metadata such
// as gRPC "-bin" headers. encode_binary() takes the current baggage and, like
// encode(), marks its tuples as sent.
std::string encode_binary();
std::string encode_binary(const Baggage& b);
Result<Baggage> decode_binary(std::string_view bytes);

// encode() and encode_binary() into a caller's buffer: `out` is replaced by
// the encoding ("" when empty) and keeps its capacity, so a caller that
// reuses one buffer (per connection, per thread) encodes without
// allocating once it has grown. The forms without a Baggage, like encode(),
// mark the current tuples as sent. Never throw: if the buffer cannot grow,
// `out` is "" and nothing is sent.
//
//   thread_local std::string buf;
//   pivot::baggage::encode_binary_into(buf);
//   frame.set_header("baggage-bin", buf);
void encode_into(std::string& out) noexcept;
void encode_into(const Baggage& b, std::string& out) noexcept;
void encode_binary_into(std::string& out) noexcept;
void encode_binary_into(const Baggage& b, std::string& out) noexcept;

// A copy of the current baggage for a child execution. The tuples it holds
// are marked as shared, so joining the child back does not count them twice.
Baggage fork();

// Merges a finished branch into the current baggage.
void join(Baggage&& branch);

// Moves the current baggage out, leaving the thread's baggage empty.
Baggage take() noexcept;

// Replaces the current baggage; returns the previous one.
Baggage exchange(Baggage&& b) noexcept;

// Makes `b` the current baggage until the scope ends, then restores the
// previous one. The baggage as it was when the scope ends is lost unless
// taken with take() first; use join() to merge it somewhere.
class [[nodiscard]] Scope {
 public:
  explicit Scope(Baggage&& b) noexcept : saved_(exchange(std::move(b))) {}
  ~Scope() { exchange(std::move(saved_)); }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Baggage saved_;
};

// A callable that runs f under a fork of the caller's current baggage (taken
// now, at wrap time). For handing work to thread pools and executors.
template <class F>
auto wrap(F&& f) {
  return [b = fork(), f = std::forward<F>(f)](auto&&... args) mutable -> decltype(auto) {
    Scope scope{Baggage(b)};
    return f(std::forward<decltype(args)>(args)...);
  };
}

// --- The W3C `baggage` header (https://www.w3.org/TR/baggage/) -----------
//
// pivot's baggage travels as one list-member, `pivot=<encode()>`, of the
// header; the other members (OpenTelemetry's, the application's) are kept
// byte for byte. The default byte cap keeps the member within 4096 bytes,
// OpenTelemetry's limit for one entry. docs/baggage.md, "Interop", has the rules.

inline constexpr std::string_view kHeader = "baggage";
inline constexpr std::string_view kMemberKey = "pivot";

// `header` (a `baggage` header value, possibly "") with pivot's member set
// to the current baggage: replaced where it was, else appended; removed
// when the current baggage is empty. Members are rejoined with ",", each
// kept byte for byte. Within the W3C limits (8192 bytes, 180 members) the
// member drops tuples as the byte cap does, and is marked overflowed; with
// no room for it at all it is left out. *complete (if given) tells whether
// the member carries the whole current baggage. Marks the current tuples as
// sent, like encode().
std::string inject_header(std::string_view header, bool* complete = nullptr);

// pivot's member of a `baggage` header, decoded; other members are ignored,
// valid or not. No pivot member: empty baggage. A bad pivot member: empty
// baggage and decode_errors() + 1, as decode().
Baggage extract_header(std::string_view header) noexcept;
// The same, with the reason for a bad pivot member.
Result<Baggage> try_extract_header(std::string_view header);

// Sets the carrier's `baggage` header to inject_header() of its current
// value; does not touch the carrier when that changes nothing (no baggage
// and no pivot member: zero bytes on the wire). A header that held only a
// stale pivot member is set to "" (carriers cannot delete). Returns whether
// the whole current baggage was sent.
//
//   std::map<std::string, std::string> headers = {{"baggage", "userId=alice"}};
//   pivot::baggage::inject(headers);   // "userId=alice,pivot=AgAB..."
template <class C>
requires HeaderCarrier<C> || StringMap<C>
bool inject(C& carrier) {
  auto&& c = internal::as_carrier(carrier);
  bool complete = true;
  std::string header;
  {
    auto&& old = c.Get(kHeader);
    std::string_view was(old);
    header = inject_header(was, &complete);
    if (header == was) return complete;
  }
  c.Set(kHeader, header);
  return complete;
}

// extract_header() of the carrier's `baggage` header.
template <class C>
requires HeaderGetter<C> || StringMap<C> Baggage extract(const C& carrier) {
  auto&& c = internal::as_carrier(carrier);
  auto&& header = c.Get(kHeader);
  return extract_header(std::string_view(header));
}

// The byte cap of every baggage in the process (default 3067 bytes, the
// most whose `pivot=` member fits in 4096 bytes).
void set_byte_cap(size_t bytes) noexcept;
size_t byte_cap() noexcept;

// Number of decode() calls that got bad input, process-wide.
uint64_t decode_errors() noexcept;

}  // namespace baggage
}  // namespace pivot
