// pivot::Agent: makes this process queryable by the `pivot` CLI and other
// frontends. Call once at start-up:
//
//   int main() {
//     pivot::Agent::start();  // options from the environment
//     ...
//   }
//
// or with options: pivot::Agent::start({.proc_name = "datanode", .host = "dn1"}).
//
// The agent runs one background thread. It listens for frontends (on the
// local transport, a unix socket $PIVOT_RUNTIME_DIR/<pid>.sock, mode 0600;
// default directory /tmp/pivot-$UID; on NATS, the fleet's command subjects,
// see docs/nats.md), installs and removes the advice of
// their queries (all of a query's advice or none), and reports partial
// aggregates every interval. Each query holds a lease that its frontend
// renews; when the frontend disappears the advice is removed after the lease
// runs out. The agent never blocks or crashes the host: a slow or broken
// frontend is disconnected, bad messages are answered with an error.
//
// Environment (used for every option left empty):
//   PIVOT_PROCNAME     procName export (default: the executable's name)
//   PIVOT_HOST         host export (default: the hostname)
//   PIVOT_TRANSPORT    local | nats://[user:password@]host:port (default local);
//                      NATS also reads PIVOT_FLEET and PIVOT_NATS_* (docs/nats.md),
//                      and an agent refuses to run on NATS without credentials
//   PIVOT_INTERVAL_MS  reporting interval (default 1000)
//   PIVOT_RUNTIME_DIR  where local sockets live (default /tmp/pivot-$UID)
//
// Thread safety: start() and stop() may be called from any thread; start()
// while running returns an error.
//
// fork(): the parent's agent stays the parent's. In the child running() is
// false and start() starts the child's own agent; advice the parent had
// installed stays in the child's copy of the code and reports nowhere.
#pragma once

#include <cstdint>
#include <string>

#include "pivot/result.h"

namespace pivot {

struct AgentOptions {
  std::string proc_name;
  std::string host;
  std::string transport;
  int64_t interval_ms = 0;
  std::string runtime_dir;

  // Empty fields filled from the environment, then defaults. Bad values
  // (say PIVOT_INTERVAL_MS=abc) are an error naming the variable.
  static Result<AgentOptions> resolve(AgentOptions given);
};

class Agent {
 public:
  static Status start(AgentOptions options = {});
  // Removes all advice and closes the transport. Safe to call when stopped.
  static void stop();
  static bool running();
};

}  // namespace pivot
