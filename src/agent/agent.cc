// pivot::Agent: option resolution and the process-wide agent. The work is
// in AgentCore (agent_core.h); the transports are in local_server.cc and,
// for NATS, the NATS component (src/nats/agent_server.cc).
#include "pivot/agent.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>

#include "agent/server.h"
#include "core/fork.h"
#include "tracepoint/process_info.h"
#include "transport/local.h"
#include "transport/nats_config.h"

namespace pivot {
namespace {

// Held only for a moment (never while a transport opens), so that fork()
// can hold it across (after_fork_child).
std::mutex g_mu;
std::atomic<agent::NatsServerFactory> g_nats_server_factory{nullptr};
agent::Server* g_agent = nullptr;  // guarded by g_mu
bool g_starting = false;           // an Agent::start() is opening a transport; guarded by g_mu

// A child made by fork() has none of the parent's threads, and the parent's
// agent is not its own: its socket or NATS connection is the parent's, and
// stopping it there would join threads that are not there, unlink the
// parent's socket and write into the parent's NATS stream. The child leaves
// it be (it is never destroyed) and may start an agent of its own. Advice
// the parent had installed stays installed in the child's copy of the code,
// reporting nowhere, within the same group limits.
void before_fork() noexcept { g_mu.lock(); }
void after_fork_parent() noexcept { g_mu.unlock(); }
void after_fork_child() noexcept {
  g_agent = nullptr;  // the parent's: never destroyed here
  g_starting = false;
  g_mu.unlock();
}
[[maybe_unused]] const bool g_fork_handler = internal::add_fork_handler(
    internal::ForkOrder::kAgent, {before_fork, after_fork_parent, after_fork_child});

Result<int64_t> parse_positive(const char* name, const char* text) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v <= 0) {
    return Error(std::string(name) + "='" + text + "' is not a positive integer");
  }
  return static_cast<int64_t>(v);
}

}  // namespace

Result<AgentOptions> AgentOptions::resolve(AgentOptions o) {
  auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
  };
  if (o.proc_name.empty() && env("PIVOT_PROCNAME")) o.proc_name = env("PIVOT_PROCNAME");
  if (o.host.empty() && env("PIVOT_HOST")) o.host = env("PIVOT_HOST");
  if (o.transport.empty()) o.transport = env("PIVOT_TRANSPORT") ? env("PIVOT_TRANSPORT") : "local";
  if (o.interval_ms == 0 && env("PIVOT_INTERVAL_MS")) {
    auto v = parse_positive("PIVOT_INTERVAL_MS", env("PIVOT_INTERVAL_MS"));
    if (!v) return v.error();
    o.interval_ms = *v;
  }
  if (o.interval_ms == 0) o.interval_ms = 1000;
  if (o.interval_ms < 10 || o.interval_ms > 3'600'000) {
    return Error("the reporting interval must be 10..3600000 ms, not " + std::to_string(o.interval_ms));
  }
  if (o.runtime_dir.empty()) o.runtime_dir = transport::default_runtime_dir();
  if (o.transport != "local" && !transport::is_nats_url(o.transport)) {
    // Not echoed whole: a URL may carry a password.
    bool secret = o.transport.find('@') != std::string::npos;
    return Error("PIVOT_TRANSPORT must be local or nats://host:port (or tls://host:port), not '" +
                 (secret ? std::string("<redacted>") : o.transport) + "'");
  }
  if (transport::is_nats_url(o.transport)) {
    if (auto c = transport::nats_config(o.transport); !c) return c.error();
  }
  return o;
}

namespace {

Result<std::unique_ptr<agent::Server>> open_server(const AgentOptions& o) {
  internal::set_process_names(o.host, o.proc_name);
  std::unique_ptr<agent::Server> server;
  if (o.transport == "local") {
    server = agent::make_local_server(o);
  } else {
    auto config = transport::nats_config(o.transport);
    if (!config) return config.error();
    agent::NatsServerFactory make_nats = g_nats_server_factory.load(std::memory_order_acquire);
    if (make_nats == nullptr) return Error(transport::kNatsNotLinked);
    server = make_nats(o, std::move(*config));
  }
  if (auto s = server->open(); !s) return s.error();
  return server;
}

}  // namespace

Status Agent::start(AgentOptions options) {
  auto o = AgentOptions::resolve(std::move(options));
  if (!o) return o.error();
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_agent != nullptr || g_starting) return Error("the pivot agent is already running");
    g_starting = true;
  }
  Result<std::unique_ptr<agent::Server>> server = Error("");
  try {
    server = open_server(*o);
  } catch (...) {
    std::lock_guard<std::mutex> lock(g_mu);
    g_starting = false;
    throw;
  }
  std::lock_guard<std::mutex> lock(g_mu);
  g_starting = false;
  if (!server) return server.error();
  g_agent = server->release();
  static const bool at_exit = [] { return std::atexit([] { Agent::stop(); }) == 0; }();
  (void)at_exit;
  return Status();
}

void Agent::stop() {
  agent::Server* agent;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    agent = g_agent;
    g_agent = nullptr;
  }
  delete agent;
}

bool Agent::running() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_agent != nullptr;
}

namespace agent {
void set_nats_server_factory(NatsServerFactory factory) noexcept {
  g_nats_server_factory.store(factory, std::memory_order_release);
}
}  // namespace agent

}  // namespace pivot
