// Feeds arbitrary bytes to the baggage decoders, as text (try_decode,
// decode) and as binary (decode_binary). Whatever decodes must re-encode to
// a stable form, report its exact size, respect the cap, and survive being
// joined, forked, packed into and unpacked, with every invariant intact.
//
//   cmake --preset fuzz && cmake --build --preset fuzz --target baggage_decoder_fuzzer
//   ./build/fuzz/fuzz/baggage_decoder_fuzzer -max_total_time=60 fuzz/corpus/baggage_decoder
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "baggage/bag.h"
#include "baggage/bag_data.h"
#include "pivot/baggage.h"

namespace {

using pivot::Baggage;
using pivot::Result;
namespace baggage = pivot::baggage;
namespace internal = pivot::internal;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "baggage_decoder_fuzzer: %s\n", what);
    std::abort();
  }
}

void check_valid(const Baggage& b) {
  const internal::BagData* d = internal::BagAccess::get(b);
  if (d == nullptr) return;
  check(!d->empty(), "an empty BagData is held instead of null");
  std::string problem = internal::check_invariants(*d);
  if (!problem.empty()) {
    std::fprintf(stderr, "invariant: %s (entries %zu, arena %zu, garbage %zu, off %u size %u)\n",
                 problem.c_str(), d->entries.size(), d->arena.size(), d->garbage,
                 d->entries.empty() ? 0 : d->entries[0].offset, d->entries.empty() ? 0 : d->entries[0].size);
    std::abort();
  }
  check(baggage::encode_binary(b).size() == b.byte_size(), "byte_size() differs from the encoding");
}

// Encoding what decoded gives bytes that decode to the same encoding.
void check_round_trip(const Baggage& b) {
  check_valid(b);
  check(b.byte_size() <= baggage::byte_cap(), "over the cap");
  std::string bytes = baggage::encode_binary(b);
  Result<Baggage> again = baggage::decode_binary(bytes);
  check(static_cast<bool>(again), "re-encoded bytes do not decode");
  check(baggage::encode_binary(*again) == bytes, "binary round trip is not stable");
  std::string text = baggage::encode(b);
  Result<Baggage> from_text = baggage::try_decode(text);
  check(static_cast<bool>(from_text), "re-encoded text does not decode");
  check(baggage::encode(*from_text) == text, "text round trip is not stable");
  check(b.overflowed() == again->overflowed(), "overflow mark lost");
}

// Uses a decoded baggage the way advice and RPC code would.
void exercise(Baggage b, uint8_t selector) {
  std::vector<uint64_t> bag_ids;
  if (const internal::BagData* d = internal::BagAccess::get(b)) {
    for (const internal::Entry& e : d->entries) {
      if (bag_ids.empty() || bag_ids.back() != e.bag_id) bag_ids.push_back(e.bag_id);
    }
  }
  internal::BagSpec spec;
  spec.mode = static_cast<internal::PackMode>(selector % 6);
  spec.n = selector % 3;
  spec.keys = selector % 2;
  spec.combine = {internal::Combine::kSum, internal::Combine::kMax};

  // Join it into a baggage that has some tuples of its own.
  baggage::Scope scope{Baggage{}};
  const pivot::Value mine[] = {pivot::Value(int64_t{selector}), pivot::Value("mine")};
  spec.bag_id = bag_ids.empty() ? 1 : bag_ids.front();
  internal::bag_pack(spec, mine);
  Baggage branch = baggage::fork();
  baggage::join(std::move(b));
  baggage::join(std::move(branch));
  std::vector<internal::Tuple> out;
  bool overflowed = false;
  for (uint64_t id : bag_ids) {
    spec.bag_id = id;
    internal::bag_unpack(spec, out, &overflowed);
    internal::bag_pack(spec, mine);
  }
  Baggage result = baggage::take();
  check_round_trip(result);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool once = [] {
    baggage::set_byte_cap(1024);  // small enough that truncation happens
    return true;
  }();
  (void)once;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  uint8_t selector = size > 0 ? data[size - 1] : 0;

  Result<Baggage> text = baggage::try_decode(input);
  uint64_t errors = baggage::decode_errors();
  Baggage lenient = baggage::decode(input);
  check(baggage::decode_errors() == errors + (text ? 0 : 1), "decode_errors() miscounted");
  check(text || text.error().message().rfind("baggage: ", 0) == 0, "error without the baggage: prefix");
  if (text) {
    check_round_trip(*text);
    check(baggage::encode_binary(*text) == baggage::encode_binary(lenient), "decode and try_decode differ");
    exercise(std::move(*text), selector);
  } else {
    check(lenient.empty(), "decode of bad input is not empty");
  }

  Result<Baggage> binary = baggage::decode_binary(input);
  if (binary) {
    check_round_trip(*binary);
    exercise(std::move(*binary), selector);
  } else {
    check(binary.error().message().rfind("baggage: ", 0) == 0, "error without the baggage: prefix");
  }
  return 0;
}
