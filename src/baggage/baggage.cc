// pivot::Baggage, the thread's current baggage, and every entry point that
// touches it (the public API in pivot/baggage.h and PACK/UNPACK in bag.h).
// The thread-local lives here alone so that every access to it compiles to
// a plain TLS load, with no init-guard wrapper call.
#include "pivot/baggage.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <new>

#include "baggage/bag.h"
#include "baggage/bag_data.h"
#include "baggage/pack.h"
#include "baggage/w3c_header.h"
#include "baggage/wire.h"

namespace pivot {

namespace {

using internal::BagAccess;
using internal::BagData;
using internal::BagPtr;

// The current baggage: a raw pointer, so the thread_local is trivially
// destructible and constant-initialised, and reading it costs one TLS load.
// Reaper frees it at thread exit; it is touched only when a thread first
// gets a non-empty baggage, since touching it costs an init-guard check.
constinit thread_local BagData* t_current = nullptr;
constinit thread_local bool t_reaper_armed = false;
constinit thread_local bool t_thread_exiting = false;

struct Reaper {
  bool armed = false;
  ~Reaper() {
    if (!armed) return;
    internal::free_bag_data(t_current);
    t_current = nullptr;
    // Later thread-exit code that installs a baggage must free it at once.
    t_reaper_armed = false;
    t_thread_exiting = true;
  }
};
thread_local Reaper t_reaper;

std::atomic<size_t> g_byte_cap{internal::kDefaultByteCap};
std::atomic<uint64_t> g_decode_errors{0};

size_t cap() noexcept { return g_byte_cap.load(std::memory_order_relaxed); }

[[gnu::noinline, gnu::cold]] void arm_reaper() noexcept {
  t_reaper_armed = true;
  t_reaper.armed = true;
}

// Makes d (owned) the current baggage; returns the previous one (owned).
BagData* set_current(BagData* d) noexcept {
  BagData* old = t_current;
  if (d != nullptr) [[likely]] {
    if (!t_reaper_armed) [[unlikely]] {
      if (t_thread_exiting) {
        // The thread's destructors are running and nothing would free it.
        internal::free_bag_data(d);
        d = nullptr;
      } else {
        arm_reaper();
      }
    }
  }
  t_current = d;
  return old;
}

// An empty BagData is never current or held: it is the null pointer.
void normalize_current() noexcept {
  BagData* d = t_current;
  if (d != nullptr && d->empty()) {
    t_current = nullptr;
    internal::BagDataDeleter()(d);
  }
}

Baggage adopt(BagData* d) noexcept { return BagAccess::make(BagPtr(d)); }

// The current baggage made the thread's own, to change in place: copied if
// other Baggage hold it too (internal::own). Null if there is none, or no
// memory for the copy.
BagData* own_current() noexcept {
  if (t_current == nullptr) return nullptr;
  BagPtr p(t_current);
  try {
    internal::own(p);
  } catch (...) {
    p.release();  // still current
    return nullptr;
  }
  t_current = p.release();
  return t_current;
}

// fork() branches the execution of the thread that calls it, as
// baggage::fork() does a task's: its tuples are marked shared before the
// copy, so that the parent and the child each pack anew instead of both
// aggregating into one entry, which a join of their baggage would then
// count once.
void share_before_fork() noexcept {
  // Held by other Baggage too, the current one is first made the thread's
  // own: they go on in the parent, and the child has them too.
  if (BagData* d = own_current()) internal::mark_shared(*d);
}
[[maybe_unused]] const int g_fork_handler = pthread_atfork(share_before_fork, nullptr, nullptr);

}  // namespace

Baggage::Baggage(const Baggage& other) {
  if (other.data_ != nullptr) data_.reset(internal::share(other.data_.get()));
}

Baggage& Baggage::operator=(const Baggage& other) {
  if (this != &other) {
    Baggage copy(other);
    data_ = std::move(copy.data_);
  }
  return *this;
}

Baggage::~Baggage() = default;

bool Baggage::empty() const noexcept { return data_ == nullptr; }
bool Baggage::overflowed() const noexcept { return data_ != nullptr && data_->overflow; }
size_t Baggage::byte_size() const noexcept { return data_ == nullptr ? 0 : data_->bytes(); }

namespace baggage {

namespace {

// The encodings of d (null: empty) into `out`, which is "" on failure: an
// encoding that cannot be built is not sent, and the host never sees the
// exception.
void text_into(const BagData* d, std::string& out) noexcept {
  out.clear();
  if (d == nullptr) return;
  try {
    if (const internal::KeptEncoding* kept = internal::kept_encoding(*d)) {
      base64url_encode(kept->view(), out);
    } else {
      internal::write_text(*d, out);
    }
  } catch (...) {
    out.clear();
  }
}

void binary_into(const BagData* d, std::string& out) noexcept {
  out.clear();
  if (d == nullptr) return;
  try {
    if (const internal::KeptEncoding* kept = internal::kept_encoding(*d)) {
      out.assign(kept->view());
    } else {
      internal::write_binary(*d, out);
    }
  } catch (...) {
    out.clear();
  }
}

// The current baggage, its tuples marked as sent: the receiver holds a copy.
// Held by other Baggage too, it is left as it is (see fork()).
const BagData* current_for_sending() noexcept {
  BagData* d = t_current;
  if (d != nullptr && internal::sole_holder(*d)) internal::mark_shared(*d);
  return d;
}

}  // namespace

std::string encode() {
  std::string out;
  text_into(current_for_sending(), out);
  return out;
}

std::string encode(const Baggage& b) {
  std::string out;
  text_into(BagAccess::get(b), out);
  return out;
}

std::string encode_binary() {
  std::string out;
  binary_into(current_for_sending(), out);
  return out;
}

std::string encode_binary(const Baggage& b) {
  std::string out;
  binary_into(BagAccess::get(b), out);
  return out;
}

void encode_into(std::string& out) noexcept { text_into(current_for_sending(), out); }
void encode_into(const Baggage& b, std::string& out) noexcept { text_into(BagAccess::get(b), out); }
void encode_binary_into(std::string& out) noexcept { binary_into(current_for_sending(), out); }
void encode_binary_into(const Baggage& b, std::string& out) noexcept { binary_into(BagAccess::get(b), out); }

Result<Baggage> try_decode(std::string_view text) {
  try {
    Baggage b;
    Error error;
    if (!internal::read_text(text, cap(), BagAccess::data(b), &error)) return error;
    return b;
  } catch (...) {
    return Error("baggage: out of memory");
  }
}

Baggage decode(std::string_view text) noexcept {
  Baggage b;
  try {
    if (internal::read_text(text, cap(), BagAccess::data(b), nullptr)) return b;
    g_decode_errors.fetch_add(1, std::memory_order_relaxed);
  } catch (...) {
  }
  return Baggage();
}

Result<Baggage> decode_binary(std::string_view bytes) {
  try {
    Baggage b;
    Error error;
    if (!internal::read_binary(bytes, cap(), BagAccess::data(b), &error)) return error;
    return b;
  } catch (...) {
    return Error("baggage: out of memory");
  }
}

Baggage fork() {
  BagData* d = t_current;
  if (d == nullptr) return Baggage();
  // The branch shares d. Its tuples become shared, so that neither side
  // aggregates into them in place. When other Baggage hold d already, it is
  // left as it is: whichever holder changes it first changes a copy whose
  // tuples are all shared (internal::own), so at most one holder, the
  // last, ever aggregates into them, and a join keeps its copy.
  if (internal::sole_holder(*d)) internal::mark_shared(*d);
  return adopt(internal::share(d));
}

void join(Baggage&& branch) {
  BagPtr& b = BagAccess::data(branch);
  if (b == nullptr) return;
  BagData* d = t_current;
  if (d == nullptr) {
    if (b->bytes() > cap()) {
      try {
        internal::shrink_to_cap(internal::own(b), cap());
      } catch (...) {
        if (!internal::sole_holder(*b)) return;  // no memory for a copy: the branch is lost
        // Cannot even choose what to drop: keep only the overflow mark.
        b->entries.clear();
        b->arena.clear();
        b->garbage = 0;
        internal::recount(*b);
        b->overflow = true;
      }
    }
    set_current(b.release());
    return;
  }
  if (b.get() == d) return;  // the same tuples: nothing to add
  d = own_current();
  if (d == nullptr) return;  // no memory for a copy: the branch is lost
  try {
    internal::merge(*d, *b, cap());
  } catch (...) {
    d->overflow = true;  // the branch's tuples are lost; say so
  }
  b.reset();
  normalize_current();
}

Baggage take() noexcept { return adopt(set_current(nullptr)); }

Baggage exchange(Baggage&& b) noexcept {
  BagData* incoming = BagAccess::data(b).release();
  if (incoming != nullptr && incoming->empty()) {
    internal::BagDataDeleter()(incoming);
    incoming = nullptr;
  }
  return adopt(set_current(incoming));
}

void set_byte_cap(size_t bytes) noexcept {
  g_byte_cap.store(std::min(bytes, internal::kMaxBinaryBytes), std::memory_order_relaxed);
}

size_t byte_cap() noexcept { return cap(); }

uint64_t decode_errors() noexcept { return g_decode_errors.load(std::memory_order_relaxed); }

}  // namespace baggage

namespace internal {

void count_decode_error() noexcept { g_decode_errors.fetch_add(1, std::memory_order_relaxed); }

void bag_pack(const BagSpec& spec, std::span<const Value> tuple) noexcept {
  if (t_current == nullptr) {
    if (keep_count(spec) == 0) return;
    try {
      set_current(make_bag_data().release());
    } catch (...) {
      return;
    }
  }
  BagData* d = own_current();
  if (d == nullptr) return;  // none (the thread is exiting), or no memory for a copy: the tuple is lost
  try {
    pack(*d, spec, tuple, cap());
  } catch (...) {
    d->overflow = true;  // the tuple is lost; say so
  }
  normalize_current();
}

bool bag_unpack(const BagSpec& spec, std::vector<Tuple>& out, bool* overflowed) noexcept {
  const BagData* d = t_current;
  if (overflowed != nullptr) *overflowed = d != nullptr && d->overflow;
  if (d == nullptr) {
    out.clear();
    return false;
  }
  try {
    return unpack(*d, spec, out);
  } catch (...) {
    out.clear();
    return false;
  }
}

}  // namespace internal
}  // namespace pivot
