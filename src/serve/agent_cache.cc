#include "serve/agent_cache.h"

#include <chrono>

#include "core/clock.h"
#include "wire/protocol.h"

namespace pivot::serve {

void AgentCache::start() {
  std::unique_ptr<frontend::Link> link;
  refresh(link);
  thread_ = std::thread([this, link = std::move(link)]() mutable {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(refresh_ms_), [&] { return stopping_; })) {
      lock.unlock();
      refresh(link);
      lock.lock();
    }
  });
}

void AgentCache::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const AgentCache::View> AgentCache::get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return view_;
}

void AgentCache::refresh(std::unique_ptr<frontend::Link>& link) {
  auto view = std::make_shared<View>();
  if (!link) {
    // A NATS server that is down now may be up at the next refresh.
    auto made = make_link_();
    if (made)
      link = std::move(*made);
    else
      view->notes.push_back(made.error().message());
  }
  if (link) {
    view->agents = link->discover(&view->notes);
    if (view->agents.empty()) view->notes.push_back("no agents found " + link->where());
  }
  for (const frontend::AgentInfo& a : view->agents) {
    wire::merge_catalog(view->catalog, a.catalog);
    for (const auto& t : a.catalog.tracepoints) view->processes[t.name].insert(a.proc_name);
  }
  view->updated_ms = ::pivot::internal::wall_ms();
  std::lock_guard<std::mutex> lock(mu_);
  view_ = std::move(view);
}

}  // namespace pivot::serve
