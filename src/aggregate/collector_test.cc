// Collector::collect(): every live thread's partial and the exited threads'
// merged into one interval, whichever partial the result is built from, and
// the budget that bounds them together starting again afterwards.
#include "aggregate/collector.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

#include "aggregate/test_util.h"

namespace pivot::aggregate {
namespace {

using testing::rows_json;

// A thread that emits into the collector when told and stays alive until
// told to exit, so that its partial is a live thread's at collect().
class Emitter {
 public:
  explicit Emitter(Collector& c) : thread_([this, &c] { run(c); }) {}
  ~Emitter() {
    done_.set_value();
    thread_.join();
  }
  // Emits (key, 1) for each key, on the thread; returns when it has.
  void emit(std::vector<int64_t> keys) {
    keys_ = std::move(keys);
    go_.set_value();
    emitted_.get_future().wait();
  }

 private:
  void run(Collector& c) {
    go_.get_future().wait();
    internal::ThreadState* ts = internal::current_thread_state();
    {
      internal::ReadSection section(ts);
      Partial* p = c.thread_partial(*ts);
      for (int64_t k : keys_) {
        Value key = k, one = int64_t{1};
        p->add_values(&key, &one);
      }
    }
    emitted_.set_value();
    done_.get_future().wait();
  }

  std::vector<int64_t> keys_;
  std::promise<void> go_, emitted_, done_;
  std::thread thread_;
};

std::vector<int64_t> range(int64_t from, int64_t to) {
  std::vector<int64_t> v;
  for (int64_t k = from; k < to; ++k) v.push_back(k);
  return v;
}

// Three live threads of different sizes and overlapping keys: the biggest
// partial is the result and the others merge into it; a thread that exited
// before the collect is in it too. Nothing is left for the next interval.
TEST(Collector, MergesEveryThreadIntoOneInterval) {
  auto c = Collector::create({.keys = 1, .aggs = {AggFn::kSum}});
  ASSERT_TRUE(c) << c.error().message();
  Emitter small(**c), big(**c), middle(**c);
  small.emit({1, 2});
  big.emit(range(1, 7));  // 1..6
  middle.emit({5, 6, 7});
  std::thread([&] {
    Emitter gone(**c);
    gone.emit({7, 8});
  }).join();

  Partial interval = (*c)->collect();
  EXPECT_EQ(rows_json(interval), "[1,2][2,2][3,1][4,1][5,2][6,2][7,2][8,1]");
  EXPECT_EQ(interval.dropped(), 0u);
  EXPECT_TRUE((*c)->collect().empty());
}

// The live threads share the group cap; the result, built from one of
// their partials, holds the cap's groups and counts the rest as dropped,
// and the next interval's threads have the whole cap again.
TEST(Collector, ThreadsShareTheCapAndTheNextIntervalHasItAgain) {
  auto c = Collector::create({.keys = 1, .aggs = {AggFn::kSum}, .group_cap = 10});
  ASSERT_TRUE(c) << c.error().message();
  {
    Emitter a(**c), b(**c);
    a.emit(range(0, 8));      // 8 groups
    b.emit(range(100, 108));  // 2 fit in the cap, 6 events dropped
    Partial first = (*c)->collect();
    EXPECT_EQ(first.groups().size(), 10u);
    EXPECT_EQ(first.dropped(), 6u);
    EXPECT_EQ(rows_json(first), "[0,1][1,1][2,1][3,1][4,1][5,1][6,1][7,1][100,1][101,1]");
  }
  Emitter again(**c);
  again.emit(range(200, 212));  // 10 fit, 2 dropped
  Partial second = (*c)->collect();
  EXPECT_EQ(second.groups().size(), 10u);
  EXPECT_EQ(second.dropped(), 2u);
}

}  // namespace
}  // namespace pivot::aggregate
