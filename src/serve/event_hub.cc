#include "serve/event_hub.h"

#include <algorithm>
#include <chrono>

namespace pivot::serve {

std::shared_ptr<EventHub::Subscriber> EventHub::subscribe(const std::string& query) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return nullptr;
  if (subs_.size() >= limits_.max_sse_clients) {
    counters_->hit(Limit::kSseClients);
    return nullptr;
  }
  auto s = std::make_shared<Subscriber>();
  s->query = query;
  subs_.push_back(s);
  return s;
}

void EventHub::unsubscribe(const std::shared_ptr<Subscriber>& s) {
  std::lock_guard<std::mutex> lock(mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
}

void EventHub::publish(const std::string& query, const std::string& type, const std::string& json) {
  // SSE data may not hold a newline; the JSON here is one line.
  std::string text = "event: " + type + "\ndata: " + json + "\n\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : subs_) {
      if (s->cut_off || (!s->query.empty() && s->query != query)) continue;
      if (s->queue.size() >= limits_.sse_backlog ||
          s->queued_bytes + text.size() > limits_.sse_backlog_bytes) {
        s->cut_off = true;
        s->queue.clear();
        s->queued_bytes = 0;
        counters_->hit(Limit::kSseSlowClient);
        continue;
      }
      s->queued_bytes += text.size();
      s->queue.push_back(text);
    }
  }
  cv_.notify_all();
}

std::optional<std::string> EventHub::next(Subscriber& s, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
               [&] { return closed_ || s.cut_off || !s.queue.empty(); });
  if (closed_ || s.cut_off) return std::nullopt;
  if (s.queue.empty()) return std::string();
  std::string text = std::move(s.queue.front());
  s.queue.pop_front();
  s.queued_bytes -= text.size();
  return text;
}

void EventHub::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

size_t EventHub::clients() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subs_.size();
}

}  // namespace pivot::serve
