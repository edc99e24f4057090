#include "pivot/session.h"

#include <map>
#include <mutex>
#include <random>

#include "advice/interpreter.h"
#include "aggregate/collector.h"
#include "planner/catalog.h"
#include "planner/planner.h"
#include "tracepoint/registry.h"

namespace pivot {
namespace {

uint64_t random_uid() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mu);
  return rng();
}

// One query of an installed text: its collector and what it has gathered.
struct InstalledQuery {
  planner::QueryPlan plan;
  std::unique_ptr<aggregate::Collector> collector;
  std::unique_ptr<aggregate::Partial> total;
};

struct Installed {
  std::atomic<bool> enabled{false};
  std::vector<InstalledQuery> queries;
  std::vector<advice::ProgramPtr> programs;
};

ResultTable to_table(const InstalledQuery& q) {
  ResultTable t;
  t.columns = q.plan.columns;
  for (const auto& row : q.total->rows()) {
    std::vector<Value> out;
    for (uint32_t i : q.plan.column_index) out.push_back(i < row.size() ? row[i] : Value());
    t.rows.push_back(std::move(out));
  }
  t.incomplete = q.total->incomplete();
  t.dropped = q.total->dropped();
  return t;
}

}  // namespace

struct Session::Impl {
  std::mutex mu;
  std::map<uint64_t, std::unique_ptr<Installed>> installed;

  void remove(Installed& in) {
    in.enabled.store(false, std::memory_order_relaxed);
    advice::remove_programs(in.programs);  // waits until no thread runs them
  }
};

Session::Session() : impl_(std::make_unique<Impl>()) {}

Session::~Session() {
  for (auto& [id, in] : impl_->installed) impl_->remove(*in);
}

Result<QueryId> Session::install(std::string_view text) {
  uint64_t uid = random_uid();
  auto plan = planner::compile(text, planner::local_catalog(), uid);
  if (!plan) return plan.error();
  auto in = std::make_unique<Installed>();
  for (planner::QueryPlan& qp : plan->queries) {
    auto collector = aggregate::Collector::create(qp.shape);
    if (!collector) return collector.error();
    InstalledQuery q;
    q.collector = std::move(*collector);
    q.total = std::make_unique<aggregate::Partial>(&q.collector->shape());
    for (auto& prog : qp.programs) {
      prog->enabled = &in->enabled;
      if (prog->emit) prog->emit->collector = q.collector.get();
      in->programs.push_back(prog);
    }
    q.plan = std::move(qp);
    in->queries.push_back(std::move(q));
  }
  advice::install_programs(in->programs);
  in->enabled.store(true, std::memory_order_release);  // every program of the text at once
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->installed[uid] = std::move(in);
  return QueryId{uid};
}

Status Session::uninstall(QueryId q) {
  std::unique_ptr<Installed> in;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto it = impl_->installed.find(q.value);
    if (it == impl_->installed.end()) return Error("no installed query with id " + std::to_string(q.value));
    in = std::move(it->second);
    impl_->installed.erase(it);
  }
  impl_->remove(*in);
  return Status();
}

ResultTable Session::results(QueryId q) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->installed.find(q.value);
  if (it == impl_->installed.end() || it->second->queries.empty()) return ResultTable{};
  InstalledQuery& last = it->second->queries.back();
  last.total->merge(last.collector->collect());
  return to_table(last);
}

Result<ResultTable> Session::results(QueryId q, std::string_view name) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->installed.find(q.value);
  if (it == impl_->installed.end()) return Error("no installed query with id " + std::to_string(q.value));
  for (InstalledQuery& iq : it->second->queries) {
    if (iq.plan.label == name) {
      iq.total->merge(iq.collector->collect());
      return to_table(iq);
    }
  }
  return Error("the installed text has no query named '" + std::string(name) + "'");
}

Result<std::string> Session::explain(std::string_view text) const {
  auto plan = planner::compile(text, planner::local_catalog(), 0);
  if (!plan) return plan.error();
  return plan->explain();
}

std::vector<TracepointInfo> Session::tracepoints() {
  std::vector<TracepointInfo> out;
  for (const auto& tp : internal::list_tracepoints()) {
    TracepointInfo t{tp.name, {}, tp.sites};
    for (const auto& e : tp.exports) t.exports.push_back({std::string(e.name), e.type, e.is_list});
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace pivot
