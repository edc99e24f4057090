// Empty baggage allocates nothing. Counts allocations by replacing the
// global operator new for this test binary; only the counting thread's
// allocations between start() and stop() are counted.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <new>
#include <optional>
#include <thread>

#include "baggage/test_util.h"

// GCC sees the replaced new and delete inlined into each other and warns
// that malloc'd memory reaches free through operator delete, which is
// exactly what these replacements do.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {

constinit thread_local bool t_counting = false;
constinit thread_local long t_allocations = 0;

void* counted_alloc(std::size_t n) {
  if (t_counting) ++t_allocations;
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (t_counting) ++t_allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  if (t_counting) ++t_allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace pivot::internal {
namespace {

using testing::BaggageTest;
using testing::pack;
using testing::spec;

class AllocationCount {
 public:
  AllocationCount() {
    t_allocations = 0;
    t_counting = true;
  }
  ~AllocationCount() { t_counting = false; }
  long count() const { return t_allocations; }
};

using AllocTest = BaggageTest;

TEST_F(AllocTest, TheCounterCounts) {
  AllocationCount c;
  int* volatile p = new int(1);
  delete p;
  EXPECT_EQ(c.count(), 1);
}

TEST_F(AllocTest, EmptyBaggageAllocatesNothing) {
  std::vector<Tuple> out;
  bool overflowed = true;
  AllocationCount c;
  {
    Baggage b;
    Baggage moved = std::move(b);
    Baggage copied = moved;
    EXPECT_TRUE(copied.empty());
    EXPECT_EQ(baggage::encode(), "");
    EXPECT_EQ(baggage::encode(copied), "");
    EXPECT_EQ(baggage::encode_binary(), "");
    EXPECT_EQ(baggage::encode_binary(copied), "");
    EXPECT_TRUE(baggage::fork().empty());
    EXPECT_TRUE(baggage::take().empty());
    EXPECT_TRUE(baggage::decode("").empty());
    EXPECT_TRUE(baggage::decode("  \r\n").empty());
    baggage::join(Baggage{});
    baggage::Scope scope(Baggage{});
    EXPECT_FALSE(bag_unpack(spec(1), out, &overflowed));
    EXPECT_FALSE(overflowed);
    auto task = baggage::wrap([] { return 1; });
    EXPECT_EQ(task(), 1);
  }
  EXPECT_EQ(c.count(), 0);
}

TEST_F(AllocTest, PackThatKeepsNothingAllocatesNothing) {
  AllocationCount c;
  pack(spec(1, PackMode::kFirstN, 0), {});
  EXPECT_EQ(c.count(), 0);
}

TEST_F(AllocTest, RepeatedUnpackReusesTheOutput) {
  pack(spec(1), {"short", 1});
  pack(spec(1), {"strings", 2.5});
  std::vector<Tuple> out;
  ASSERT_TRUE(bag_unpack(spec(1), out, nullptr));
  AllocationCount c;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(bag_unpack(spec(1), out, nullptr));
  EXPECT_EQ(c.count(), 0);
}

TEST_F(AllocTest, EncodeMakesOneAllocation) {
  pack(spec(1), {"a tuple that does not fit in a small string"});
  AllocationCount c;
  std::string text = baggage::encode();
  EXPECT_EQ(c.count(), 1);
}

TEST_F(AllocTest, EncodeIntoAKeptBufferAllocatesNothing) {
  pack(spec(1), {"a tuple that does not fit in a small string"});
  std::string text, binary;
  baggage::encode_into(text);  // the buffers grow once
  baggage::encode_binary_into(binary);
  Baggage copy = baggage::fork();
  AllocationCount c;
  for (int i = 0; i < 10; ++i) {
    baggage::encode_into(text);
    baggage::encode_binary_into(binary);
    baggage::encode_into(copy, text);
    baggage::encode_binary_into(copy, binary);
  }
  EXPECT_EQ(c.count(), 0);
  EXPECT_EQ(text, baggage::encode());
  EXPECT_EQ(binary, baggage::encode_binary());
}

TEST_F(AllocTest, EncodeIntoOfEmptyBaggageClearsTheBuffer) {
  std::string text = "stale", binary = "stale";
  AllocationCount c;
  baggage::encode_into(text);
  baggage::encode_binary_into(binary);
  EXPECT_EQ(c.count(), 0);
  EXPECT_EQ(text, "");
  EXPECT_EQ(binary, "");
}

TEST_F(AllocTest, JoiningWhatTheBaggageAlreadyHoldsAllocatesNothing) {
  pack(spec(1), {"sent and returned unchanged"});
  pack(spec(2), {1, 2.5});
  Baggage reply = baggage::fork();  // a server that packs nothing replies with this
  std::string before = baggage::encode_binary();
  AllocationCount c;
  baggage::join(std::move(reply));
  EXPECT_EQ(c.count(), 0);
  EXPECT_EQ(baggage::encode_binary(), before);
  testing::expect_current_valid();
}

TEST_F(AllocTest, SmallDecodeReusesARecycledBaggage) {
  pack(spec(1), {"GET"});
  std::string text = baggage::encode();
  (void)baggage::take();                     // recycled, with its capacity
  { Baggage warm = baggage::decode(text); }  // first decode on this thread sizes its buffers
  AllocationCount c;
  Baggage b = baggage::decode(text);
  EXPECT_FALSE(b.empty());
  EXPECT_EQ(c.count(), 0);
}

TEST_F(AllocTest, PackEncodeDecodeUnpackInSteadyStateAllocatesOnlyTheText) {
  const BagSpec s = spec(1);
  const Value tuple[] = {Value("GET")};
  std::vector<Tuple> out;
  auto request = [&] {
    bag_pack(s, tuple);
    std::string text = baggage::encode();
    Baggage sent = baggage::take();
    baggage::Scope scope(baggage::decode(text));
    EXPECT_TRUE(bag_unpack(s, out, nullptr));
  };
  request();
  AllocationCount c;
  request();
  EXPECT_EQ(c.count(), 1) << "the encoded text";
}

TEST_F(AllocTest, PackEncodeIntoDecodeUnpackInSteadyStateAllocatesNothing) {
  const BagSpec s = spec(1);
  const Value tuple[] = {Value("GET")};
  std::vector<Tuple> out;
  std::string text, binary;
  auto request = [&] {
    bag_pack(s, tuple);
    baggage::encode_into(text);
    Baggage sent = baggage::take();
    {
      baggage::Scope scope(baggage::decode(text));
      EXPECT_TRUE(bag_unpack(s, out, nullptr));
    }
    // The binary form, for binary frames.
    (void)baggage::exchange(std::move(sent));
    baggage::encode_binary_into(binary);
    sent = baggage::take();
    Result<Baggage> received = baggage::decode_binary(binary);
    ASSERT_TRUE(received);
    baggage::Scope scope(std::move(*received));
    EXPECT_TRUE(bag_unpack(s, out, nullptr));
  };
  request();
  AllocationCount c;
  for (int i = 0; i < 10; ++i) request();
  EXPECT_EQ(c.count(), 0);
}

// A server that reads a request on one thread and serves it on another: the
// baggage is made on the first and dropped last on the second, whose cache
// fills while the first's stays empty. The stash behind the caches brings
// them back, so in steady state the first thread allocates nothing.
TEST_F(AllocTest, ABaggageDroppedOnAnotherThreadComesBack) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Baggage> handed;
  bool done = false;
  std::thread pool([&] {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return handed.has_value() || done; });
      if (!handed) return;
      handed.reset();  // the last holder: dropped on this thread
      cv.notify_all();
    }
  });
  const BagSpec s = spec(1);
  const Value tuple[] = {Value("GET")};
  auto request = [&] {
    bag_pack(s, tuple);
    std::unique_lock<std::mutex> lock(mu);
    handed.emplace(baggage::take());
    cv.notify_all();
    cv.wait(lock, [&] { return !handed.has_value(); });
  };
  for (int i = 0; i < 4; ++i) request();  // the pool thread's own cache fills
  long allocations;
  {
    AllocationCount c;
    for (int i = 0; i < 10; ++i) request();
    allocations = c.count();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  pool.join();
  EXPECT_EQ(allocations, 0);
}

}  // namespace
}  // namespace pivot::internal
