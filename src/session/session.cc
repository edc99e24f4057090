#include "pivot/session.h"

#include <map>
#include <mutex>
#include <random>

#include "planner/catalog.h"
#include "session/installation.h"
#include "tracepoint/registry.h"

namespace pivot {
namespace {

uint64_t random_uid() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mu);
  return rng();
}

// An installed text and the running totals of its queries.
struct Installed {
  std::unique_ptr<session::Installation> installation;
  std::vector<std::unique_ptr<aggregate::Partial>> totals;

  ResultTable table(size_t i) {
    std::vector<aggregate::Partial> deltas = installation->collect();
    for (size_t k = 0; k < deltas.size(); ++k) totals[k]->merge(deltas[k]);
    session::derive(installation->plans(), totals);
    return session::to_table(installation->plans()[i], *totals[i]);
  }
};

}  // namespace

struct Session::Impl {
  std::mutex mu;
  std::map<uint64_t, std::unique_ptr<Installed>> installed;
};

Session::Session() : impl_(std::make_unique<Impl>()) {}
Session::~Session() = default;  // each Installation removes its advice

Result<QueryId> Session::install(std::string_view text) { return install(text, InstallOptions{}); }

Result<QueryId> Session::install(std::string_view text, const InstallOptions& options) {
  static_assert(InstallOptions{}.max_groups == aggregate::kDefaultMaxGroups);
  uint64_t uid = random_uid();
  auto in = session::Installation::create(text, planner::local_catalog(), uid,
                                          session::MissingFunctions::kError, options.max_groups);
  if (!in) return in.error();
  auto installed = std::make_unique<Installed>();
  for (const planner::QueryPlan& plan : (*in)->plans()) {
    installed->totals.push_back(std::make_unique<aggregate::Partial>(&plan.shape));
  }
  installed->installation = std::move(*in);
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->installed[uid] = std::move(installed);
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
  return Status();  // `in` is destroyed here, outside the lock: removal waits a grace period
}

ResultTable Session::results(QueryId q) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->installed.find(q.value);
  if (it == impl_->installed.end()) return ResultTable{};
  return it->second->table(it->second->totals.size() - 1);
}

Result<ResultTable> Session::results(QueryId q, std::string_view name) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->installed.find(q.value);
  if (it == impl_->installed.end()) return Error("no installed query with id " + std::to_string(q.value));
  const auto& plans = it->second->installation->plans();
  for (size_t i = 0; i < plans.size(); ++i) {
    if (plans[i].label == name) return it->second->table(i);
  }
  return Error("the installed text has no query named '" + std::string(name) + "'");
}

Result<std::string> Session::explain(std::string_view text) const {
  // Defined tracepoints are resolved (not hooked), for their types and
  // errors; a line per function says where its exports are read from.
  std::vector<std::string> functions;
  auto typer = [&](const hook::ProbeSpec& spec) -> Result<std::vector<ValueType>> {
    auto probe = hook::make_probe(spec, hook::symbols());
    if (!probe) return probe.error();
    for (std::string& line : hook::describe(*probe)) functions.push_back(std::move(line));
    return probe->types;
  };
  auto plan = planner::compile(text, planner::local_catalog(), 0, typer);
  if (!plan) return plan.error();
  std::string out = plan->explain();
  for (const std::string& line : functions) out += line + "\n";
  return out;
}

std::vector<TracepointInfo> Session::tracepoints() {
  std::vector<TracepointInfo> out;
  for (const auto& tp : internal::list_tracepoints()) {
    TracepointInfo t{tp.name, {}, tp.sites};
    for (const auto& e : tp.exports) t.exports.push_back({std::string(e.name), e.type, e.is_list, e.unit});
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace pivot
