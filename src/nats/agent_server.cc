// The agent on the NATS transport (subjects: transport/nats_config.h). One thread
// owns the AgentCore; cnats' threads only queue what arrives.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <random>
#include <thread>

#include "agent/agent_core.h"
#include "agent/server.h"
#include "nats/component.h"
#include "nats/nats_link.h"
#include "tracepoint/process_info.h"
#include "tracepoint/thread_state.h"

namespace pivot::agent {
namespace {

constexpr int64_t kHeartbeatMs = 1000;

class NatsAgentServer final : public Server, ReportSink {
 public:
  NatsAgentServer(AgentOptions o, transport::NatsConfig c)
      : options_(std::move(o)),
        config_(std::move(c)),
        subjects_(config_.fleet),
        core_(options_.interval_ms, this) {
    std::random_device rd;
    std::mt19937_64 rng((uint64_t{rd()} << 32) ^ rd() ^ static_cast<uint64_t>(getpid()));
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(rng()));
    agent_id_ = id;
  }
  ~NatsAgentServer() override { shutdown(); }

  Status open() override {
    if (!config_.has_credentials() && !config_.insecure) {
      return Error(
          "refusing to take commands over an unauthenticated NATS connection to " + config_.display +
          ": give credentials (nats://user:password@host:port, PIVOT_NATS_TOKEN, PIVOT_NATS_CREDS or a "
          "TLS client certificate), or set PIVOT_NATS_INSECURE=1 for development");
    }
    const internal::ProcessInfo& p = internal::process_info();
    auto link = transport::NatsLink::connect(
        config_, "pivot-agent " + p.proc_name + "@" + p.host + " pid " + std::to_string(p.proc_id), true,
        transport::kAgentQueue);
    if (!link) return link.error();
    link_ = std::move(*link);
    for (const std::string& s : {subjects_.cmd(), subjects_.agent_cmd(agent_id_)}) {
      if (auto st = link_->subscribe(s); !st) return st;
    }
    announce();
    // The server knows the subscriptions before the application goes on (a
    // frontend started right after finds this agent). Not waited for while
    // the server is down.
    if (link_->connected()) (void)link_->flush(1000);
    thread_ = std::thread([this] { run(); });
    return Status();
  }

  void shutdown() override {
    if (!thread_.joinable()) return;
    stop_.store(true);
    link_->wake();
    thread_.join();
    core_.finish();
    Json bye = wire::message("bye");
    (void)link_->publish(subjects_.heartbeat(), dump(bye));
    (void)link_->flush(500);
    link_.reset();
  }

  void report(int64_t, const std::string& id, Json message) override {
    std::string payload = dump(message);
    if (payload.size() > link_->max_payload()) {
      // Too big for one NATS message: say so rather than vanish.
      Json e = AgentCore::error_message(id, "a report of " + std::to_string(payload.size()) +
                                                " bytes exceeds the NATS max_payload of " +
                                                std::to_string(link_->max_payload()) + "; it was dropped");
      payload = dump(e);
    }
    (void)link_->publish(subjects_.results(id), payload);
  }

  void answer(const From& to, Json message) override {
    if (!to.reply.empty()) (void)link_->publish(to.reply, dump(message));
  }

  void wake() override { link_->wake(); }

 private:
  std::string dump(Json& m) const {
    const internal::ProcessInfo& p = internal::process_info();
    m["agent"] = agent_id_;
    m["pid"] = p.proc_id;
    m["procName"] = p.proc_name;
    m["host"] = p.host;
    return wire::encode(m);
  }

  void announce() {
    Json m = core_.info();
    m["heartbeat_ms"] = kHeartbeatMs;
    (void)link_->publish(subjects_.announce(), dump(m));
    next_heartbeat_ = steady_ms() + kHeartbeatMs;
  }

  void heartbeat() {
    Json m = wire::message("heartbeat");
    m["queries"] = core_.query_ids();
    m["heartbeat_ms"] = kHeartbeatMs;
    if (Json ids = core_.take_progress(); !ids.empty()) m["installing"] = std::move(ids);
    (void)link_->publish(subjects_.heartbeat(), dump(m));
    next_heartbeat_ = steady_ms() + kHeartbeatMs;
  }

  void run() {
    internal::mark_tracer_thread();
    while (!stop_.load()) {
      int64_t wait =
          std::clamp<int64_t>(std::min(core_.next_deadline(), next_heartbeat_) - steady_ms(), 0, 1000);
      for (auto& in : link_->wait(wait)) {
        if (in.kind == transport::NatsLink::Incoming::kReconnected) {
          announce();  // frontends learn at once that this agent is back, and what it still runs
          continue;
        }
        if (in.kind != transport::NatsLink::Incoming::kMessage) continue;
        From from{0, in.reply};
        if (auto answer = core_.handle(from, in.data)) this->answer(from, std::move(*answer));
      }
      core_.tick();
      if (steady_ms() >= next_heartbeat_) heartbeat();
    }
  }

  AgentOptions options_;
  transport::NatsConfig config_;
  transport::Subjects subjects_;
  AgentCore core_;
  std::string agent_id_;
  std::unique_ptr<transport::NatsLink> link_;
  int64_t next_heartbeat_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

std::unique_ptr<Server> make_nats_server(const AgentOptions& options, transport::NatsConfig config) {
  return std::make_unique<NatsAgentServer>(options, std::move(config));
}

}  // namespace pivot::agent
