// PACK/UNPACK modes on the current baggage (bag.h).
#include "baggage/pack.h"

#include <gtest/gtest.h>

#include "baggage/test_util.h"

namespace pivot::internal {
namespace {

using testing::aggregate_spec;
using testing::BaggageTest;
using testing::expect_current_valid;
using testing::pack;
using testing::spec;
using testing::unpacked;
using testing::unpacked_sorted;

using PackTest = BaggageTest;

TEST_F(PackTest, AbsentBagUnpacksNothing) {
  std::vector<Tuple> out = {{Value(1)}};
  bool overflowed = true;
  EXPECT_FALSE(bag_unpack(spec(1), out, &overflowed));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(overflowed);
  pack(spec(1), {1});
  EXPECT_FALSE(bag_unpack(spec(2), out, &overflowed));
  EXPECT_TRUE(out.empty());
}

TEST_F(PackTest, AllKeepsEveryTupleInPackOrder) {
  for (int i = 1; i <= 5; ++i) pack(spec(1), {i, "x" + std::to_string(i)});
  EXPECT_EQ(unpacked(spec(1)), R"([1,"x1"] [2,"x2"] [3,"x3"] [4,"x4"] [5,"x5"])");
  expect_current_valid();
}

TEST_F(PackTest, BagsAreSeparate) {
  pack(spec(2), {"b"});
  pack(spec(1), {"a"});
  pack(spec(2), {"bb"});
  EXPECT_EQ(unpacked(spec(1)), R"(["a"])");
  EXPECT_EQ(unpacked(spec(2)), R"(["b"] ["bb"])");
  expect_current_valid();
}

TEST_F(PackTest, FirstKeepsTheEarliest) {
  for (int i = 1; i <= 4; ++i) pack(spec(1, PackMode::kFirst), {i});
  EXPECT_EQ(unpacked(spec(1, PackMode::kFirst)), "[1]");
  Baggage b = baggage::take();
  EXPECT_EQ(BagAccess::get(b)->entries.size(), 1u) << "later tuples are dropped at pack";
}

TEST_F(PackTest, FirstNKeepsTheNEarliest) {
  for (int i = 1; i <= 6; ++i) pack(spec(1, PackMode::kFirstN, 3), {i});
  EXPECT_EQ(unpacked(spec(1, PackMode::kFirstN, 3)), "[1] [2] [3]");
  EXPECT_EQ(unpacked(spec(1, PackMode::kFirstN, 2)), "[1] [2]");
  expect_current_valid();
}

TEST_F(PackTest, MostRecentKeepsTheLatest) {
  for (int i = 1; i <= 4; ++i) pack(spec(1, PackMode::kMostRecent), {i});
  EXPECT_EQ(unpacked(spec(1, PackMode::kMostRecent)), "[4]");
  Baggage b = baggage::take();
  EXPECT_EQ(BagAccess::get(b)->entries.size(), 1u) << "older unshared tuples are evicted at pack";
  testing::expect_valid(b);
}

TEST_F(PackTest, MostRecentNKeepsTheNLatest) {
  for (int i = 1; i <= 7; ++i) pack(spec(1, PackMode::kMostRecentN, 3), {i});
  EXPECT_EQ(unpacked(spec(1, PackMode::kMostRecentN, 3)), "[5] [6] [7]");
  EXPECT_EQ(unpacked(spec(1, PackMode::kMostRecentN, 1)), "[7]");
  expect_current_valid();
}

TEST_F(PackTest, ZeroNKeepsNothing) {
  pack(spec(1, PackMode::kFirstN, 0), {1});
  pack(spec(1, PackMode::kMostRecentN, 0), {1});
  EXPECT_TRUE(baggage::take().empty());
}

TEST_F(PackTest, MostRecentEvictsWhatCanNeverBeSelectedEvenIfShared) {
  BagSpec s = spec(1, PackMode::kMostRecentN, 2);
  pack(s, {1});
  pack(s, {2});
  Baggage branch = baggage::fork();  // 1 and 2 are shared now
  pack(s, {3});
  pack(s, {4});
  pack(s, {5});
  EXPECT_EQ(unpacked(s), "[4] [5]");
  EXPECT_EQ(BagAccess::get(branch)->entries.size(), 2u) << "the branch keeps its copies";
  // The branch's copies come back in the join, and are still beaten.
  baggage::join(std::move(branch));
  EXPECT_EQ(unpacked(s), "[4] [5]");
  pack(s, {6});
  EXPECT_EQ(unpacked(s), "[5] [6]");
  Baggage b = baggage::take();
  EXPECT_EQ(BagAccess::get(b)->entries.size(), 2u) << "bounded however often the baggage is forked";
  testing::expect_valid(b);
}

TEST_F(PackTest, MostRecentStaysBoundedAcrossRepeatedSends) {
  BagSpec s = spec(1, PackMode::kMostRecent);
  for (int i = 0; i < 1000; ++i) {
    pack(s, {i});
    (void)baggage::encode();  // every RPC marks the entries shared
  }
  EXPECT_EQ(unpacked(s), "[999]");
  Baggage b = baggage::take();
  EXPECT_FALSE(b.overflowed());
  EXPECT_EQ(BagAccess::get(b)->entries.size(), 1u);
}

TEST_F(PackTest, MostRecentReplacesItsOneEntryInPlace) {
  BagSpec s = spec(1, PackMode::kMostRecent);
  pack(s, {"a longer first value"});
  pack(spec(2), {1});                // after it in the arena
  Baggage branch = baggage::fork();  // holds its own copy of the arena
  const size_t arena = BagAccess::get(branch)->arena.size();
  pack(s, {"short"});  // fits where the first value was
  EXPECT_EQ(unpacked(s), "[\"short\"]");
  pack(s, {7});
  EXPECT_EQ(unpacked(s), "[7]");
  {
    Baggage b = baggage::take();
    const BagData* d = BagAccess::get(b);
    EXPECT_EQ(d->arena.size(), arena) << "the arena did not grow";
    EXPECT_EQ(d->garbage, value_size(Value("a longer first value")) - value_size(Value(7)));
    EXPECT_EQ(d->entries.size(), 2u);
    testing::expect_valid(b);
    (void)baggage::exchange(std::move(b));
  }
  {
    baggage::Scope scope(std::move(branch));
    EXPECT_EQ(unpacked(s), "[\"a longer first value\"]") << "the branch keeps the value it was forked with";
  }
  // A value larger than the slot goes to the end of the arena instead...
  pack(s, {"a value longer than any before it"});
  EXPECT_EQ(unpacked(s), "[\"a value longer than any before it\"]");
  expect_current_valid();
  // ...where the next one, longer or shorter, takes its place.
  {
    Baggage b = baggage::take();
    const size_t offset = BagAccess::get(b)->entries[0].offset;
    (void)baggage::exchange(std::move(b));
    pack(s, {"longer still: the arena grows by the difference only"});
    pack(s, {8});
    b = baggage::take();
    const BagData* d = BagAccess::get(b);
    EXPECT_EQ(d->entries[0].offset, offset);
    EXPECT_EQ(d->arena.size(), offset + value_size(Value(8)));
    testing::expect_valid(b);
    (void)baggage::exchange(std::move(b));
  }
  EXPECT_EQ(unpacked(s), "[8]");
  pack(s, {"a value longer than any before it"});
  // Encoded and decoded, the replaced entry reads as a fresh one would.
  baggage::Scope scope(baggage::decode(baggage::encode()));
  EXPECT_EQ(unpacked(s), "[\"a value longer than any before it\"]");
  expect_current_valid();
}

TEST_F(PackTest, FirstAfterForkSelectsByLamportOrder) {
  BagSpec s = spec(1, PackMode::kFirst);
  Baggage branch = baggage::fork();  // empty: both sides start fresh
  pack(s, {"parent"});
  {
    baggage::Scope scope(std::move(branch));
    pack(s, {"child-1"});
    pack(s, {"child-2"});  // dropped: child-1 is earlier
    branch = baggage::take();
  }
  baggage::join(std::move(branch));
  // Both have seq 1; the entry ids break the tie, the same way everywhere.
  std::vector<Tuple> out;
  ASSERT_TRUE(bag_unpack(s, out, nullptr));
  ASSERT_EQ(out.size(), 1u);
  Baggage b = baggage::take();
  const BagData* d = BagAccess::get(b);
  ASSERT_EQ(d->entries.size(), 2u);
  const Entry* lowest = &d->entries[0];
  for (const Entry& e : d->entries) {
    EXPECT_EQ(e.seq, 1u);
    if (e.id < lowest->id) lowest = &e;
  }
  Value v;
  ByteReader r(d->values(*lowest));
  ASSERT_TRUE(r.value(v));
  EXPECT_EQ(out[0][0], v);
}

TEST_F(PackTest, EveryValueTypeRoundTripsThroughPack) {
  pack(spec(1), {Value(), true, false, int64_t{-9007199254740993}, 2.5, "", std::string(300, 'z')});
  std::vector<Tuple> out;
  ASSERT_TRUE(bag_unpack(spec(1), out, nullptr));
  ASSERT_EQ(out.size(), 1u);
  const Tuple& t = out[0];
  ASSERT_EQ(t.size(), 7u);
  EXPECT_TRUE(t[0].is_null());
  EXPECT_EQ(t[1].as_bool(), true);
  EXPECT_EQ(t[2].as_bool(), false);
  EXPECT_EQ(t[3].as_int(), -9007199254740993);
  EXPECT_EQ(t[4].as_double(), 2.5);
  EXPECT_EQ(t[5].as_string(), "");
  EXPECT_EQ(t[6].as_string(), std::string(300, 'z'));
}

TEST_F(PackTest, AggregateSumsPerKey) {
  BagSpec s = aggregate_spec(1, 1, {Combine::kSum, Combine::kSum});
  pack(s, {"a", 1, 1.5});
  pack(s, {"b", 10, 1});
  pack(s, {"a", 2, 1});
  pack(s, {"a", 3, Value()});
  EXPECT_EQ(unpacked(s), R"(["a",6,2.5] ["b",10,1])");
  Baggage b = baggage::take();
  EXPECT_EQ(BagAccess::get(b)->entries.size(), 2u) << "combined in place";
  testing::expect_valid(b);
}

TEST_F(PackTest, AggregateSumStaysIntUntilOverflow) {
  BagSpec s = aggregate_spec(1, 0, {Combine::kSum});
  pack(s, {int64_t{9223372036854775807}});
  pack(s, {1});
  EXPECT_EQ(unpacked(s), "[9223372036854775808.0]");
}

TEST_F(PackTest, AggregateMinMaxByCompare) {
  BagSpec s = aggregate_spec(1, 1, {Combine::kMin, Combine::kMax});
  pack(s, {"k", 5, "m"});
  pack(s, {"k", 2.5, "z"});
  pack(s, {"k", Value(), "a"});
  pack(s, {"k", 7, Value()});
  EXPECT_EQ(unpacked(s), R"(["k",2.5,"z"])");
}

TEST_F(PackTest, AggregateKeyComparesIntAndDoubleByValue) {
  BagSpec s = aggregate_spec(1, 1, {Combine::kSum});
  pack(s, {3, 1});
  pack(s, {3.0, 1});
  pack(s, {"3", 1});
  EXPECT_EQ(unpacked(s), R"([3,2] ["3",1])");
}

TEST_F(PackTest, AggregateNeverChangesSharedEntries) {
  BagSpec s = aggregate_spec(1, 1, {Combine::kSum});
  pack(s, {"a", 1});
  Baggage branch = baggage::fork();
  pack(s, {"a", 2});  // the first entry is shared: a new one
  pack(s, {"a", 4});  // combined into the new one
  EXPECT_EQ(unpacked(s), R"(["a",7])");
  Baggage b = baggage::take();
  ASSERT_EQ(BagAccess::get(b)->entries.size(), 2u);
  testing::expect_valid(b);
  // The branch still sees its own copy unchanged.
  baggage::Scope scope(std::move(branch));
  EXPECT_EQ(unpacked(s), R"(["a",1])");
}

TEST_F(PackTest, AggregateGrowingValueMovesInArena) {
  BagSpec s = aggregate_spec(1, 1, {Combine::kMax});
  pack(s, {"k", "a"});
  for (int i = 1; i <= 50; ++i) pack(s, {"k", std::string(i, 'b')});
  EXPECT_EQ(unpacked(s), "[\"k\",\"" + std::string(50, 'b') + "\"]");
  Baggage b = baggage::take();
  testing::expect_valid(b);
  EXPECT_LT(BagAccess::get(b)->arena.size(), 200u) << "garbage is compacted";
}

TEST_F(PackTest, AggregateManyKeysUsesHashedGrouping) {
  BagSpec s = aggregate_spec(1, 1, {Combine::kSum});
  for (int round = 0; round < 2; ++round) {
    for (int k = 0; k < 40; ++k) pack(s, {k, 1});
    if (round == 0) (void)baggage::fork();  // forces new entries in round 2
  }
  std::vector<Tuple> out;
  ASSERT_TRUE(bag_unpack(s, out, nullptr));
  ASSERT_EQ(out.size(), 40u);
  for (int k = 0; k < 40; ++k) {
    EXPECT_EQ(out[k][0], Value(k));
    EXPECT_EQ(out[k][1], Value(2));
  }
}

TEST_F(PackTest, UnpackReusesTheOutputVector) {
  pack(spec(1), {"a"});
  pack(spec(1), {"b"});
  std::vector<Tuple> out = {{1, 2, 3}, {4}, {5}};
  ASSERT_TRUE(bag_unpack(spec(1), out, nullptr));
  EXPECT_EQ(testing::str(out), R"(["a"] ["b"])");
}

TEST(Combine, NullIsTheIdentity) {
  Value acc;
  combine_into(Combine::kSum, acc, Value(3));
  EXPECT_EQ(acc, Value(3));
  combine_into(Combine::kSum, acc, Value());
  EXPECT_EQ(acc, Value(3));
  EXPECT_TRUE(acc.is_int());
  combine_into(Combine::kSum, acc, Value(0.5));
  EXPECT_TRUE(acc.is_double());
  EXPECT_EQ(acc, Value(3.5));
}

TEST(KeepCount, FirstAndMostRecentMeanOne) {
  EXPECT_EQ(keep_count(testing::spec(1, PackMode::kFirst, 9)), 1u);
  EXPECT_EQ(keep_count(testing::spec(1, PackMode::kMostRecent, 9)), 1u);
  EXPECT_EQ(keep_count(testing::spec(1, PackMode::kFirstN, 9)), 9u);
}

}  // namespace
}  // namespace pivot::internal
