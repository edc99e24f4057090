#include "serve/managed_query.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "core/clock.h"
#include "otlp/query_metrics.h"
#include "pivot/internal/json.h"
#include "pivot/value.h"

namespace pivot::serve {

using ::pivot::internal::wall_ms;

const char* state_name(QueryState s) {
  switch (s) {
    case QueryState::kStarting: return "starting";
    case QueryState::kRunning: return "running";
    case QueryState::kRetrying: return "retrying";
    case QueryState::kFailed: return "failed";
    case QueryState::kPaused: return "paused";
    case QueryState::kStopped: return "stopped";
  }
  return "failed";
}

namespace {

// One interval as the window keeps it and the stream sends it; the stream
// adds the running total, so a client needs no second request.
std::string interval_json(const frontend::Snapshot& s, const std::string* query) {
  std::string out = "{";
  if (query) {
    out += "\"query\":";
    internal::append_json_string(out, *query);
    out += ",";
  }
  out += "\"time\":" + std::to_string(s.time_ms) + ",\"agents\":" + std::to_string(s.agents) +
         ",\"interval\":" + s.interval.to_json() + ",\"lost\":" + std::to_string(s.lost_reports) +
         ",\"incomplete\":" + (s.total.incomplete ? "true" : "false") +
         ",\"dropped\":" + std::to_string(s.total.dropped) + ",\"events\":[";
  for (size_t i = 0; i < s.events.size(); ++i) {
    if (i) out += ',';
    internal::append_json_string(out, s.events[i]);
  }
  out += "]";
  if (query) out += ",\"total\":" + s.total.to_json() + ",\"final\":" + (s.final ? "true" : "false");
  return out + "}";
}

}  // namespace

ManagedQuery::ManagedQuery(QuerySpec spec, LinkFactory make_link, const ServeLimits& limits,
                           LimitCounters* counters, EventHub* hub, otlp::HttpExporter* otlp)
    : name_(spec.name),
      make_link_(std::move(make_link)),
      limits_(limits),
      counters_(counters),
      otlp_(otlp),
      hub_(hub) {
  status_.spec = std::move(spec);
  status_.state = status_.spec.paused ? QueryState::kPaused : QueryState::kStarting;
}

ManagedQuery::~ManagedQuery() {
  std::lock_guard<std::mutex> lock(control_mu_);
  stop_worker();
}

void ManagedQuery::start(bool retry) {
  std::lock_guard<std::mutex> lock(control_mu_);
  if (spec().paused || worker_.joinable()) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    settled_ = false;
  }
  set_state(QueryState::kStarting);
  stop_ = false;
  worker_ = std::thread([this, retry] { run(retry); });
}

QueryState ManagedQuery::wait_settled(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  settled_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return settled_; });
  return status_.state;
}

void ManagedQuery::request_stop() {
  {
    // Under mu_, so a worker about to wait for its retry sees the flag.
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
}

void ManagedQuery::stop_worker() {
  request_stop();
  if (worker_.joinable()) worker_.join();
}

void ManagedQuery::pause() {
  std::lock_guard<std::mutex> lock(control_mu_);
  stop_worker();
  {
    std::lock_guard<std::mutex> l(mu_);
    status_.spec.paused = true;
    status_.state = QueryState::kPaused;
    status_.agents = 0;
  }
  publish_state(QueryState::kPaused, nullptr);
}

void ManagedQuery::resume() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!status_.spec.paused) return;
    status_.spec.paused = false;
  }
  start(true);
}

QueryStatus ManagedQuery::stop() {
  std::lock_guard<std::mutex> lock(control_mu_);
  stop_worker();
  QueryStatus last;
  {
    std::lock_guard<std::mutex> l(mu_);
    status_.state = QueryState::kStopped;
    status_.agents = 0;
    last = status_;
    last.window_intervals = window_.size();
  }
  publish_state(QueryState::kStopped, nullptr);
  return last;
}

QueryStatus ManagedQuery::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  QueryStatus s = status_;
  s.window_intervals = window_.size();
  return s;
}

QuerySpec ManagedQuery::spec() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_.spec;
}

std::vector<std::string> ManagedQuery::window(int64_t since_ms) const {
  // Intervals age out as new ones come; a paused query's must age too.
  since_ms = std::max(since_ms, wall_ms() - limits_.window_ms);
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const Record& r : window_) {
    if (r.time_ms > since_ms) out.push_back(r.json);
  }
  return out;
}

void ManagedQuery::set_state(QueryState s, const Error* error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.state = s;
    if (error) status_.error = *error;
    if (s != QueryState::kStarting) settled_ = true;
  }
  settled_cv_.notify_all();
  publish_state(s, error);
}

void ManagedQuery::publish_state(QueryState s, const Error* error) {
  std::string json = "{\"query\":";
  internal::append_json_string(json, name_);
  json += ",\"state\":\"" + std::string(state_name(s)) + "\"";
  if (error) {
    json += ",\"error\":";
    internal::append_json_string(json, error->message());
  }
  hub_->publish(name_, "state", json + "}");
}

void ManagedQuery::run(bool retry) {
  const QuerySpec spec = this->spec();
  frontend::QueryOptions options;
  options.interval_ms = spec.interval_ms;
  options.show = spec.show;
  options.max_groups = spec.max_groups;
  while (!stop_) {
    auto link = make_link_();
    std::unique_ptr<frontend::Frontend> fe;
    Result<std::vector<std::string>> started = Error("");
    if (link) {
      fe = std::make_unique<frontend::Frontend>(std::move(*link));
      fe->set_interrupt(&stop_);
      started = fe->start(spec.text, options);
    } else {
      started = link.error();
    }
    if (!started) {
      set_state(retry ? QueryState::kRetrying : QueryState::kFailed, &started.error());
      if (!retry) return;
      std::unique_lock<std::mutex> lock(mu_);
      stop_cv_.wait_for(lock, std::chrono::milliseconds(kRetryMs), [&] { return stop_.load(); });
      continue;
    }
    on_installed(*fe, std::move(*started));
    while (!stop_) publish(fe->next_interval());
    publish(fe->finish(kFinishMs));
    return;
  }
}

void ManagedQuery::on_installed(frontend::Frontend& fe, std::vector<std::string> notes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.error = Error();
    status_.notes = std::move(notes);
    status_.columns =
        fe.shown_query() ? frontend::describe_columns(*fe.shown_query()) : std::vector<frontend::Column>{};
    status_.total = ResultTable{};
    if (fe.shown_query()) status_.total.columns = fe.shown_query()->columns;
    status_.agents = fe.installed_agents();
    status_.install_ms = fe.install_ms();
    status_.started_ms = wall_ms();
    status_.intervals = 0;
    status_.lost_reports = 0;
  }
  set_state(QueryState::kRunning);
}

void ManagedQuery::publish(const frontend::Snapshot& s) {
  std::string record = interval_json(s, nullptr);
  otlp::QueryMetrics metrics;
  int64_t started_ms = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (otlp_ != nullptr) {
      metrics = {name_, status_.columns};
      started_ms = status_.started_ms;
    }
    status_.total = s.total;
    status_.agents = s.agents;
    status_.intervals += 1;
    status_.lost_reports += s.lost_reports;
    for (const std::string& e : s.events) {
      if (status_.events.size() >= limits_.max_events) {
        status_.events.pop_front();
        counters_->hit(Limit::kEvents);
      }
      status_.events.push_back({s.time_ms, e});
    }
    status_.window_bytes += record.size();
    window_.push_back({s.time_ms, std::move(record)});
    evict_window(s.time_ms);
  }
  hub_->publish(name_, "interval", interval_json(s, &name_));
  // The exporter only queues: a slow collector never holds up the query.
  if (otlp_ != nullptr && otlp::has_metrics(metrics)) {
    size_t points = 0;
    std::string body = otlp::encode_query_metrics(metrics, s.total, started_ms * 1000000, s.time_ms * 1000000,
                                                  "pivot", &points);
    if (points > 0) otlp_->send(std::move(body), points);
  }
}

void ManagedQuery::evict_window(int64_t now_ms) {
  // Age is the window's purpose; count and bytes are limits, and counted.
  while (!window_.empty()) {
    std::optional<Limit> limit;
    if (window_.front().time_ms >= now_ms - limits_.window_ms) {
      if (window_.size() > limits_.window_intervals) {
        limit = Limit::kWindowIntervals;
      } else if (status_.window_bytes > limits_.window_bytes && window_.size() > 1) {
        limit = Limit::kWindowBytes;
      } else {
        break;
      }
    }
    if (limit) counters_->hit(*limit);
    status_.window_bytes -= window_.front().json.size();
    window_.pop_front();
  }
}

}  // namespace pivot::serve
