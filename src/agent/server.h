// The agent's transports. Each runs one background thread that owns an
// AgentCore and feeds it the frontends' messages: local_server.cc over unix
// sockets, src/nats/agent_server.cc over a NATS server (the NATS
// component). agent.cc picks one from PIVOT_TRANSPORT.
#pragma once

#include <memory>

#include "pivot/agent.h"
#include "pivot/result.h"
#include "transport/nats_config.h"

namespace pivot::agent {

class Server {
 public:
  virtual ~Server() = default;
  // Starts serving (the thread starts here).
  virtual Status open() = 0;
  // Stops the thread, sends each query's last report, removes all advice.
  virtual void shutdown() = 0;
};

std::unique_ptr<Server> make_local_server(const AgentOptions& options);
// The NATS server lives in the NATS component (src/nats, libpivot_nats),
// which installs its factory when loaded; without it a nats:// transport is
// an error (transport::kNatsNotLinked).
using NatsServerFactory = std::unique_ptr<Server> (*)(const AgentOptions& options,
                                                      transport::NatsConfig config);
void set_nats_server_factory(NatsServerFactory factory) noexcept;

}  // namespace pivot::agent
