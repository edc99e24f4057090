// The public baggage API: fork/join, RPC round trips, the byte cap, Scope,
// wrap and threads.
#include "pivot/baggage.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "baggage/test_util.h"
#include "baggage/wire.h"

namespace pivot::internal {
namespace {

using testing::aggregate_spec;
using testing::BaggageTest;
using testing::expect_current_valid;
using testing::expect_valid;
using testing::pack;
using testing::spec;
using testing::unpacked;
using testing::unpacked_sorted;

using ForkJoinTest = BaggageTest;
using RpcTest = BaggageTest;
using CapTest = BaggageTest;
using CurrentTest = BaggageTest;

// Runs f with `b` current and returns the baggage as f left it.
template <class F>
Baggage run_in(Baggage b, F f) {
  baggage::Scope scope(std::move(b));
  f();
  return baggage::take();
}

TEST_F(CurrentTest, EmptyBaggage) {
  Baggage b;
  EXPECT_TRUE(b.empty());
  EXPECT_FALSE(b.overflowed());
  EXPECT_EQ(b.byte_size(), 0u);
  EXPECT_EQ(baggage::encode(), "");
  EXPECT_EQ(baggage::encode(b), "");
  EXPECT_EQ(baggage::encode_binary(b), "");
  EXPECT_EQ(baggage::encode_binary(), "");
  EXPECT_TRUE(baggage::fork().empty());
  EXPECT_TRUE(baggage::take().empty());
  EXPECT_TRUE(baggage::decode("").empty());
}

TEST_F(CurrentTest, ACopyIsAValueOfItsOwn) {
  pack(spec(1), {1});
  Baggage a = baggage::take();
  Baggage b = a;
  {
    baggage::Scope scope(std::move(a));
    pack(spec(1), {2});
    EXPECT_EQ(unpacked(spec(1)), "[1] [2]");
  }
  baggage::Scope scope(std::move(b));
  EXPECT_EQ(unpacked(spec(1)), "[1]");
}

TEST_F(CurrentTest, CopiesShareTheirTuplesUntilOneChanges) {
  pack(spec(1), {1});
  Baggage a = baggage::take();
  Baggage b = a;
  Baggage forked;
  {
    baggage::Scope scope{Baggage(a)};
    forked = baggage::fork();
  }
  EXPECT_EQ(BagAccess::get(b), BagAccess::get(a));
  EXPECT_EQ(BagAccess::get(forked), BagAccess::get(a));
  {
    baggage::Scope scope(std::move(b));
    pack(spec(1), {2});
    EXPECT_EQ(unpacked(spec(1)), "[1] [2]");
    b = baggage::take();
  }
  EXPECT_NE(BagAccess::get(b), BagAccess::get(a));
  EXPECT_EQ(BagAccess::get(forked), BagAccess::get(a));  // untouched by b's pack
  baggage::Scope scope(std::move(a));
  EXPECT_EQ(unpacked(spec(1)), "[1]");
}

TEST_F(CurrentTest, ScopeRestoresThePreviousBaggage) {
  pack(spec(1), {"outer"});
  {
    baggage::Scope s1(Baggage{});
    EXPECT_EQ(unpacked(spec(1)), "");
    pack(spec(1), {"inner"});
    {
      baggage::Scope s2(baggage::fork());
      EXPECT_EQ(unpacked(spec(1)), R"(["inner"])");
      pack(spec(1), {"innermost"});
    }
    EXPECT_EQ(unpacked(spec(1)), R"(["inner"])");
  }
  EXPECT_EQ(unpacked(spec(1)), R"(["outer"])");
}

TEST_F(CurrentTest, ExchangeAndTake) {
  pack(spec(1), {1});
  Baggage first = baggage::exchange(Baggage{});
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(unpacked(spec(1)), "");
  Baggage none = baggage::exchange(std::move(first));
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(unpacked(spec(1)), "[1]");
  Baggage taken = baggage::take();
  EXPECT_EQ(unpacked(spec(1)), "");
  EXPECT_EQ(taken.byte_size(), 14u);
}

TEST_F(CurrentTest, ThreadsHaveTheirOwnBaggage) {
  pack(spec(1), {"main"});
  std::string seen_in_thread;
  std::thread t([&] {
    seen_in_thread = unpacked(spec(1));
    pack(spec(1), {"thread"});  // freed at thread exit
  });
  t.join();
  EXPECT_EQ(seen_in_thread, "");
  EXPECT_EQ(unpacked(spec(1)), R"(["main"])");
}

// A thread_local whose destructor runs after the baggage's own clean-up
// and uses baggage: nothing may leak (LeakSanitizer checks in ASan builds).
struct UsesBaggageAtThreadExit {
  bool used = false;
  ~UsesBaggageAtThreadExit() {
    if (!used) return;
    pack(spec(1), {"at exit"});
    baggage::Scope scope(baggage::fork());
    pack(spec(1), {"in a scope at exit"});
  }
};

TEST_F(CurrentTest, BaggageUsedDuringThreadExitIsFreed) {
  std::thread t([] {
    static thread_local UsesBaggageAtThreadExit late;  // constructed first, destroyed last
    late.used = true;
    pack(spec(1), {"while running"});
  });
  t.join();
}

TEST_F(CurrentTest, WrapRunsUnderAForkOnAnotherThread) {
  pack(spec(1), {"before"});
  auto task = baggage::wrap([](int x) {
    std::string seen = unpacked(spec(1));
    pack(spec(1), {x});
    return seen + " then " + unpacked(spec(1));
  });
  pack(spec(1), {"after wrap"});  // not in the fork
  std::string result;
  std::thread t([&] { result = task(7); });
  t.join();
  EXPECT_EQ(result, R"(["before"] then ["before"] [7])");
  EXPECT_EQ(unpacked(spec(1)), R"(["before"] ["after wrap"])");
  // Each call starts from the fork again.
  EXPECT_EQ(task(8), R"(["before"] then ["before"] [8])");
}

// Copies of one baggage on several threads, each forking, wrapping,
// packing and joining at once (and under TSan, checked for races on the
// shared storage).
TEST_F(CurrentTest, CopiesOnManyThreadsShareSafely) {
  pack(spec(1), {"root"});
  Baggage root = baggage::take();
  std::vector<std::thread> threads;
  std::vector<std::string> results(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([i, b = Baggage(root), &results]() mutable {
      baggage::Scope scope(std::move(b));
      for (int j = 0; j < 200; ++j) {
        auto task = baggage::wrap([] { return unpacked(spec(1)); });
        if (task() != R"(["root"])") return;
        Baggage branch =
            run_in(baggage::fork(), [&] { pack(spec(2, PackMode::kMostRecent), {i * 1000 + j}); });
        baggage::join(std::move(branch));
      }
      results[i] = unpacked(spec(1)) + " " + unpacked(spec(2, PackMode::kMostRecent));
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(results[i], "[\"root\"] [" + std::to_string(i * 1000 + 199) + "]");
  baggage::Scope scope(std::move(root));
  EXPECT_EQ(unpacked(spec(1)), R"(["root"])");
  EXPECT_EQ(unpacked(spec(2)), "");
}

TEST_F(CurrentTest, ManyThreadsPackAndForkIndependently) {
  std::vector<std::thread> threads;
  std::vector<std::string> results(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([i, &results] {
      for (int j = 0; j < 200; ++j) {
        pack(spec(1, PackMode::kMostRecentN, 3), {i * 1000 + j});
        Baggage branch = baggage::fork();
        branch = run_in(std::move(branch), [&] { pack(spec(2, PackMode::kMostRecent), {j}); });
        baggage::join(std::move(branch));
        std::string text = baggage::encode();
        Baggage back = baggage::decode(text);
        EXPECT_EQ(baggage::encode(back), text);
      }
      results[i] = unpacked(spec(1, PackMode::kMostRecentN, 3));
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) {
    std::string b = std::to_string(i * 1000);
    EXPECT_EQ(results[i], "[" + std::to_string(i * 1000 + 197) + "] [" + std::to_string(i * 1000 + 198) +
                              "] [" + std::to_string(i * 1000 + 199) + "]");
  }
}

TEST_F(ForkJoinTest, JoinNeverDoubleCountsTuplesPackedBeforeTheFork) {
  pack(spec(1), {"before"});
  Baggage branch = baggage::fork();
  pack(spec(1), {"parent"});
  branch = run_in(std::move(branch), [] { pack(spec(1), {"child"}); });
  baggage::join(std::move(branch));
  EXPECT_EQ(unpacked_sorted(spec(1)), R"(["before"] ["child"] ["parent"])");
  expect_current_valid();
}

TEST_F(ForkJoinTest, JoinOrdersByLamportTime) {
  pack(spec(1), {1});  // seq 1
  Baggage branch = baggage::fork();
  branch = run_in(std::move(branch), [] {
    pack(spec(1), {2});  // seq 2
    pack(spec(1), {3});  // seq 3
  });
  baggage::join(std::move(branch));
  pack(spec(1), {4});  // seq 4: after everything joined
  EXPECT_EQ(unpacked(spec(1)), "[1] [2] [3] [4]");
  EXPECT_EQ(unpacked(spec(1, PackMode::kMostRecentN, 2)), "[3] [4]");
  EXPECT_EQ(unpacked(spec(1, PackMode::kFirst)), "[1]");
}

TEST_F(ForkJoinTest, AggregatesCombineAcrossBranchesWithoutDoubleCounting) {
  BagSpec s = aggregate_spec(1, 1, {Combine::kSum});
  pack(s, {"k", 1});
  Baggage b1 = baggage::fork();
  Baggage b2 = baggage::fork();
  pack(s, {"k", 10});
  b1 = run_in(std::move(b1), [&] { pack(s, {"k", 100}); });
  b2 = run_in(std::move(b2), [&] {
    pack(s, {"k", 1000});
    pack(s, {"j", 5});
  });
  baggage::join(std::move(b1));
  baggage::join(std::move(b2));
  EXPECT_EQ(unpacked(s), R"(["k",1111] ["j",5])");
  expect_current_valid();
}

// Plain copies share their storage, and only the last holder of it still
// aggregates into its entries in place: every other holder packs into a
// copy of its own whose entries are shared. So even copies made without
// fork() (which marks entries shared) count every pack once when joined.
TEST_F(ForkJoinTest, CopiesThatShareCountEveryPackOnce) {
  BagSpec s = aggregate_spec(1, 1, {Combine::kSum});
  pack(s, {"k", 1});
  Baggage a = baggage::take();
  Baggage b = a;
  Baggage c = b;
  a = run_in(std::move(a), [&] { pack(s, {"k", 10}); });
  c = run_in(std::move(c), [&] { pack(s, {"k", 100}); });
  b = run_in(std::move(b), [&] { pack(s, {"k", 1000}); });  // the last holder: in place
  baggage::join(std::move(a));
  baggage::join(std::move(b));
  baggage::join(std::move(c));
  EXPECT_EQ(unpacked(s), R"(["k",1111])");
  expect_current_valid();
}

// fork() of a baggage that other copies hold leaves it unmarked; the sides
// that pack copy it, and the join still counts each pack once.
TEST_F(ForkJoinTest, ForkOfABaggageOtherCopiesHold) {
  BagSpec s = aggregate_spec(1, 1, {Combine::kSum});
  pack(s, {"k", 1});
  Baggage kept = baggage::take();
  baggage::Scope scope(Baggage{kept});
  Baggage branch = run_in(baggage::fork(), [&] { pack(s, {"k", 100}); });
  pack(s, {"k", 10});
  baggage::join(std::move(branch));
  EXPECT_EQ(unpacked(s), R"(["k",111])");
  kept = run_in(std::move(kept), [&] { pack(s, {"k", 1000}); });  // now the last holder
  baggage::join(std::move(kept));
  EXPECT_EQ(unpacked(s), R"(["k",1111])");
  expect_current_valid();
}

TEST_F(ForkJoinTest, JoiningTheSameBranchTwiceCountsItOnce) {
  pack(spec(1), {1});
  Baggage branch = run_in(baggage::fork(), [] { pack(spec(1), {2}); });
  Baggage copy = branch;
  baggage::join(std::move(branch));
  baggage::join(std::move(copy));
  EXPECT_EQ(unpacked(spec(1)), "[1] [2]");
}

TEST_F(ForkJoinTest, NestedForks) {
  pack(spec(1), {"a"});
  Baggage b = run_in(baggage::fork(), [] {
    pack(spec(1), {"b"});
    Baggage c = run_in(baggage::fork(), [] {
      pack(spec(1), {"c"});
      Baggage d = run_in(baggage::fork(), [] { pack(spec(1), {"d"}); });
      baggage::join(std::move(d));
    });
    pack(spec(1), {"b2"});
    baggage::join(std::move(c));
  });
  Baggage e = run_in(baggage::fork(), [] { pack(spec(1), {"e"}); });
  baggage::join(std::move(e));
  baggage::join(std::move(b));
  EXPECT_EQ(unpacked_sorted(spec(1)), R"(["a"] ["b"] ["b2"] ["c"] ["d"] ["e"])");
  expect_current_valid();
}

TEST_F(ForkJoinTest, JoinIntoEmptyAdoptsTheBranch) {
  Baggage branch = run_in(Baggage{}, [] { pack(spec(1), {1}); });
  baggage::join(std::move(branch));
  EXPECT_EQ(unpacked(spec(1)), "[1]");
  baggage::join(Baggage{});
  EXPECT_EQ(unpacked(spec(1)), "[1]");
}

TEST_F(ForkJoinTest, JoinKeepsTheUnsharedCopyOfAnEntry) {
  // A branch that owns an entry (here: sent back with its owner's flag by
  // a peer that gave it up) wins over a stale shared copy.
  BagSpec s = aggregate_spec(1, 1, {Combine::kSum});
  pack(s, {"k", 1});
  Baggage owner = baggage::take();
  Baggage stale = owner;
  internal::mark_shared(*BagAccess::get(stale));
  owner = run_in(std::move(owner), [&] { pack(s, {"k", 2}); });  // in place: k = 3
  (void)baggage::exchange(std::move(stale));
  baggage::join(std::move(owner));
  EXPECT_EQ(unpacked(s), R"(["k",3])");
  expect_current_valid();
}

TEST_F(RpcTest, ResponseJoinedBackDoesNotDuplicateTheSendersTuples) {
  pack(spec(1), {"client"});
  std::string request = baggage::encode();  // sending counts as a fork
  pack(spec(1), {"client after send"});

  // The server.
  std::string response;
  {
    baggage::Scope scope(baggage::decode(request));
    EXPECT_EQ(unpacked(spec(1)), R"(["client"])");
    pack(spec(1), {"server"});
    response = baggage::encode();
  }

  baggage::join(baggage::decode(response));
  EXPECT_EQ(unpacked_sorted(spec(1)), R"(["client"] ["client after send"] ["server"])");
  expect_current_valid();
}

TEST_F(RpcTest, AggregatesSurviveARoundTrip) {
  BagSpec s = aggregate_spec(1, 1, {Combine::kSum});
  pack(s, {"k", 1});
  std::string request = baggage::encode();
  pack(s, {"k", 10});  // not into the sent entry: a new one
  std::string response;
  {
    baggage::Scope scope(baggage::decode(request));
    pack(s, {"k", 100});
    response = baggage::encode();
  }
  baggage::join(baggage::decode(response));
  EXPECT_EQ(unpacked(s), R"(["k",111])");
}

TEST_F(RpcTest, BinaryRoundTrip) {
  pack(spec(1), {"x"});
  std::string bytes = baggage::encode_binary();
  Result<Baggage> back = baggage::decode_binary(bytes);
  ASSERT_TRUE(back) << back.error().message();
  pack(spec(1), {"y"});
  baggage::join(std::move(*back));
  EXPECT_EQ(unpacked(spec(1)), R"(["x"] ["y"])");
}

// The encoding a baggage keeps between sends follows every change: each
// encode equals one made afresh from the tuples (in debug builds the kept
// copy is also checked on every use).
TEST_F(RpcTest, EncodingsFollowEveryChange) {
  auto fresh = [] {
    Baggage b = baggage::take();
    std::string out;
    if (const BagData* d = BagAccess::get(b)) write_binary(*d, out);
    (void)baggage::exchange(std::move(b));
    return out;
  };
  auto expect_fresh = [&](const char* after) {
    std::string want = fresh();
    EXPECT_EQ(baggage::encode_binary(), want) << after;
    EXPECT_EQ(baggage::encode_binary(), want) << after << ", sent again";
    std::string text;
    base64url_encode(want, text);
    EXPECT_EQ(baggage::encode(), text) << after;
  };
  pack(spec(1), {1});
  expect_fresh("a pack");
  pack(spec(1), {2});
  expect_fresh("a second pack");
  std::string sent = baggage::encode_binary();
  Result<Baggage> received = baggage::decode_binary(sent);
  ASSERT_TRUE(received);
  {
    baggage::Scope scope(std::move(*received));
    EXPECT_EQ(baggage::encode_binary(), sent);
    pack(spec(2), {"server"});
    expect_fresh("a pack into a decoded baggage");
  }
  Baggage branch = run_in(baggage::fork(), [] { pack(spec(1), {3}); });
  expect_fresh("a fork");
  baggage::join(std::move(branch));
  expect_fresh("a join");
  // Past what is kept inline (KeptEncoding::kCapacity): encoded each time.
  pack(spec(3), {std::string(200, 'x')});
  expect_fresh("a pack past the kept size");
  std::string big = baggage::encode();
  {
    Baggage got = baggage::decode(big);
    ASSERT_FALSE(got.empty());
    baggage::Scope scope(std::move(got));
    EXPECT_EQ(baggage::encode(), big);
  }
  (void)baggage::take();
  baggage::set_byte_cap(40);
  for (int i = 4; i <= 8; ++i) pack(spec(1), {i});
  expect_fresh("packs past the cap");
  Baggage whole = baggage::take();
  EXPECT_TRUE(whole.overflowed());
}

TEST_F(CapTest, PackPastTheCapIsDroppedAndMarked) {
  // 3 header bytes, 2 bag header bytes, 9 bytes per one-int entry (seq,
  // a 5-byte id, value count, value).
  baggage::set_byte_cap(40);
  for (int i = 1; i <= 5; ++i) pack(spec(1), {i});
  bool overflowed = false;
  EXPECT_EQ(unpacked(spec(1), &overflowed), "[1] [2] [3]");
  EXPECT_TRUE(overflowed);
  Baggage b = baggage::take();
  EXPECT_TRUE(b.overflowed());
  EXPECT_EQ(b.byte_size(), 32u);
  expect_valid(b);
}

TEST_F(CapTest, MostRecentEvictionMakesRoom) {
  baggage::set_byte_cap(50);
  for (int i = 1; i <= 10; ++i) pack(spec(1, PackMode::kMostRecentN, 3), {i});
  bool overflowed = true;
  EXPECT_EQ(unpacked(spec(1, PackMode::kMostRecentN, 3), &overflowed), "[8] [9] [10]");
  EXPECT_FALSE(overflowed);
}

TEST_F(CapTest, OverflowSurvivesEncodeDecodeForkAndJoin) {
  baggage::set_byte_cap(40);
  for (int i = 1; i <= 5; ++i) pack(spec(1), {i});
  Baggage decoded = baggage::decode(baggage::encode());
  EXPECT_TRUE(decoded.overflowed());
  EXPECT_TRUE(baggage::fork().overflowed());
  Baggage mine = baggage::take();
  pack(spec(2), {"fresh"});
  bool overflowed = true;
  unpacked(spec(2), &overflowed);
  EXPECT_FALSE(overflowed);
  baggage::join(std::move(decoded));
  unpacked(spec(2), &overflowed);
  EXPECT_TRUE(overflowed);
}

TEST_F(CapTest, OverflowedEmptyBaggageStillCarriesTheMark) {
  baggage::set_byte_cap(10);
  pack(spec(1), {"too big for ten bytes"});
  Baggage b = baggage::take();
  EXPECT_FALSE(b.empty());
  EXPECT_TRUE(b.overflowed());
  EXPECT_EQ(baggage::encode_binary(b), std::string("\x02\x01\x00", 3));
  EXPECT_EQ(baggage::encode(b), "AgEA");
  EXPECT_TRUE(baggage::decode("AgEA").overflowed());
  EXPECT_TRUE(baggage::decode("AQEA").overflowed());  // version 1
}

TEST_F(CapTest, JoinPastTheCapDropsTheBranchsLatestFirst) {
  pack(spec(1), {1});  // seq 1
  pack(spec(1), {2});  // seq 2
  Baggage branch = run_in(baggage::fork(), [] {
    pack(spec(1), {30});  // seq 3
    pack(spec(1), {40});  // seq 4
    pack(spec(1), {50});  // seq 5
  });
  pack(spec(1), {3});                // seq 3: local, kept even though later than 30
  baggage::set_byte_cap(5 + 9 * 4);  // room for 4 of the 6 distinct entries
  baggage::join(std::move(branch));
  bool overflowed = false;
  (void)unpacked(spec(1), &overflowed);
  EXPECT_TRUE(overflowed);
  EXPECT_EQ(unpacked_sorted(spec(1)), "[1] [2] [3] [30]");
  expect_current_valid();
}

TEST_F(CapTest, DecodeTruncatesToTheCapDeterministically) {
  for (int i = 1; i <= 6; ++i) pack(spec(1 + i % 2), {i});
  std::string text = baggage::encode();
  baggage::set_byte_cap(5 + 2 + 9 * 3);  // two bags, room for 3 entries
  Baggage b = baggage::decode(text);
  EXPECT_TRUE(b.overflowed());
  EXPECT_EQ(b.byte_size(), 5u + 2 + 9 * 3);
  expect_valid(b);
  baggage::Scope scope(std::move(b));
  EXPECT_EQ(unpacked(spec(1)), "[2]");
  EXPECT_EQ(unpacked(spec(2)), "[1] [3]");
}

TEST_F(CapTest, CapIsClampedToWhatCanBeDecoded) {
  baggage::set_byte_cap(size_t{1} << 40);
  EXPECT_EQ(baggage::byte_cap(), kMaxBinaryBytes);
  baggage::set_byte_cap(100);
  EXPECT_EQ(baggage::byte_cap(), 100u);
}

TEST_F(CapTest, LargestBaggageRoundTripsThroughText) {
  baggage::set_byte_cap(kMaxBinaryBytes);
  std::string big(1000, 'x');
  for (int i = 0; i < 100; ++i) pack(spec(1), {big});
  Baggage b = baggage::take();
  EXPECT_TRUE(b.overflowed());
  EXPECT_LE(b.byte_size(), kMaxBinaryBytes);
  std::string text = baggage::encode(b);
  EXPECT_LE(text.size(), kMaxTextBytes);
  Result<Baggage> back = baggage::try_decode(text);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->byte_size(), b.byte_size());
}

// docs/baggage.md, "Across an RPC", with a toy RPC layer around it.
struct Message {
  std::map<std::string, std::string> headers;
  std::string body;
};

Message serve(const Message& request) {
  pack(spec(1), {"server saw " + request.body});
  return Message{{}, "ok"};
}

Message server(const Message& request) {
  pivot::baggage::Scope scope(pivot::baggage::extract(request.headers));
  Message response = serve(request);
  pivot::baggage::inject(response.headers);
  return response;
}

TEST_F(RpcTest, DocsExampleRpcLayer) {
  pack(spec(1), {"client"});
  Message request{{{"baggage", "userId=alice, region=eu"}}, "GET /"};  // OpenTelemetry's members
  pivot::baggage::inject(request.headers);
  EXPECT_EQ(request.headers["baggage"].substr(0, 30), "userId=alice,region=eu,pivot=A");
  Message response = server(request);
  pivot::baggage::join(pivot::baggage::extract(response.headers));
  EXPECT_EQ(unpacked_sorted(spec(1)), R"(["client"] ["server saw GET /"])");
}

}  // namespace
}  // namespace pivot::internal
