// Feeds arbitrary bytes as a W3C `baggage` header to extract and inject.
// extract_header and try_extract_header must agree, count errors and never
// crash; inject_header must keep every other member byte for byte and in
// order, stay within the W3C limits whenever it adds pivot's member, send
// what extract reads back, and change nothing when run again.
//
//   cmake --preset fuzz && cmake --build --preset fuzz --target w3c_baggage_fuzzer
//   ./build/fuzz/fuzz/w3c_baggage_fuzzer -max_total_time=60 fuzz/corpus/w3c_baggage
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "baggage/bag.h"
#include "baggage/w3c_header.h"
#include "pivot/baggage.h"

namespace {

using pivot::Baggage;
using pivot::Result;
namespace baggage = pivot::baggage;
namespace internal = pivot::internal;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "w3c_baggage_fuzzer: %s\n", what);
    std::abort();
  }
}

// The header's members that are not pivot's, as the scanner sees them.
std::vector<std::string_view> others(std::string_view header, size_t* pivot_members) {
  std::vector<std::string_view> out;
  *pivot_members = 0;
  size_t pos = 0;
  internal::HeaderMember m;
  while (internal::next_member(header, pos, m)) {
    if (m.key == baggage::kMemberKey)
      ++*pivot_members;
    else
      out.push_back(m.text);
  }
  return out;
}

void check_extract(std::string_view header) {
  Result<Baggage> strict = baggage::try_extract_header(header);
  uint64_t errors = baggage::decode_errors();
  Baggage lenient = baggage::extract_header(header);
  check(baggage::decode_errors() == errors + (strict ? 0 : 1), "decode_errors() miscounted");
  if (strict) {
    check(baggage::encode(*strict) == baggage::encode(lenient), "extract and try_extract differ");
  } else {
    check(lenient.empty(), "a bad pivot member gave a baggage");
    check(strict.error().message().rfind("baggage", 0) == 0, "error without the baggage prefix");
  }
}

// A current baggage of one of three sizes: none, small, past the cap.
void make_current(uint8_t selector) {
  (void)baggage::take();
  internal::BagSpec spec;
  spec.bag_id = 7;
  int tuples = selector % 3 == 0 ? 0 : selector % 3 == 1 ? 1 : 200;
  for (int i = 0; i < tuples; ++i) {
    const pivot::Value t[] = {pivot::Value(int64_t{i}), pivot::Value(std::string(30, 'x'))};
    internal::bag_pack(spec, t);
  }
}

void check_inject(std::string_view header, uint8_t selector) {
  make_current(selector);
  Baggage current = baggage::fork();
  bool complete = false;
  std::string out = baggage::inject_header(header, &complete);

  size_t in_pivots = 0, out_pivots = 0;
  std::vector<std::string_view> before = others(header, &in_pivots);
  std::vector<std::string_view> after = others(out, &out_pivots);
  if (current.empty() && in_pivots == 0) {
    check(out == header, "a header without pivot's member changed with nothing to send");
    return;
  }
  check(before == after, "another member changed, moved or vanished");
  check(out_pivots <= 1, "more than one pivot member");
  if (out_pivots == 1) {
    check(out.size() <= internal::kW3cMaxHeaderBytes, "pivot's member pushed the header past 8192 bytes");
    check(after.size() + 1 <= internal::kW3cMaxMembers, "pivot's member pushed the header past 180 members");
    Result<Baggage> sent = baggage::try_extract_header(out);
    check(static_cast<bool>(sent), "pivot's own member does not extract");
    if (complete) {
      check(baggage::encode(*sent) == baggage::encode(current), "a complete member differs from the baggage");
    } else {
      check(sent->overflowed(), "a shrunk member is not marked overflowed");
    }
  } else {
    check(current.empty() || !complete, "pivot's member was left out yet called complete");
  }
  check(baggage::inject_header(out) == out, "injecting again changed the header");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view header(reinterpret_cast<const char*>(data), size);
  uint8_t selector = size > 0 ? data[0] : 0;
  check_extract(header);
  check_inject(header, selector);
  (void)baggage::take();
  return 0;
}
