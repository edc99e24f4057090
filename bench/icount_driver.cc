// Runs one hot path a fixed number of times, for callgrind's instruction
// counts, which do not depend on the machine's load (docs/performance.md,
// "Instruction counts"). scripts/perf.sh runs, for each path,
//
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null
//       --toggle-collect='pivot_bench_run*' build/release/bench/icount_driver PATH N
//
// for two counts N1 < N2 and reports (Ir(N2) - Ir(N1)) / (N2 - N1): the
// instructions of one event, with the loop's fixed costs cancelled. Each
// path's setup (installing a query, first-use allocations, a warm-up of
// 1000 events) runs outside the collected function.
//
//   icount_driver --list        the paths
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "baggage/bag.h"
#include "pivot/pivot.h"

namespace {

[[gnu::noinline]] void empty_function() { asm volatile(""); }
[[gnu::noinline]] void dormant_site(int64_t delta) { PIVOT_TRACEPOINT("Icount.dormant", delta); }
[[gnu::noinline]] void active_site(int64_t delta) { PIVOT_TRACEPOINT("Icount.active", delta); }
[[gnu::noinline]] void packing_site(int64_t delta) { PIVOT_TRACEPOINT("Icount.pack", delta); }

struct Auction {
  std::string_view id;
  int freq;
};
std::tuple<const char*, std::string_view, int> do_probe(const Auction& a) {
  return {"Auction", a.id, a.freq};
}
// CityHash64("auction-2") % 4 == 0, CityHash64("auction-0") % 4 != 0 (as in trace_bench.cc).
const Auction kSampled{"auction-2", 1};
const Auction kUnsampled{"auction-0", 4};

[[gnu::noinline]] void one_span(const Auction& a) { pivot::Trace<Auction> t(a, "Router::bid"); }
[[gnu::noinline]] void three_nested_spans(const Auction& a) {
  pivot::Trace<Auction> x(a, "Router::bid");
  pivot::Trace<Auction> y(a, "Agent::price");
  pivot::Trace<Auction> z(a, "Model::score");
}

// One request's baggage: the client packs ("GET"), encodes into its kept
// buffer; the server decodes into a scope and unpacks (baggage_bench's
// BM_PackEncodeDecodeUnpack_OneSmallTuple, and its _Binary variant).
const pivot::internal::BagSpec& bag_spec() {
  static const pivot::internal::BagSpec s = [] {
    pivot::internal::BagSpec b;
    b.bag_id = 0x9e3779b9ull;  // the planner's ids are 32 bits
    b.mode = pivot::internal::PackMode::kAll;
    return b;
  }();
  return s;
}
const pivot::Value kGet[] = {pivot::Value("GET")};
[[gnu::noinline]] void baggage_round_trip() {
  static std::vector<pivot::internal::Tuple> out;
  static std::string text;
  pivot::internal::bag_pack(bag_spec(), kGet);
  pivot::baggage::encode_into(text);
  pivot::Baggage sent = pivot::baggage::take();
  pivot::baggage::Scope scope(pivot::baggage::decode(text));
  bool overflowed;
  (void)pivot::internal::bag_unpack(bag_spec(), out, &overflowed);
}
[[gnu::noinline]] void baggage_round_trip_binary() {
  static std::vector<pivot::internal::Tuple> out;
  static std::string bytes;
  pivot::internal::bag_pack(bag_spec(), kGet);
  pivot::baggage::encode_binary_into(bytes);
  pivot::Baggage sent = pivot::baggage::take();
  pivot::Result<pivot::Baggage> received = pivot::baggage::decode_binary(bytes);
  pivot::baggage::Scope scope(received ? std::move(*received) : pivot::Baggage());
  bool overflowed;
  (void)pivot::internal::bag_unpack(bag_spec(), out, &overflowed);
}

}  // namespace

// Functions hooked at run time (hook_bench.cc's hookbench::work): real calls,
// no inlining or cloning, GCC's -fipa-ra on as in users' code. Outside the
// anonymous namespace so that a tracepoint definition can name them.
namespace icount {
#if defined(__clang__)
#define ICOUNT_OPAQUE [[gnu::noinline]]
#else
#define ICOUNT_OPAQUE [[gnu::noinline, gnu::noclone]]
#endif
ICOUNT_OPAQUE int64_t hooked_entry(int64_t delta) { return delta * 3 + 1; }
ICOUNT_OPAQUE int64_t hooked_return(int64_t delta) { return delta * 5 + 2; }
}  // namespace icount

namespace {

// Uses a result, so that GCC cannot drop a call to a function it found const.
inline void keep(int64_t v) { asm volatile("" : : "r"(v)); }

using Step = void (*)(int64_t);

struct Path {
  const char* name;
  const char* what;
  const char* query;  // installed first, or nullptr
  Step step;
};

const Path kPaths[] = {
    {"empty_call", "a call of an empty noinline function (the baseline)", nullptr,
     [](int64_t) { empty_function(); }},
    {"dormant", "a noinline function holding a dormant site", nullptr, [](int64_t i) { dormant_site(i); }},
    {"active_sum_by_host", "OBSERVE + EMIT SUM grouped by host (Q1's shape)",
     "From a In Icount.active GroupBy a.host Select a.host, SUM(a.delta)", [](int64_t i) { active_site(i); }},
    {"active_sum_by_int", "OBSERVE + EMIT SUM grouped by delta % 8",
     "From a In Icount.active GroupBy a.delta % 8 Select a.delta % 8, SUM(a.delta)",
     [](int64_t i) { active_site(i); }},
    {"pack_then_unpack_emit", "PACK-RECENT at one site, then UNPACK + EMIT at the next (two events)",
     "From a In Icount.active Join p In MostRecent(Icount.pack) On p -> a GroupBy p.delta % 4 "
     "Select p.delta % 4, SUM(a.delta)",
     [](int64_t i) {
       packing_site(i);
       active_site(i);
     }},
    {"baggage_round_trip", "PACK + encode + decode + UNPACK of one small tuple", nullptr,
     [](int64_t) { baggage_round_trip(); }},
    {"baggage_round_trip_binary", "the same in the binary form (binary RPC frames)", nullptr,
     [](int64_t) { baggage_round_trip_binary(); }},
    {"span_unsampled", "one unsampled span (view probe, cached decision)", nullptr,
     [](int64_t) { one_span(kUnsampled); }},
    {"span_sampled", "one sampled span, begin + end + hand-off to the discard sink's ring", nullptr,
     [](int64_t) { one_span(kSampled); }},
    {"span_nested3_sampled", "three nested sampled spans of one id", nullptr,
     [](int64_t) { three_nested_spans(kSampled); }},
    {"hook_entry_sum_by_host", "a hooked function's Entry, OBSERVE + EMIT SUM grouped by host",
     "Tracepoint w = Entry(\"icount::hooked_entry\") Exports delta = arg0\n"
     "From a In w GroupBy a.host Select a.host, SUM(a.delta)",
     [](int64_t i) { keep(icount::hooked_entry(i)); }},
    {"hook_return_sum_duration", "a hooked function's Return, SUM(duration) and SUM(ret) grouped by host",
     "Tracepoint w = Return(\"icount::hooked_return\")\n"
     "From a In w GroupBy a.host Select a.host, SUM(a.duration), SUM(a.ret)",
     [](int64_t i) { keep(icount::hooked_return(i)); }},
};

}  // namespace

// The only function callgrind collects in (--toggle-collect='pivot_bench_run*').
extern "C" [[gnu::noinline]] void pivot_bench_run(Step step, int64_t n) {
  for (int64_t i = 0; i < n; ++i) step(i);
}

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--list") == 0) {
    for (const Path& p : kPaths) std::printf("%-24s %s\n", p.name, p.what);
    return 0;
  }
  if (argc != 3) {
    std::fprintf(stderr, "usage: icount_driver PATH N | --list\n");
    return 2;
  }
  const Path* path = nullptr;
  for (const Path& p : kPaths) {
    if (std::strcmp(p.name, argv[1]) == 0) path = &p;
  }
  if (path == nullptr) {
    std::fprintf(stderr, "icount_driver: unknown path %s (--list)\n", argv[1]);
    return 2;
  }
  const int64_t n = std::strtoll(argv[2], nullptr, 10);
  pivot::set_trace_sink(pivot::discard_sink());
  pivot::Session session;
  if (path->query != nullptr) {
    auto q = session.install(path->query);
    if (!q) {
      std::fprintf(stderr, "icount_driver: %s\n", q.error().message().c_str());
      return 1;
    }
  }
  pivot::baggage::Scope scope{pivot::Baggage()};
  for (int64_t i = 0; i < 1000; ++i) path->step(i);  // warm-up, not collected
  pivot_bench_run(path->step, n);
  pivot::flush_traces();
  return 0;
}
