// The NATS transport: agents and frontends of a fleet meet on a NATS server
// (Debian `nats-server`; client: cnats, `libnats-dev`) instead of unix
// sockets, so a frontend on one host can query agents on thousands.
//
// Subjects (FLEET is $PIVOT_FLEET, default "default"):
//   pivot.FLEET.cmd            frontend -> every agent: hello, install, renew
//   pivot.FLEET.cmd.AGENT      frontend -> one agent: install, uninstall, flush
//   pivot.FLEET.announce       agent -> frontends: info, on start and reconnect
//   pivot.FLEET.heartbeat      agent -> frontends: who it is and its queries, every second
//   pivot.FLEET.q.QUERY        agent -> frontend: the reports of one query
// Answers (info, installed, uninstalled, error) go to the request's reply
// subject, the frontend's inbox. AGENT is a random 16-hex-digit id chosen at
// start; QUERY is the query id (16 hex digits). The messages are the JSON
// wire protocol of src/wire/protocol.h, one per NATS message; an agent adds
// its identity (agent, pid, procName, host) to everything it sends.
//
// Configuration: PIVOT_TRANSPORT=nats://[user:password@|token@]host:port
// (several servers: comma separated; tls://... for TLS), and from the
// environment PIVOT_NATS_USER, PIVOT_NATS_PASSWORD, PIVOT_NATS_TOKEN,
// PIVOT_NATS_CREDS (a .creds file), PIVOT_NATS_CA, PIVOT_NATS_CERT,
// PIVOT_NATS_KEY (TLS), PIVOT_FLEET. An agent refuses a connection without
// credentials (PIVOT_NATS_INSECURE=1 allows it, for development).
//
// This part (configuration and subject names) needs no NATS library; the
// link itself is in src/nats, the NATS component.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/result.h"

namespace pivot::transport {

// Bounds of the queue of what arrived and is not yet handled. An agent gets
// few messages (commands); a frontend gets a report per agent per interval,
// so it may have a whole large fleet's worth queued while it merges.
inline constexpr size_t kAgentQueue = 4096;
inline constexpr size_t kFrontendQueue = 1u << 18;

struct NatsConfig {
  std::vector<std::string> servers;  // as cnats takes them, credentials included
  std::string display;               // the servers without credentials, for messages
  std::string fleet = "default";
  std::string user, password, token, creds_file;
  std::string ca_file, cert_file, key_file;
  bool tls = false;
  bool insecure = false;  // PIVOT_NATS_INSECURE=1: agents may run without credentials

  bool has_credentials() const;
};

// True for nats:// and tls:// transports.
bool is_nats_url(std::string_view transport);
// Parses PIVOT_TRANSPORT's value, then applies the PIVOT_NATS_* and
// PIVOT_FLEET variables. Errors name what is wrong.
Result<NatsConfig> nats_config(std::string_view url);
bool valid_fleet(std::string_view fleet);

struct Subjects {
  std::string prefix;  // pivot.FLEET
  explicit Subjects(const std::string& fleet) : prefix("pivot." + fleet) {}
  std::string cmd() const { return prefix + ".cmd"; }
  std::string agent_cmd(const std::string& agent) const { return prefix + ".cmd." + agent; }
  std::string announce() const { return prefix + ".announce"; }
  std::string heartbeat() const { return prefix + ".heartbeat"; }
  std::string results(const std::string& query) const { return prefix + ".q." + query; }
};

// Why a nats:// transport cannot be used: the program was linked without
// the NATS component (libpivot_nats).
inline constexpr const char* kNatsNotLinked =
    "this program was linked without pivot's NATS transport, so it cannot use a nats:// or tls:// "
    "transport: link pivot::nats (CMake: find_package(pivot COMPONENTS nats)) or pivot-nats (pkg-config)";

}  // namespace pivot::transport
