// Helpers shared by the span tests: a traced type and a sink that collects.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "pivot/trace.h"

namespace pivot::testing {

// A traced object of the kind RTBkit traced: kind, id and sampling frequency.
struct Auction {
  std::string id;
  int freq = 1;
  const char* kind = "Auction";
};
inline std::tuple<const char*, std::string, int> do_probe(const Auction& a) { return {a.kind, a.id, a.freq}; }

// A second type with the same ids, as RTBkit's BidRequest/Auction pairs.
struct Bid {
  std::string auction_id;
};
inline std::tuple<std::string, std::string_view, unsigned> do_probe(const Bid& b) {
  return {"Bid", b.auction_id, 1u};
}

struct Tree {
  std::string kind;
  std::string uniq;
  uint32_t freq;
  std::vector<Span> spans;
};

// A SinkCb that keeps every tree it receives.
class Collector {
 public:
  SinkCb sink() {
    return [this](const ProbeCtx& ctx, const std::vector<Span>& spans) {
      std::lock_guard<std::mutex> lock(mu_);
      trees_.push_back({std::get<0>(ctx), std::get<1>(ctx), std::get<2>(ctx), spans});
      cv_.notify_all();
    };
  }
  std::vector<Tree> trees() {
    std::lock_guard<std::mutex> lock(mu_);
    return trees_;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return trees_.size();
  }
  bool wait_for(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return trees_.size() >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Tree> trees_;
};

// Installs a Collector for the test, and the discard sink after it.
class SpanTest : public ::testing::Test {
 protected:
  void SetUp() override { set_trace_sink(collector_.sink()); }
  void TearDown() override {
    flush_traces();
    set_trace_sink(discard_sink());
  }
  Collector collector_;
};

}  // namespace pivot::testing
