// RTBkit's own tests of its tracing (soa/service/testing/nprobe_test.cc), in
// substance, written against pivot/rtbkit.h the way they were written against
// nprobe.h: `using namespace Datacratic`, a template do_probe for every
// Traceable, sinks that read Span::tag_, id_, pid_ and end_ - start_, and
// RTBkit's TRACE / TRACE_FN macros and Trace<T>::set_sinkCb. The sleeps are
// shorter than RTBkit's (40 ms, not 400), and the sinks' calls are counted
// (RTBkit's first test never checked that its sink ran).
//
// Then what porting needs beyond those tests: sampling by frequency with
// RTBkit's ids, RTBkit's types, the process-wide sink, and the default sink.
#include "pivot/rtbkit.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "trace/builtin_sinks.h"
#include "trace/format.h"
#include "tracepoint/process_info.h"

using namespace Datacratic;

// The example of docs/spans.md, "Porting from RTBkit" (DocumentedExample
// checks the two copies are the same text).
// BEGIN docs/spans.md
namespace RTBKIT {

struct BidRequest {
  std::string auctionId;
};

std::tuple<const char*, std::string, int> do_probe(const BidRequest& br) {
  return std::make_tuple("BidRequest", br.auctionId, 10);  // one auction in 10
}

// A sink as RTBkit's users wrote them: RTBkit's members, RTBkit's types.
void record_latencies(std::map<std::string, std::chrono::microseconds>& out) {
  Trace<BidRequest>::set_sinkCb([&out](const ProbeCtx& ctx, const std::vector<Span>& vs) {
    for (const Span& s : vs) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(s.end_ - s.start_);
      out[std::get<1>(ctx) + " " + s.tag_ + (s.pid_ == uint32_t(-1) ? " (root)" : "")] = us;
    }
  });
}

void route(const BidRequest& br) {
  TRACE(br, "Router::route");
  Trace<BidRequest> t(br, "Router::auction");
}

}  // namespace RTBKIT
// END docs/spans.md

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

struct Traceable {
  virtual ~Traceable() = default;
  virtual std::string id() const = 0;
  virtual const char* name() const = 0;
};

// RTBkit's test probed every type this way.
template <typename T>
std::tuple<const char*, std::string, int> do_probe(const T& object) {
  static_assert(std::is_base_of<Traceable, T>::value, "do_probe<T>: T must inherit Traceable");
  return std::make_tuple(object.name(), object.id(), 1);
}

struct Object : public Traceable {
  Object() : id_{instance++} {}
  int id_;
  const char* name() const override { return "Object"; }
  std::string id() const override { return std::to_string(id_); }

 private:
  static int instance;
};
int Object::instance = 0;

// Replaces whatever sink a test installed (RTBkit's sinks capture the
// test's locals; pivot's sink is process-wide).
class RtbkitTest : public ::testing::Test {
 protected:
  void TearDown() override {
    pivot::flush_traces();
    Trace<Object>::set_sinkCb(nullptr);
  }
};

TEST_F(RtbkitTest, SimpleTrace) {
  enum { SleepTime = 40 };
  Object obj;
  int calls = 0;

  auto sinkFn = [&](const ProbeCtx& ctx, const std::vector<Span>& vs) {
    ++calls;
    const char* tag;
    std::string id;
    uint32_t sampling;
    std::tie(tag, id, sampling) = ctx;
    EXPECT_STREQ(tag, obj.name());
    EXPECT_EQ(id, obj.id());
    EXPECT_EQ(sampling, 1u);

    ASSERT_EQ(vs.size(), 1u);
    const auto& span = vs[0];
    EXPECT_EQ(span.tag_, "test_simple_trace");
    EXPECT_EQ(span.id_, 1u);
    EXPECT_EQ(span.pid_, static_cast<uint32_t>(-1));  // RTBkit: BOOST_CHECK_EQUAL(span.pid_, -1)
    EXPECT_EQ(span.pid_, 4294967295u);

    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(span.end_ - span.start_).count();
    EXPECT_GE(ms, SleepTime);

    // RTBkit's members describe the same span as pivot's.
    EXPECT_EQ(span.tag, span.tag_);
    EXPECT_EQ(span.id, 1);
    EXPECT_EQ(span.pid, -1);
    EXPECT_EQ(span.end_ - span.start_, std::chrono::nanoseconds(span.t2 - span.t1));
  };

  {
    Datacratic::Trace<Object> trace_(obj, "test_simple_trace");
    trace_.set_sinkCb(sinkFn);
    sleep_ms(SleepTime);
  }
  ASSERT_EQ(calls, 1);
}

// start_ and end_ are steady_clock times of the span's real begin and end.
TEST_F(RtbkitTest, StartAndEndAreSteadyClockTimes) {
  Object obj;
  std::vector<Span> got;
  Trace<Object>::set_sinkCb([&](const ProbeCtx&, const std::vector<Span>& vs) { got = vs; });
  auto before = clock_type::now();
  {
    Trace<Object> t(obj, "timed");
    sleep_ms(5);
  }
  auto after = clock_type::now();
  ASSERT_EQ(got.size(), 1u);
  // The wall clock behind t1/t2 and steady_clock agree to within
  // microseconds; allow a millisecond.
  const auto slack = std::chrono::milliseconds(1);
  EXPECT_GE(got[0].start_, before - slack);
  EXPECT_LE(got[0].end_, after + slack);
  EXPECT_GE(got[0].end_ - got[0].start_, std::chrono::milliseconds(5));
}

TEST_F(RtbkitTest, MultipleTraces) {
  enum { SleepTime = 10, Iterations = 3 };
  Object obj;
  int total{0};

  auto sinkFn = [&](const ProbeCtx& ctx, const std::vector<Span>& vs) {
    (void)ctx;
    ASSERT_EQ(vs.size(), 3u);
    struct Expected {
      const char* tag;
      uint32_t id;
      uint32_t pid;
      int elapsed;
    } expected[] = {
        {"test_multiple_traces::lambda<doTrace>::nested", 3, 2, SleepTime * 2},
        {"test_multiple_traces::lambda<doTrace>", 2, 1, SleepTime * 3},
        {"test_multiple_traces", 1, static_cast<uint32_t>(-1), SleepTime * 3},
    };
    for (size_t i{0}; i < vs.size(); ++i) {
      EXPECT_EQ(vs[i].tag_, expected[i].tag);
      EXPECT_EQ(vs[i].id_, expected[i].id);
      EXPECT_EQ(vs[i].pid_, expected[i].pid);
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(vs[i].end_ - vs[i].start_).count();
      EXPECT_GE(ms, expected[i].elapsed);
    }
    ++total;
  };

  for (size_t i{0}; i < Iterations; ++i) {
    TRACE_FN(obj, "test_multiple_traces", sinkFn);

    auto doTrace = [&]() {
      TRACE_FN(obj, "test_multiple_traces::lambda<doTrace>", sinkFn);
      sleep_ms(SleepTime);
      {
        TRACE_FN(obj, "test_multiple_traces::lambda<doTrace>::nested", sinkFn);
        sleep_ms(SleepTime * 2);
      }
    };
    doTrace();
  }
  EXPECT_EQ(total, Iterations);
}

struct Widget : public Traceable {
  explicit Widget(std::string id) : id_(std::move(id)) {}
  const char* name() const override { return "Widget"; }
  std::string id() const override { return id_; }
  std::string id_;
};

// Nested traces of two objects: a Trace of another id opened inside a span
// is a tree of its own, delivered when its own last span ends (so first),
// and it takes no id or parent from the span around it.
TEST_F(RtbkitTest, NestedTraces) {
  Object outer;
  Widget inner("inner-widget");
  std::vector<std::string> seen;
  Trace<Object>::set_sinkCb([&](const ProbeCtx& ctx, const std::vector<Span>& vs) {
    std::string line = std::string(std::get<0>(ctx)) + " " + std::get<1>(ctx) + ":";
    for (const Span& s : vs) {
      line += " " + s.tag_ + "(" + std::to_string(s.id_) + "<-" + std::to_string(s.pid_) + ")";
      EXPECT_GE(s.end_, s.start_);
    }
    seen.push_back(line);
  });
  {
    TRACE(outer, "outer");
    {
      TRACE(inner, "inner");
      TRACE(inner, "inner::nested");
    }
    TRACE(outer, "outer::after");
  }
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "Widget inner-widget: inner::nested(2<-1) inner(1<-4294967295)",
                      "Object " + outer.id() + ": outer::after(2<-1) outer(1<-4294967295)",
                  }));
}

// Each thread's spans of one id are a tree of their own, delivered on that
// thread; the main thread's span of the same id is another tree.
TEST_F(RtbkitTest, MultithreadedTraces) {
  Widget widget("0f8c2a4e-5b7d-4d1e-9a63-2c41e8b7f905");
  enum { Iterations = 3, Threads = 4 };
  std::atomic<int> total{0};
  std::atomic<bool> check{true};

  auto sinkFn = [&](const ProbeCtx& ctx, const std::vector<Span>& vs) {
    if (!check) return;
    total.fetch_add(1);
    EXPECT_STREQ(std::get<0>(ctx), "Widget");
    EXPECT_EQ(std::get<1>(ctx), widget.id());
    ASSERT_EQ(vs.size(), 2u);
    EXPECT_EQ(vs[0].tag_, "test_multithreaded_traces::doSomethingWithWidget::doWidget");
    EXPECT_EQ(vs[0].id_, 2u);
    EXPECT_EQ(vs[0].pid_, 1u);
    EXPECT_EQ(vs[1].tag_, "test_multithreaded_traces::doSomethingWithWidget");
    EXPECT_EQ(vs[1].id_, 1u);
    EXPECT_EQ(vs[1].pid_, static_cast<uint32_t>(-1));
    const auto ms_1 =
        std::chrono::duration_cast<std::chrono::milliseconds>(vs[0].end_ - vs[0].start_).count();
    EXPECT_GE(ms_1, 10);
    const auto ms_2 =
        std::chrono::duration_cast<std::chrono::milliseconds>(vs[1].end_ - vs[1].start_).count();
    EXPECT_GE(ms_2, 10 + 5);
  };

  auto doSomethingWithWidget = [&](const Widget& w) {
    TRACE_FN(w, "test_multithreaded_traces::doSomethingWithWidget", sinkFn);
    sleep_ms(5);
    auto doWidget = [&]() {
      TRACE_FN(w, "test_multithreaded_traces::doSomethingWithWidget::doWidget", sinkFn);
      sleep_ms(10);
    };
    doWidget();
  };

  for (size_t i{0}; i < Iterations; ++i) {
    TRACE(widget, "test_multithreaded_traces");
    check = true;
    {
      std::vector<std::thread> group;
      for (size_t j{0}; j < Threads; ++j) group.emplace_back(doSomethingWithWidget, std::cref(widget));
      for (auto& t : group) t.join();
    }
    check = false;
  }
  EXPECT_EQ(total, Iterations * Threads);
}

// Sampling by frequency: an id is traced iff CityHash64 v1.0.3 of it is a
// multiple of freq, so a pivot process samples the same ids RTBkit did (the
// lists below are CityHash64 v1.0.3 of "0".."39", modulo 4 and 7).
struct Auction : public Traceable {
  Auction(std::string id, int freq) : id_(std::move(id)), freq_(freq) {}
  const char* name() const override { return "Auction"; }
  std::string id() const override { return id_; }
  std::string id_;
  int freq_;
};
std::tuple<const char*, std::string, int> do_probe(const Auction& a) {
  return std::make_tuple(a.name(), a.id(), a.freq_);
}

std::vector<std::string> sampled_ids(int freq) {
  std::vector<std::string> ids;
  Trace<Auction>::set_sinkCb([&](const ProbeCtx& ctx, const std::vector<Span>& vs) {
    EXPECT_EQ(std::get<2>(ctx), static_cast<uint32_t>(freq));
    EXPECT_EQ(vs.size(), 1u);
    ids.push_back(std::get<1>(ctx));
  });
  for (int i = 0; i < 40; ++i) {
    Trace<Auction> t(Auction(std::to_string(i), freq), "bid");
  }
  Trace<Auction>::set_sinkCb(nullptr);
  return ids;
}

TEST_F(RtbkitTest, SamplingByFrequency) {
  EXPECT_EQ(sampled_ids(1).size(), 40u);
  EXPECT_EQ(sampled_ids(4), (std::vector<std::string>{"12", "13", "20", "22", "27", "29", "31", "32", "37"}));
  EXPECT_EQ(sampled_ids(7), (std::vector<std::string>{"8", "14", "17", "23", "27", "29"}));
  EXPECT_TRUE(sampled_ids(0).empty());  // RTBkit divided by zero
}

TEST_F(RtbkitTest, DocumentedExample) {
  std::map<std::string, std::chrono::microseconds> latency;
  RTBKIT::record_latencies(latency);
  RTBKIT::route(RTBKIT::BidRequest{"auction-13"});  // sampled at 10 (auction-0..12 are not)
  RTBKIT::route(RTBKIT::BidRequest{"auction-12"});
  Trace<Object>::set_sinkCb(nullptr);
  std::vector<std::string> keys;
  for (const auto& [key, us] : latency) keys.push_back(key);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"auction-13 Router::auction", "auction-13 Router::route (root)"}));

  // The example above is the one docs/spans.md shows.
  std::string source = read_text(std::string(PIVOT_SOURCE_DIR) + "/src/trace/rtbkit_test.cc");
  size_t begin = source.find("// BEGIN docs/spans.md\n");
  size_t end = source.find("// END docs/spans.md");
  ASSERT_NE(begin, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  begin = source.find('\n', begin) + 1;
  std::string example = "```cpp\n" + source.substr(begin, end - begin) + "```\n";
  EXPECT_NE(read_text(std::string(PIVOT_SOURCE_DIR) + "/docs/spans.md").find(example), std::string::npos)
      << "docs/spans.md no longer shows:\n"
      << example;
}

// RTBkit's Span, SinkCb and ProbeCtx, with RTBkit's types, in both of the
// namespaces RTBkit used.
TEST(RtbkitNames, AreRtbkitsTypes) {
  static_assert(std::is_same_v<decltype(Span::tag_), std::string>);
  static_assert(std::is_same_v<decltype(Span::id_), uint32_t>);
  static_assert(std::is_same_v<decltype(Span::pid_), uint32_t>);
  static_assert(std::is_same_v<decltype(Span::start_), std::chrono::steady_clock::time_point>);
  static_assert(std::is_same_v<decltype(Span::end_), std::chrono::steady_clock::time_point>);
  static_assert(std::is_same_v<ProbeCtx, std::tuple<const char*, std::string, uint32_t>>);
  static_assert(std::is_same_v<SinkCb, std::function<void(const ProbeCtx&, const std::vector<Span>&)>>);
  static_assert(std::is_same_v<RTBKIT::Span, pivot::Span>);
  static_assert(std::is_same_v<Datacratic::Span, pivot::Span>);
  static_assert(std::is_same_v<RTBKIT::SinkCb, pivot::SinkCb>);
  static_assert(std::is_same_v<RTBKIT::ProbeCtx, pivot::ProbeCtx>);
  static_assert(std::is_same_v<RTBKIT::Trace<Object>, pivot::Trace<Object>>);
  static_assert(std::is_same_v<RTBKIT::clock_type, std::chrono::steady_clock>);
  static_assert(std::is_same_v<decltype(make_trace(std::declval<const Object&>(), "t")), Trace<Object>>);
  static_assert(!std::is_copy_constructible_v<Trace<Object>>);  // RTBkit's was copyable
  EXPECT_EQ(&RTBKIT::default_probe_sink, &pivot::default_probe_sink);
  EXPECT_EQ(&RTBKIT::detail::default_probe_sink, &pivot::default_probe_sink);
  EXPECT_EQ(&Datacratic::syslog_probe_sink, &pivot::default_probe_sink);
  EXPECT_EQ(&RTBKIT::syslog_probe_sink, &pivot::default_probe_sink);
}

// set_sinkCb is static and process-wide: installed through Trace<Object>,
// it receives spans of every type, exactly like set_trace_sink.
TEST_F(RtbkitTest, SetSinkCbInstallsTheProcessWideSink) {
  std::vector<std::string> tags;
  Trace<Object>::set_sinkCb([&](const ProbeCtx&, const std::vector<Span>& vs) {
    for (const Span& s : vs) tags.push_back(s.tag_);
  });
  {
    Trace<Auction> a(Auction("a-1", 1), "auction");
    Trace<Object> o(std::make_shared<Object>(), "object");
  }
  EXPECT_EQ(tags, (std::vector<std::string>{"object", "auction"}));

  pivot::set_trace_sink(pivot::discard_sink());
  { Trace<Object> o(Object(), "not seen"); }
  EXPECT_EQ(tags.size(), 2u);
}

const std::shared_ptr<pivot::internal::SinkImpl>& impl_of(const pivot::TraceSink& sink) {
  return pivot::internal::TraceSinkAccess::impl(sink);
}

// Installing RTBkit's default sink installs pivot's built-in syslog sink,
// which writes from the background thread.
TEST_F(RtbkitTest, DefaultProbeSinkInstallsTheBuiltInSyslogSink) {
  EXPECT_EQ(impl_of(pivot::callback_sink(RTBKIT::default_probe_sink))->callback(), nullptr);
  EXPECT_EQ(impl_of(pivot::callback_sink(Datacratic::syslog_probe_sink))->callback(), nullptr);
  EXPECT_EQ(impl_of(pivot::callback_sink(&RTBKIT::default_probe_sink))->callback(), nullptr);
  EXPECT_NE(impl_of(pivot::callback_sink([](const ProbeCtx&, const std::vector<Span>&) {}))->callback(),
            nullptr);

  Trace<Object>::set_sinkCb(default_probe_sink);
  uint64_t before = pivot::trace_stats().spans_delivered;
  { TRACE(Object(), "to syslog"); }
  pivot::flush_traces();
  EXPECT_EQ(pivot::trace_stats().spans_delivered, before + 1);
}

// Called directly, default_probe_sink writes syslog_sink()'s line, real JSON
// with RTBkit's keys, where RTBkit wrote single-quoted pseudo-JSON.
TEST(RtbkitDefaultSink, LineIsTheBuiltInSinksLine) {
  Span s;
  s.tag = "Router::bid \"x\"";
  s.id = 2;
  s.pid = 1;
  s.t1 = 1700000000123456789;
  s.t2 = 1700000000123458289;
  s.kind = "Auction";
  ProbeCtx ctx{"Root", "a-1", 4};
  std::string line;
  pivot::internal::append_probe_sink_line(line, ctx, s, 4242);

  const pivot::internal::ProcessInfo& p = pivot::internal::process_info();
  std::string host;
  pivot::internal::append_json_text(host, p.host);
  EXPECT_EQ(line,
            "{\"tid\":4242,\"host\":" + host + ",\"kpid\":" + std::to_string(p.proc_id) +
                ",\"kind\":\"Auction\",\"uniq\":\"a-1\",\"freq\":4,\"pid\":1,\"id\":2,"
                "\"tag\":\"Router::bid \\\"x\\\"\",\"t1\":1700000000123456789,\"t2\":1700000000123458289}");

  // A Span without a kind (one an RTBkit sink built itself) takes the ctx's.
  s.kind.clear();
  line.clear();
  pivot::internal::append_probe_sink_line(line, ctx, s, 4242);
  EXPECT_NE(line.find("\"kind\":\"Root\""), std::string::npos);

  // And it writes to syslog without trouble.
  default_probe_sink(ctx, {s, s});
}

}  // namespace
