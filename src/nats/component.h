// The NATS component (libpivot_nats): the agent and frontend sides of the
// NATS transport. Programs link it only if they may run with a nats://
// transport; loading it installs the two factories below with the agent
// (agent/server.h) and the frontend (frontend/link.h), see register.cc.
#pragma once

#include <memory>
#include <string>

#include "agent/server.h"
#include "frontend/link.h"
#include "pivot/result.h"
#include "transport/nats_config.h"

namespace pivot::agent {
std::unique_ptr<Server> make_nats_server(const AgentOptions& options, transport::NatsConfig config);
}  // namespace pivot::agent

namespace pivot::frontend {
Result<std::unique_ptr<Link>> make_nats_link(const std::string& url);
}  // namespace pivot::frontend
