// Baggage costs (design section 11): the PACK -> encode -> decode -> UNPACK
// path of one small tuple (target <= 100 ns), encode and decode by size,
// and fork/join. Results and method: docs/performance.md, "Baggage".
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "baggage/bag.h"
#include "pivot/baggage.h"

namespace {

using pivot::Baggage;
using pivot::Value;
using pivot::internal::BagSpec;
using pivot::internal::PackMode;
using pivot::internal::Tuple;
namespace baggage = pivot::baggage;

// Bag ids are hashes from the planner: 32 bits (a 5-byte varint).
constexpr uint64_t kBagId = 0x9e3779b9ull;

BagSpec spec(PackMode mode = PackMode::kAll, uint32_t n = 0) {
  BagSpec s;
  s.bag_id = kBagId;
  s.mode = mode;
  s.n = n;
  return s;
}

// Makes the current baggage hold n tuples of (short string, int).
void fill(int n) {
  (void)baggage::take();
  const BagSpec s = spec();
  for (int i = 0; i < n; ++i) {
    const Value t[] = {Value("client-" + std::to_string(i % 10)), Value(int64_t{i * 1000})};
    pivot::internal::bag_pack(s, t);
  }
}

// One request's worth: the client packs a procedure name and sends it,
// encoding into the buffer it keeps for its connection; the server decodes
// it into a scope and unpacks it.
void BM_PackEncodeDecodeUnpack_OneSmallTuple(benchmark::State& state) {
  (void)baggage::take();
  const BagSpec s = spec();
  const Value tuple[] = {Value("GET")};
  std::vector<Tuple> out;
  std::string text;
  for (auto _ : state) {
    pivot::internal::bag_pack(s, tuple);
    baggage::encode_into(text);
    Baggage sent = baggage::take();  // the client's request is done
    {
      baggage::Scope scope(baggage::decode(text));
      bool overflowed;
      benchmark::DoNotOptimize(pivot::internal::bag_unpack(s, out, &overflowed));
    }
    benchmark::DoNotOptimize(sent);
  }
  if (out.size() != 1 || out[0][0].as_string() != "GET") state.SkipWithError("wrong tuple");
}
BENCHMARK(BM_PackEncodeDecodeUnpack_OneSmallTuple);
// A fixed count, for counting instructions under callgrind, where timing is
// meaningless (docs/performance.md):
//   valgrind --tool=callgrind ./baggage_bench --benchmark_filter=iterations:20000
BENCHMARK(BM_PackEncodeDecodeUnpack_OneSmallTuple)->Iterations(20000);

// The same with encode() returning a new string each time (one allocation).
void BM_PackEncodeDecodeUnpack_OneSmallTuple_NewString(benchmark::State& state) {
  (void)baggage::take();
  const BagSpec s = spec();
  const Value tuple[] = {Value("GET")};
  std::vector<Tuple> out;
  for (auto _ : state) {
    pivot::internal::bag_pack(s, tuple);
    std::string text = baggage::encode();
    Baggage sent = baggage::take();
    {
      baggage::Scope scope(baggage::decode(text));
      bool overflowed;
      benchmark::DoNotOptimize(pivot::internal::bag_unpack(s, out, &overflowed));
    }
    benchmark::DoNotOptimize(sent);
  }
  if (out.size() != 1 || out[0][0].as_string() != "GET") state.SkipWithError("wrong tuple");
}
BENCHMARK(BM_PackEncodeDecodeUnpack_OneSmallTuple_NewString);

// The binary form, for binary RPC frames: no base64url either way.
void BM_PackEncodeDecodeUnpack_OneSmallTuple_Binary(benchmark::State& state) {
  (void)baggage::take();
  const BagSpec s = spec();
  const Value tuple[] = {Value("GET")};
  std::vector<Tuple> out;
  std::string bytes;
  for (auto _ : state) {
    pivot::internal::bag_pack(s, tuple);
    baggage::encode_binary_into(bytes);
    Baggage sent = baggage::take();
    {
      pivot::Result<Baggage> received = baggage::decode_binary(bytes);
      baggage::Scope scope(received ? std::move(*received) : Baggage());
      bool overflowed;
      benchmark::DoNotOptimize(pivot::internal::bag_unpack(s, out, &overflowed));
    }
    benchmark::DoNotOptimize(sent);
  }
  if (out.size() != 1 || out[0][0].as_string() != "GET") state.SkipWithError("wrong tuple");
}
BENCHMARK(BM_PackEncodeDecodeUnpack_OneSmallTuple_Binary);

void BM_Pack_OneSmallTuple(benchmark::State& state) {
  (void)baggage::take();
  const BagSpec s = spec();
  const Value tuple[] = {Value("GET")};
  for (auto _ : state) {
    pivot::internal::bag_pack(s, tuple);
    Baggage b = baggage::take();
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(BM_Pack_OneSmallTuple);

void BM_Unpack_OneSmallTuple(benchmark::State& state) {
  (void)baggage::take();
  const BagSpec s = spec();
  const Value tuple[] = {Value("GET")};
  pivot::internal::bag_pack(s, tuple);
  std::vector<Tuple> out;
  for (auto _ : state) {
    bool overflowed;
    benchmark::DoNotOptimize(pivot::internal::bag_unpack(s, out, &overflowed));
  }
  (void)baggage::take();
}
BENCHMARK(BM_Unpack_OneSmallTuple);

void BM_UnpackEmptyBaggage(benchmark::State& state) {
  (void)baggage::take();
  const BagSpec s = spec();
  std::vector<Tuple> out;
  for (auto _ : state) {
    bool overflowed;
    benchmark::DoNotOptimize(pivot::internal::bag_unpack(s, out, &overflowed));
  }
}
BENCHMARK(BM_UnpackEmptyBaggage);

void BM_Encode(benchmark::State& state) {
  fill(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = baggage::encode();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["text_bytes"] = static_cast<double>(bytes);
  (void)baggage::take();
}
BENCHMARK(BM_Encode)->Arg(1)->Arg(4)->Arg(16)->Arg(60);

void BM_Decode(benchmark::State& state) {
  fill(static_cast<int>(state.range(0)));
  std::string text = baggage::encode();
  (void)baggage::take();
  for (auto _ : state) {
    Baggage b = baggage::decode(text);
    benchmark::DoNotOptimize(b);
  }
  state.counters["text_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_Decode)->Arg(1)->Arg(4)->Arg(16)->Arg(60);

// Fork for a child, which packs nothing, and join it back.
void BM_ForkJoin(benchmark::State& state) {
  fill(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    Baggage branch = baggage::fork();
    baggage::join(std::move(branch));
  }
  (void)baggage::take();
}
BENCHMARK(BM_ForkJoin)->Arg(1)->Arg(4)->Arg(16);

// Fork, the child packs one tuple, join; the parent packs one too. A
// MostRecent-4 bag keeps the size steady.
void BM_ForkPackJoin(benchmark::State& state) {
  (void)baggage::take();
  const BagSpec s = spec(PackMode::kMostRecentN, 4);
  const Value tuple[] = {Value("GET"), Value(int64_t{42})};
  for (int i = 0; i < 4; ++i) pivot::internal::bag_pack(s, tuple);
  for (auto _ : state) {
    Baggage branch = baggage::fork();
    {
      baggage::Scope scope(std::move(branch));
      pivot::internal::bag_pack(s, tuple);
      branch = baggage::take();
    }
    pivot::internal::bag_pack(s, tuple);
    baggage::join(std::move(branch));
  }
  (void)baggage::take();
}
BENCHMARK(BM_ForkPackJoin);

// A task handed to a pool (baggage::wrap) and run: a fork at wrap time and
// the fork made current for the call. The task only reads (UNPACK).
void BM_WrapAndCall(benchmark::State& state) {
  fill(static_cast<int>(state.range(0)));
  const BagSpec s = spec();
  std::vector<Tuple> out;
  for (auto _ : state) {
    auto task = baggage::wrap([&] { return pivot::internal::bag_unpack(s, out, nullptr); });
    benchmark::DoNotOptimize(task());
  }
  (void)baggage::take();
}
BENCHMARK(BM_WrapAndCall)->Arg(1)->Arg(4)->Arg(16);

}  // namespace
