#include "serve/query_manager.h"

namespace pivot::serve {

QueryManager::QueryManager(LinkFactory make_link, const ServeLimits& limits, LimitCounters* counters,
                           EventHub* hub, std::string state_path, otlp::HttpExporter* otlp)
    : make_link_(std::move(make_link)),
      limits_(limits),
      counters_(counters),
      hub_(hub),
      otlp_(otlp),
      state_path_(std::move(state_path)) {}

QueryManager::~QueryManager() { shutdown(); }

Result<size_t> QueryManager::restore() {
  auto specs = load_state(state_path_);
  if (!specs) return specs.error();
  std::vector<std::shared_ptr<ManagedQuery>> started;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const QuerySpec& spec : *specs) {
      if (queries_.count(spec.name)) continue;
      auto q = std::make_shared<ManagedQuery>(spec, make_link_, limits_, counters_, hub_, otlp_);
      queries_[spec.name] = q;
      started.push_back(q);
    }
  }
  // The agents may not be up yet (serve restarted first): retry.
  for (auto& q : started) q->start(true);
  return specs->size();
}

Result<std::shared_ptr<ManagedQuery>> QueryManager::add(const QuerySpec& spec, int* http_status) {
  if (auto s = validate(spec); !s) {
    *http_status = 400;
    return s.error();
  }
  auto q = std::make_shared<ManagedQuery>(spec, make_link_, limits_, counters_, hub_, otlp_);
  {
    // The name is taken at once, so two requests for it cannot both install.
    std::lock_guard<std::mutex> lock(mu_);
    if (queries_.count(spec.name)) {
      *http_status = 409;
      return Error("a query named '" + spec.name + "' is already managed; stop it first");
    }
    if (queries_.size() >= limits_.max_queries) {
      counters_->hit(Limit::kQueries);
      *http_status = 429;
      return Error("serve already manages " + std::to_string(limits_.max_queries) +
                   " queries (--max-queries); stop one first");
    }
    queries_[spec.name] = q;
  }
  q->start(false);
  if (q->wait_settled(kInstallWaitMs) == QueryState::kFailed) {
    QueryStatus failed = q->status();
    std::lock_guard<std::mutex> lock(mu_);
    queries_.erase(spec.name);
    *http_status = 422;
    return failed.error;
  }
  save();
  *http_status = q->status().state == QueryState::kStarting ? 202 : 201;
  return q;
}

std::shared_ptr<ManagedQuery> QueryManager::find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = queries_.find(name);
  return it == queries_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<ManagedQuery>> QueryManager::all() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<ManagedQuery>> out;
  for (const auto& [name, q] : queries_) out.push_back(q);
  return out;
}

std::unique_ptr<QueryStatus> QueryManager::remove(const std::string& name) {
  std::shared_ptr<ManagedQuery> q;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = queries_.find(name);
    if (it == queries_.end()) return nullptr;
    q = std::move(it->second);
    queries_.erase(it);
  }
  save();
  return std::make_unique<QueryStatus>(q->stop());
}

bool QueryManager::set_paused(const std::string& name, bool paused) {
  auto q = find(name);
  if (!q) return false;
  if (paused)
    q->pause();
  else
    q->resume();
  save();
  return true;
}

void QueryManager::shutdown() {
  std::map<std::string, std::shared_ptr<ManagedQuery>> queries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queries.swap(queries_);
  }
  // All flush at once: serve stops in one flush's time, not one per query.
  for (auto& [name, q] : queries) q->request_stop();
  for (auto& [name, q] : queries) (void)q->stop();
}

std::string QueryManager::save_error() const {
  std::lock_guard<std::mutex> lock(save_mu_);
  return save_error_;
}

void QueryManager::save() {
  std::lock_guard<std::mutex> lock(save_mu_);
  std::vector<QuerySpec> specs;
  for (const auto& q : all()) specs.push_back(q->spec());
  Status s = save_state(state_path_, specs);
  save_error_ = s ? "" : s.error().message();
}

}  // namespace pivot::serve
