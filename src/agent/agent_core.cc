#include "agent/agent_core.h"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "hook/functions.h"
#include "planner/catalog.h"
#include "tracepoint/process_info.h"
#include "tracepoint/thread_state.h"

namespace pivot::agent {

namespace {

// Query ids name NATS subjects and bag ids: 1 to 16 hex digits.
bool valid_query_id(const std::string& id) {
  return !id.empty() && id.size() <= 16 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

}  // namespace

// Runs Installation::create for the agent, one install at a time, on a
// thread of its own; the agent's thread takes the results in tick().
class AgentCore::Installer {
 public:
  struct Job {
    std::string id;
    std::string text;
    planner::Catalog catalog;
    uint64_t uid = 0;
    uint32_t max_groups = aggregate::kDefaultMaxGroups;
  };
  struct Done {
    std::string id;
    Result<std::unique_ptr<session::Installation>> installation;
  };

  Installer(ReportSink* sink, InstallFn install)
      : sink_(sink), install_(std::move(install)), thread_([this] { run(); }) {
    if (pthread_getcpuclockid(thread_.native_handle(), &cpu_clock_) != 0) cpu_clock_ = -1;
  }
  ~Installer() {  // finishes the job under way; the others are dropped
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  // A question that reads symbol tables or debug information (functions,
  // explain): answered on this thread, like an install, after the installs
  // waiting before it.
  struct Task {
    From to;
    std::function<Json()> answer;
  };
  struct Answered {
    From to;
    Json message;
  };

  void submit(Job job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

  // False when too many questions wait already.
  bool ask(Task task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (tasks_.size() >= kMaxWaitingTasks) return false;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }

  std::vector<Done> take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(done_, {});
  }

  std::vector<Answered> take_answers() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(answers_, {});
  }

  // The CPU time the installer's thread has used (0 where it cannot be read).
  int64_t cpu_ns() const {
    timespec ts{};
    if (cpu_clock_ == -1 || clock_gettime(cpu_clock_, &ts) != 0) return 0;
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }

 private:
  void run() {
    internal::mark_tracer_thread();
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty() || !tasks_.empty(); });
      if (stop_) return;
      if (jobs_.empty()) {
        Task task = std::move(tasks_.front());
        tasks_.pop_front();
        lock.unlock();
        Answered a{task.to, Json()};
        try {
          a.message = task.answer();
        } catch (const std::exception& e) {
          a.message = error_message("", std::string("cannot answer: ") + e.what());
        }
        lock.lock();
        answers_.push_back(std::move(a));
        sink_->wake();
        continue;
      }
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      Done done{job.id, Error("")};
      try {
        done.installation = install_(job.text, job.catalog, job.uid, job.max_groups);
      } catch (const std::exception& e) {
        done.installation = Error(std::string("cannot install: ") + e.what());
      }
      lock.lock();
      done_.push_back(std::move(done));
      sink_->wake();
    }
  }

  ReportSink* sink_;
  InstallFn install_;
  std::mutex mu_;
  std::condition_variable cv_;
  static constexpr size_t kMaxWaitingTasks = 16;
  std::deque<Job> jobs_;
  std::vector<Done> done_;
  std::deque<Task> tasks_;
  std::vector<Answered> answers_;
  bool stop_ = false;
  std::thread thread_;  // starts after the members it uses
  clockid_t cpu_clock_ = -1;
};

AgentCore::AgentCore(int64_t default_interval_ms, ReportSink* sink, InstallFn install_fn)
    : default_interval_ms_(default_interval_ms), sink_(sink), install_fn_(std::move(install_fn)) {
  if (!install_fn_) {
    install_fn_ = [](const std::string& text, const planner::Catalog& catalog, uint64_t uid,
                     uint32_t max_groups) {
      return session::Installation::create(text, catalog, uid, session::MissingFunctions::kSkip, max_groups);
    };
  }
}

AgentCore::~AgentCore() = default;

Json AgentCore::error_message(const std::string& id, const std::string& text) {
  Json m = wire::message("error");
  if (!id.empty()) m["id"] = id;
  m["message"] = text;
  return m;
}

std::optional<Json> AgentCore::handle(const From& from, std::string_view payload) {
  // Messages are outside input, and this runs on the agent's thread inside
  // the application: nothing may escape (a JSON type error, an allocation
  // failure) and take the process down.
  try {
    return handle_message(from, payload);
  } catch (const std::exception& e) {
    return error_message("", std::string("cannot handle the message: ") + e.what());
  }
}

std::optional<Json> AgentCore::handle_message(const From& from, std::string_view payload) {
  auto m = wire::parse_message(payload);
  if (!m) return error_message("", m.error().message());
  const std::string type = (*m)["type"].get<std::string>();
  if (type == "hello") return info();
  if (type == "install") return install(from, *m);
  if (type == "uninstall") return uninstall(*m);
  if (type == "renew") {
    renew(*m);
    return std::nullopt;
  }
  if (type == "flush") return flush(*m);
  if (type == "functions" || type == "explain") return ask(from, *m);
  return error_message("", "unknown message type '" + type + "'");
}

Json AgentCore::query_ids() const {
  Json ids = Json::array();
  for (const auto& [id, q] : queries_) ids.push_back(id);
  return ids;
}

Json AgentCore::take_progress() {
  Json ids = Json::array();
  if (!std::exchange(progressed_, false)) return ids;
  for (const auto& [id, p] : pending_) {
    if (!p.cancelled) ids.push_back(id);
  }
  return ids;
}

Json AgentCore::info() const {
  Json m = wire::message("info");
  const internal::ProcessInfo& p = internal::process_info();
  m["pid"] = p.proc_id;
  m["procName"] = p.proc_name;
  m["host"] = p.host;
  m["catalog"] = wire::to_json(planner::local_catalog());
  m["queries"] = query_ids();
  return m;
}

std::optional<Json> AgentCore::install(const From& from, const Json& m) {
  auto id = wire::get_string(m, "id");
  auto text = wire::get_string(m, "text");
  if (!id || !text) return error_message(id ? *id : "", (!id ? id.error() : text.error()).message());
  if (!valid_query_id(*id)) return error_message("", "query id '" + *id + "' is not 1 to 16 hex digits");
  // A frontend that lost track after a network fault re-sends the query
  // with "again": the same text then just confirms it.
  bool again = wire::get_flag(m, "again");
  const Waiter waiter{from, wire::get_flag(m, "progress")};
  const wire::ReportFormat format = wire::report_format_asked(m);
  if (auto it = pending_.find(*id); it != pending_.end()) {
    if (it->second.cancelled) return error_message(*id, "query " + *id + " is being uninstalled; try again");
    if (!again || it->second.text != *text)
      return error_message(*id, "query " + *id + " is already installed");
    it->second.waiting.push_back(waiter);  // answered when the install under way finishes
    it->second.report_format = format;     // reports go to the frontend that asked last
    return std::nullopt;
  }
  if (auto it = queries_.find(*id); it != queries_.end()) {
    if (!again || it->second.text != *text)
      return error_message(*id, "query " + *id + " is already installed");
    it->second.owner = from.owner;
    it->second.report_format = format;
    Json ok = wire::message("installed");
    ok["id"] = *id;
    ok["already"] = true;
    return ok;
  }
  uint64_t uid = std::strtoull(id->c_str(), nullptr, 16);
  planner::Catalog catalog = planner::local_catalog();
  if (m.contains("catalog")) {
    auto theirs = wire::catalog_from_json(m["catalog"]);
    if (!theirs) return error_message(*id, theirs.error().message());
    wire::merge_catalog(catalog, *theirs);
  }
  int64_t interval = default_interval_ms_;
  if (m.contains("interval_ms")) {
    auto v = wire::get_int(m, "interval_ms");
    if (!v) return error_message(*id, v.error().message());
    interval = *v;
  }
  int64_t lease = std::max<int64_t>(3 * interval, 3000);
  if (m.contains("lease_ms")) {
    auto v = wire::get_int(m, "lease_ms");
    if (!v) return error_message(*id, v.error().message());
    lease = *v;
  }
  if (interval < 10 || interval > 3'600'000 || lease < interval || lease > 86'400'000) {
    return error_message(*id, "interval_ms must be 10..3600000 and lease_ms at least the interval");
  }
  int64_t max_groups = aggregate::kDefaultMaxGroups;
  if (m.contains("max_groups")) {
    auto v = wire::get_int(m, "max_groups");
    if (!v) return error_message(*id, v.error().message());
    if (*v < 1 || *v > aggregate::kMaxMaxGroups) {
      return error_message(*id, "max_groups must be 1 to " + std::to_string(aggregate::kMaxMaxGroups));
    }
    max_groups = *v;
  }
  if (pending_.size() >= kMaxWaitingInstalls) {
    return error_message(*id, std::to_string(kMaxWaitingInstalls) +
                                  " installs wait for this process already; try again when they are done");
  }
  if (!installer_) installer_ = std::make_unique<Installer>(sink_, install_fn_);
  installer_->submit({*id, *text, std::move(catalog), uid, static_cast<uint32_t>(max_groups)});
  pending_[*id] = Pending{*text, {waiter}, interval, lease, format, false};
  return std::nullopt;
}

std::optional<Json> AgentCore::ask(const From& from, const Json& m) {
  // Echoed, so that a frontend asking a fleet at once (NATS) matches answers.
  Json req = m.contains("req") ? m["req"] : Json();
  auto with_req = [req](Json answer) {
    if (!req.is_null()) answer["req"] = req;
    return answer;
  };
  std::function<Json()> answer;
  if (m["type"] == "functions") {
    auto pattern = wire::get_string(m, "pattern");
    if (!pattern) return with_req(error_message("", pattern.error().message()));
    int64_t limit = kDefaultListed;
    if (m.contains("limit")) {
      auto v = wire::get_int(m, "limit");
      if (!v || *v < 1 || *v > kMaxListed) {
        return with_req(error_message("", "limit must be 1 to " + std::to_string(kMaxListed)));
      }
      limit = *v;
    }
    answer = [p = *pattern, limit, with_req] {
      Json out = wire::message("functions");
      out["pattern"] = p;
      const hook::SymbolTable& symbols = hook::symbols();
      out["program"] = symbols.objects.empty() ? "" : symbols.objects.front().path;
      wire::add_listing(out, hook::list_functions(p, symbols, static_cast<size_t>(limit)));
      return with_req(std::move(out));
    };
  } else {
    auto text = wire::get_string(m, "text");
    if (!text) return with_req(error_message("", text.error().message()));
    answer = [t = *text, with_req] {
      auto lines = session::describe_definitions(t);
      if (!lines) return with_req(error_message("", lines.error().message()));
      Json out = wire::message("explained");
      out["functions"] = *lines;
      return with_req(std::move(out));
    };
  }
  if (!installer_) installer_ = std::make_unique<Installer>(sink_, install_fn_);
  if (!installer_->ask({from, std::move(answer)})) {
    return with_req(error_message("", "too many questions are waiting for this agent; try again"));
  }
  return std::nullopt;
}

void AgentCore::installed(const std::string& id, Result<std::unique_ptr<session::Installation>> in) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  if (p.cancelled) return;  // destroying `in` removes its advice
  if (!in) {
    for (const Waiter& w : p.waiting) sink_->answer(w.to, error_message(id, in.error().message()));
    return;
  }
  std::vector<std::string> skipped = (*in)->skipped();
  Query q;
  q.id = id;
  q.text = std::move(p.text);
  q.installation = std::move(*in);
  q.owner = p.waiting.empty() ? kNoOwner : p.waiting.back().to.owner;
  q.interval_ms = p.interval_ms;
  q.lease_ms = p.lease_ms;
  q.report_format = p.report_format;
  q.lease_deadline = steady_ms() + p.lease_ms;
  q.next_report = steady_ms() + p.interval_ms;
  queries_[id] = std::move(q);
  Json ok = wire::message("installed");
  ok["id"] = id;
  if (!skipped.empty()) ok["skipped"] = skipped;
  for (const Waiter& w : p.waiting) sink_->answer(w.to, ok);
}

void AgentCore::tell_progress() {
  for (const auto& [id, p] : pending_) {
    if (p.cancelled) continue;
    for (const Waiter& w : p.waiting) {
      if (!w.progress) continue;
      Json m = wire::message("installing");
      m["id"] = id;
      sink_->answer(w.to, std::move(m));
    }
  }
}

Json AgentCore::uninstall(const Json& m) {
  auto id = wire::get_string(m, "id");
  if (!id) return error_message("", id.error().message());
  if (auto it = pending_.find(*id); it != pending_.end() && !it->second.cancelled) {
    // Removed before it was in: whoever waits for the install hears so.
    it->second.cancelled = true;
    for (const Waiter& w : std::exchange(it->second.waiting, {}))
      sink_->answer(w.to,
                    error_message(*id, "query " + *id + " was uninstalled before its install finished"));
  } else if (queries_.erase(*id) == 0) {
    return error_message(*id, "no installed query " + *id);
  }
  Json ok = wire::message("uninstalled");
  ok["id"] = *id;
  return ok;
}

void AgentCore::renew(const Json& m) {
  if (!m.contains("ids") || !m["ids"].is_array()) return;
  for (const Json& id : m["ids"]) {
    if (!id.is_string()) continue;
    auto it = queries_.find(id.get<std::string>());
    if (it != queries_.end()) it->second.lease_deadline = steady_ms() + it->second.lease_ms;
  }
}

std::optional<Json> AgentCore::flush(const Json& m) {
  auto id = wire::get_string(m, "id");
  if (!id) return error_message("", id.error().message());
  auto it = queries_.find(*id);
  if (it == queries_.end()) return error_message(*id, "no installed query " + *id);
  sink_->report(it->second.owner, *id, report(it->second, true));
  return std::nullopt;
}

Json AgentCore::report(Query& q, bool final) {
  Json m = wire::message("report");
  m["id"] = q.id;
  m["seq"] = ++q.seq;
  m["time"] = wall_ms();
  m["final"] = final;
  Json parts = Json::array();
  for (const aggregate::Partial& p : q.installation->collect())
    parts.push_back(wire::to_json(p, q.report_format));
  m["queries"] = std::move(parts);
  return m;
}

int64_t AgentCore::next_deadline() const {
  int64_t d = steady_ms() + 1000;
  for (const auto& [id, q] : queries_) d = std::min({d, q.next_report, q.lease_deadline});
  return d;
}

void AgentCore::tick() {
  if (installer_) {
    std::vector<Installer::Done> done = installer_->take();
    std::vector<Installer::Answered> answers = installer_->take_answers();
    for (auto& d : done) installed(d.id, std::move(d.installation));
    for (auto& a : answers) sink_->answer(a.to, std::move(a.message));
    bool progressed = !done.empty() || !answers.empty();
    if (int64_t now = steady_ms(); now >= next_progress_look_ && !pending_.empty()) {
      next_progress_look_ = now + kProgressEveryMs;
      int64_t cpu = installer_->cpu_ns();
      progressed |= cpu != installer_cpu_ns_;
      installer_cpu_ns_ = cpu;
    }
    if (progressed) {
      progressed_ = true;
      tell_progress();
    }
  }
  int64_t now = steady_ms();
  for (auto it = queries_.begin(); it != queries_.end();) {
    Query& q = it->second;
    if (now >= q.lease_deadline) {
      it = queries_.erase(it);  // the frontend stopped renewing: remove the advice
      continue;
    }
    if (now >= q.next_report) {
      q.next_report = now + q.interval_ms;
      sink_->report(q.owner, q.id, report(q, false));
    }
    ++it;
  }
}

void AgentCore::forget_owner(int64_t owner) {
  for (auto& [id, q] : queries_) {
    if (q.owner == owner) q.owner = kNoOwner;
  }
  for (auto& [id, p] : pending_) {  // the transport may reuse the name for another frontend
    std::erase_if(p.waiting, [&](const Waiter& w) { return w.to.owner == owner; });
  }
}

bool AgentCore::owns_queries(int64_t owner) const {
  for (const auto& [id, q] : queries_) {
    if (q.owner == owner) return true;
  }
  for (const auto& [id, p] : pending_) {
    for (const Waiter& w : p.waiting) {
      if (w.to.owner == owner) return true;
    }
  }
  return false;
}

void AgentCore::finish() {
  installer_.reset();  // waits for the install under way; what it made is dropped with pending_
  pending_.clear();
  // A process that exits gracefully reports what it gathered since the last
  // interval, so its frontends miss nothing.
  for (auto& [id, q] : queries_) sink_->report(q.owner, id, report(q, false));
  queries_.clear();  // removes every advice
}

}  // namespace pivot::agent
