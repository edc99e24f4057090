// A multi-threaded in-process workload whose true answers the test knows.
//
// Each request starts on a client thread, fires ClientProtocols one to three
// times (so First, MostRecent and the N variants differ) and DoNextOp, then
// makes a simulated RPC: its baggage is encoded into a "header", a server
// pool thread decodes it, serves the request and encodes its baggage back,
// and the client joins that response. The server looks up block locations
// (a list-valued export), reads blocks in branches handed to a transfer pool
// with baggage::wrap, joins each branch's baggage back, and reads a tail
// after the join. Every query's expected answer is computed from the
// generated requests, independently of pivot.
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <random>
#include <set>

#include "pivot/pivot.h"
#include "support/thread_pool.h"

namespace {

using pivot::ResultTable;
using pivot::Value;
using Rows = std::vector<std::vector<Value>>;

struct Read {
  std::string dn;
  int64_t bytes;
};

struct Request {
  std::vector<std::string> apps;  // ClientProtocols in order
  std::string file;
  std::vector<std::string> replicas;
  std::vector<Read> reads;  // one branch each
  int64_t tail_bytes;
  int64_t client_bytes;
};

void client_protocols(const std::string& procName) { PIVOT_TRACEPOINT("W.ClientProtocols", procName); }
void do_next_op(const std::string& src) { PIVOT_TRACEPOINT("W.DoNextOp", PIVOT_EXPORT("op", "read"), src); }
void receive_request() { PIVOT_TRACEPOINT("W.ReceiveRequest", PIVOT_EXPORT("op", "read")); }
void send_response() { PIVOT_TRACEPOINT("W.SendResponse", PIVOT_EXPORT("op", "read")); }
void get_block_locations(const std::string& src, const std::vector<std::string>& replicas) {
  PIVOT_TRACEPOINT("W.GetBlockLocations", src, replicas);
}
void data_transfer(const std::string& dn, const std::string& src, int64_t bytes) {
  PIVOT_TRACEPOINT("W.DataTransfer", dn, src, bytes);
}
void incr_bytes_read(int64_t delta) { PIVOT_TRACEPOINT("W.incrBytesRead", delta); }

std::vector<Request> make_requests(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<std::string> apps = {"HBase", "MapReduce", "FSread"};
  const std::vector<std::string> dns = {"dn1", "dn2", "dn3", "dn4"};
  auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<uint32_t>(k)); };
  std::vector<Request> out;
  for (int i = 0; i < n; ++i) {
    Request r;
    int n_apps = 1 + pick(3);
    for (int a = 0; a < n_apps; ++a) r.apps.push_back(apps[pick(3)]);
    r.file = "f" + std::to_string(pick(5));
    std::vector<std::string> pool = dns;
    std::shuffle(pool.begin(), pool.end(), rng);
    r.replicas.assign(pool.begin(), pool.begin() + 3);
    int n_reads = 1 + pick(3);
    for (int k = 0; k < n_reads; ++k) r.reads.push_back({r.replicas[pick(3)], 1 + pick(5000)});
    r.tail_bytes = pick(100);
    r.client_bytes = 1 + pick(10);
    out.push_back(std::move(r));
  }
  return out;
}

// The system under observation.
class Workload {
 public:
  explicit Workload(int clients = 3) : clients_(clients) {}

  void run(const std::vector<Request>& requests) {
    std::vector<std::thread> threads;
    for (int c = 0; c < clients_; ++c) {
      threads.emplace_back([&, c] {
        for (size_t i = c; i < requests.size(); i += clients_) client(requests[i]);
      });
    }
    for (auto& t : threads) t.join();
  }

 private:
  void client(const Request& r) {
    pivot::baggage::Scope scope{pivot::Baggage()};  // a new causal execution
    for (const std::string& app : r.apps) client_protocols(app);
    do_next_op(r.file);
    std::string header = pivot::baggage::encode();  // the request header
    std::string response = servers_
                               .submit([this, &r, header] {
                                 pivot::baggage::Scope s{pivot::baggage::decode(header)};
                                 serve(r);
                                 return pivot::baggage::encode();
                               })
                               .get();
    pivot::baggage::join(pivot::baggage::decode(response));
    incr_bytes_read(r.client_bytes);
  }

  void serve(const Request& r) {
    receive_request();
    get_block_locations(r.file, r.replicas);
    std::vector<std::future<pivot::Baggage>> branches;
    for (const Read& read : r.reads) {
      branches.push_back(transfers_.submit(pivot::baggage::wrap([&r, read] {
        data_transfer(read.dn, r.file, read.bytes);
        incr_bytes_read(read.bytes);
        return pivot::baggage::take();
      })));
    }
    for (auto& b : branches) pivot::baggage::join(b.get());
    incr_bytes_read(r.tail_bytes);
    send_response();
  }

  int clients_;
  pivot::testing::ThreadPool servers_{2};
  pivot::testing::ThreadPool transfers_{2};
};

Rows sorted(Rows rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

template <class K>
Rows rows_of(const std::map<K, int64_t>& m) {
  Rows out;
  for (const auto& [k, v] : m) out.push_back({Value(k), Value(v)});
  return sorted(out);
}

std::string show(const Rows& rows) {
  std::string s;
  for (const auto& r : rows) {
    s += "[";
    for (const auto& v : r) s += v.to_json() + " ";
    s += "] ";
  }
  return s;
}

int64_t total_bytes(const Request& r) {
  int64_t t = r.tail_bytes + r.client_bytes;
  for (const Read& read : r.reads) t += read.bytes;
  return t;
}

class WorkloadTest : public ::testing::Test {
 protected:
  void SetUp() override { requests_ = make_requests(240, 20261127); }

  // Installs `query`, runs the workload, returns the answer.
  ResultTable answer(const std::string& query) {
    auto q = session_.install(query);
    EXPECT_TRUE(q) << q.error().message();
    if (!q) return {};
    Workload().run(requests_);
    ResultTable t = session_.results(*q);
    EXPECT_TRUE(session_.uninstall(*q).ok());
    return t;
  }

  void expect_rows(const ResultTable& t, const Rows& expected) {
    EXPECT_FALSE(t.incomplete);
    EXPECT_EQ(show(t.rows), show(expected));
  }

  pivot::Session session_;
  std::vector<Request> requests_;
};

TEST_F(WorkloadTest, GroupByCountsEveryEvent) {
  std::map<std::string, int64_t> want;
  for (const auto& r : requests_) {
    for (const auto& read : r.reads) ++want[read.dn];
  }
  ResultTable t = answer("From d In W.DataTransfer GroupBy d.dn Select d.dn, COUNT");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"d.dn", "COUNT"}));
  expect_rows(t, rows_of(want));
}

TEST_F(WorkloadTest, FirstJoinIsTheSeedQuery) {
  std::map<std::string, int64_t> want;
  for (const auto& r : requests_) want[r.apps.front()] += total_bytes(r);
  expect_rows(answer("From incr In W.incrBytesRead\n"
                     "Join cl In First(W.ClientProtocols) On cl -> incr\n"
                     "GroupBy cl.procName\n"
                     "Select cl.procName, SUM(incr.delta)"),
              rows_of(want));
}

TEST_F(WorkloadTest, MostRecentJoinTakesTheLatest) {
  std::map<std::string, int64_t> want;
  for (const auto& r : requests_) want[r.apps.back()] += total_bytes(r);
  expect_rows(answer("From incr In W.incrBytesRead Join cl In MostRecent(W.ClientProtocols) On cl -> incr "
                     "GroupBy cl.procName Select cl.procName, SUM(incr.delta)"),
              rows_of(want));
}

TEST_F(WorkloadTest, PlainJoinIsACrossProduct) {
  std::map<std::string, int64_t> sum, count;
  for (const auto& r : requests_) {
    int events = static_cast<int>(r.reads.size()) + 2;  // branches, tail, client
    for (const auto& app : r.apps) {
      sum[app] += total_bytes(r);
      count[app] += events;
    }
  }
  Rows want;
  for (const auto& [app, s] : sum) want.push_back({Value(app), Value(s), Value(count[app])});
  expect_rows(answer("From incr In W.incrBytesRead Join cl In W.ClientProtocols On cl -> incr "
                     "GroupBy cl.procName Select cl.procName, SUM(incr.delta), COUNT"),
              sorted(want));
}

TEST_F(WorkloadTest, FirstNAndMostRecentNKeepN) {
  std::map<std::string, int64_t> first2, last2;
  for (const auto& r : requests_) {
    size_t n = std::min<size_t>(2, r.apps.size());
    for (size_t i = 0; i < n; ++i) first2[r.apps[i]] += total_bytes(r);
    for (size_t i = r.apps.size() - n; i < r.apps.size(); ++i) last2[r.apps[i]] += total_bytes(r);
  }
  expect_rows(answer("From incr In W.incrBytesRead Join cl In FirstN(W.ClientProtocols, 2) On cl -> incr "
                     "GroupBy cl.procName Select cl.procName, SUM(incr.delta)"),
              rows_of(first2));
  expect_rows(
      answer("From incr In W.incrBytesRead Join cl In MostRecentN(W.ClientProtocols, 2) On cl -> incr "
             "GroupBy cl.procName Select cl.procName, SUM(incr.delta)"),
      rows_of(last2));
}

TEST_F(WorkloadTest, WhereFiltersOnBothSidesOfAJoin) {
  std::map<std::string, int64_t> want;
  for (const auto& r : requests_) {
    if (r.file != "f3") continue;
    for (const auto& read : r.reads) {
      if (read.bytes > 1000) want[read.dn] += read.bytes;
    }
  }
  const std::string q =
      "From d In W.DataTransfer Join st In W.DoNextOp On st -> d\n"
      "Where st.src == \"f3\" And d.bytes > 1000\n"
      "GroupBy d.dn Select d.dn, SUM(d.bytes)";
  expect_rows(answer(q), rows_of(want));
  // The filter on st runs where st is observed, before packing.
  auto e = session_.explain(q);
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(
      *e,
      "A1 @ W.DoNextOp: OBSERVE src; FILTER src == \"f3\"; PACK-AGG q1.st(COUNT)\n"
      "A2 @ W.DataTransfer: OBSERVE dn, bytes; UNPACK q1.st(COUNT); FILTER bytes > 1000; EMIT q1 GROUP(dn) "
      "SUM(bytes)\n");
}

TEST_F(WorkloadTest, LetComputesPerRow) {
  std::map<std::string, int64_t> want;
  for (const auto& r : requests_) {
    for (const auto& read : r.reads) want[read.dn] += read.bytes / 1024;
  }
  expect_rows(answer("From d In W.DataTransfer Let kb = d.bytes / 1024 GroupBy d.dn Select d.dn, SUM(kb)"),
              rows_of(want));
}

TEST_F(WorkloadTest, AverageMinMax) {
  int64_t sum = 0, n = 0, lo = INT64_MAX, hi = 0;
  for (const auto& r : requests_) {
    for (const auto& read : r.reads) {
      sum += read.bytes;
      ++n;
      lo = std::min(lo, read.bytes);
      hi = std::max(hi, read.bytes);
    }
  }
  ResultTable t = answer("From d In W.DataTransfer Select AVG(d.bytes), MIN(d.bytes), MAX(d.bytes), COUNT");
  expect_rows(t,
              {{Value(static_cast<double>(sum) / static_cast<double>(n)), Value(lo), Value(hi), Value(n)}});
}

TEST_F(WorkloadTest, UnionTreatsTracepointsAsOne) {
  ResultTable t = answer("From x In Union(W.ReceiveRequest, W.SendResponse) GroupBy x.op Select x.op, COUNT");
  expect_rows(t, {{Value("read"), Value(static_cast<int64_t>(2 * requests_.size()))}});
}

TEST_F(WorkloadTest, ListValuedExportRunsAdvicePerElement) {
  std::map<std::string, int64_t> want;
  for (const auto& r : requests_) {
    for (const auto& dn : r.replicas) ++want[dn];
  }
  expect_rows(answer("From g In W.GetBlockLocations GroupBy g.replicas Select g.replicas, COUNT"),
              rows_of(want));
}

TEST_F(WorkloadTest, ThreeWayJoinLikeQ7) {
  // st -> g -> d, with a filter that needs the first variable and the last,
  // and a list-valued export packed once per element.
  std::map<std::pair<std::string, std::string>, int64_t> want;
  for (const auto& r : requests_) {
    for (const auto& read : r.reads) {
      if (r.file != "f1" && read.bytes <= 2500) continue;
      for (const auto& rep : r.replicas) ++want[{read.dn, rep}];
    }
  }
  Rows rows;
  for (const auto& [k, v] : want) rows.push_back({Value(k.first), Value(k.second), Value(v)});
  expect_rows(answer("From d In W.DataTransfer\n"
                     "Join g In W.GetBlockLocations On g -> d\n"
                     "Join st In W.DoNextOp On st -> g\n"
                     "Where st.src == \"f1\" Or d.bytes > 2500\n"
                     "GroupBy d.dn, g.replicas\n"
                     "Select d.dn, g.replicas, COUNT"),
              sorted(rows));
}

TEST_F(WorkloadTest, BranchesJoinWithoutDoubleCounting) {
  // The tail read after the branches join sees every branch's transfer once;
  // the client's read after the response sees them too.
  std::map<std::string, int64_t> want;
  for (const auto& r : requests_) {
    for (const auto& read : r.reads) want[read.dn] += read.bytes + r.tail_bytes + r.client_bytes;
  }
  expect_rows(answer("From incr In W.incrBytesRead Join d In W.DataTransfer On d -> incr "
                     "GroupBy d.dn Select d.dn, SUM(incr.delta)"),
              rows_of(want));
}

TEST_F(WorkloadTest, CompositionUsesAnEarlierQueryAsASource) {
  std::map<std::string, int64_t> sum, count;
  for (const auto& r : requests_) {
    for (const auto& read : r.reads) {
      sum[r.apps.front()] += read.bytes;
      ++count[r.apps.front()];
    }
  }
  Rows want;
  for (const auto& [app, s] : sum) want.push_back({Value(app), Value(s), Value(count[app])});
  auto q = session_.install(
      "Reads = From d In W.DataTransfer Join cl In First(W.ClientProtocols) On cl -> d\n"
      "        Select cl.procName As app, d.bytes As bytes;\n"
      "From r In Reads GroupBy r.app Select r.app, SUM(r.bytes), COUNT");
  ASSERT_TRUE(q) << q.error().message();
  Workload().run(requests_);
  expect_rows(session_.results(*q), sorted(want));
  auto reads = session_.results(*q, "Reads");
  ASSERT_TRUE(reads);
  EXPECT_EQ(reads->rows.size(),
            static_cast<size_t>(std::accumulate(count.begin(), count.end(), int64_t{0},
                                                [](int64_t a, const auto& kv) { return a + kv.second; })));
}

TEST_F(WorkloadTest, LatencyQueryReturnsOneTuplePerRequest) {
  ResultTable t = answer(
      "From response In W.SendResponse Join request In MostRecent(W.ReceiveRequest) On request -> response "
      "Select response.timestamp - request.timestamp");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"response.timestamp - request.timestamp"}));
  ASSERT_EQ(t.rows.size(), requests_.size());
  for (const auto& row : t.rows) {
    ASSERT_TRUE(row[0].is_int());
    EXPECT_GE(row[0].as_int(), 0);
    EXPECT_LT(row[0].as_int(), 10'000'000'000);
  }
}

TEST_F(WorkloadTest, OverflowMakesResultsIncomplete) {
  size_t cap = pivot::baggage::byte_cap();
  pivot::baggage::set_byte_cap(24);
  ResultTable t = answer(
      "From incr In W.incrBytesRead Join st In W.DoNextOp On st -> incr "
      "Join g In W.GetBlockLocations On g -> incr Join d In W.DataTransfer On d -> incr "
      "GroupBy d.dn, g.src Select d.dn, g.src, COUNT");
  pivot::baggage::set_byte_cap(cap);
  EXPECT_TRUE(t.incomplete);
  EXPECT_NE(t.to_json().find("\"incomplete\":true"), std::string::npos);
}

}  // namespace
