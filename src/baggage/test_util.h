// Helpers shared by the baggage tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

#include "baggage/bag.h"
#include "baggage/bag_data.h"
#include "pivot/baggage.h"

namespace pivot::internal::testing {

inline BagSpec spec(uint64_t bag_id, PackMode mode = PackMode::kAll, uint32_t n = 0) {
  BagSpec s;
  s.bag_id = bag_id;
  s.mode = mode;
  s.n = n;
  return s;
}

inline BagSpec aggregate_spec(uint64_t bag_id, uint32_t keys, std::vector<Combine> combine) {
  BagSpec s = spec(bag_id, PackMode::kAggregate);
  s.keys = keys;
  s.combine = std::move(combine);
  return s;
}

inline void pack(const BagSpec& s, std::initializer_list<Value> values) {
  std::vector<Value> t(values);
  bag_pack(s, t);
}

// "[1,"a"] [2,"b"]"
inline std::string str(const std::vector<Tuple>& tuples) {
  std::string out;
  for (const Tuple& t : tuples) {
    if (!out.empty()) out += ' ';
    out += '[';
    for (size_t i = 0; i < t.size(); ++i) {
      if (i) out += ',';
      out += t[i].to_json();
    }
    out += ']';
  }
  return out;
}

// The visible tuples of a bag of the current baggage, as str() text.
inline std::string unpacked(const BagSpec& s, bool* overflowed = nullptr) {
  std::vector<Tuple> out;
  bag_unpack(s, out, overflowed);
  return str(out);
}

// The same, sorted, for tuples whose order depends on random entry ids
// (equal sequence numbers after a fork).
inline std::string unpacked_sorted(const BagSpec& s) {
  std::vector<Tuple> out;
  bag_unpack(s, out, nullptr);
  std::sort(out.begin(), out.end(), [](const Tuple& a, const Tuple& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  });
  return str(out);
}

// Checks a baggage's internal invariants, including that byte_size() is
// the size of its encoding.
inline void expect_valid(const Baggage& b) {
  const BagData* d = BagAccess::get(b);
  if (d == nullptr) {
    EXPECT_EQ(b.byte_size(), 0u);
    EXPECT_EQ(baggage::encode_binary(b), "");
    return;
  }
  EXPECT_FALSE(d->empty()) << "an empty BagData must be the null pointer";
  EXPECT_EQ(check_invariants(*d), "");
  EXPECT_EQ(baggage::encode_binary(b).size(), b.byte_size());
}

// Checks the current baggage without changing it (beyond nothing).
inline void expect_current_valid() {
  Baggage b = baggage::take();
  expect_valid(b);
  (void)baggage::exchange(std::move(b));
}

// Each test starts and ends with an empty current baggage and the default
// byte cap.
class BaggageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    (void)baggage::take();
    baggage::set_byte_cap(kDefaultByteCap);
  }
  void TearDown() override {
    (void)baggage::take();
    baggage::set_byte_cap(kDefaultByteCap);
  }
};

}  // namespace pivot::internal::testing
