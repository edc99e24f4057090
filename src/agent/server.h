// The agent's transports. Each runs one background thread that owns an
// AgentCore and feeds it the frontends' messages: local_server.cc over unix
// sockets, nats_server.cc over a NATS server. agent.cc picks one from
// PIVOT_TRANSPORT.
#pragma once

#include <memory>

#include "pivot/agent.h"
#include "pivot/result.h"
#include "transport/nats.h"

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
std::unique_ptr<Server> make_nats_server(const AgentOptions& options, transport::NatsConfig config);

}  // namespace pivot::agent
