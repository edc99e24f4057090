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
// NatsLink queues everything that arrives — messages and connection events —
// for one consumer thread; cnats' own threads only append to the queue, so
// no callback ever waits on pivot's work. The queue is bounded: when full,
// new messages are dropped and counted (a report lost that way shows up as a
// gap in the report sequence at the frontend, which also reports its own
// drops).
#pragma once

#include <nats/nats.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
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

class NatsLink {
 public:
  struct Incoming {
    enum Kind { kMessage, kDisconnected, kReconnected };
    Kind kind = kMessage;
    std::string subject, reply, data;
  };

  // Connects. With retry_in_background, a server that is down or slow (not
  // one that refuses the credentials or certificate) is not an error: the
  // link keeps trying and queues a kReconnected event once it gets through.
  static Result<std::unique_ptr<NatsLink>> connect(const NatsConfig& config, const std::string& name,
                                                   bool retry_in_background, size_t max_queued);
  ~NatsLink();
  NatsLink(const NatsLink&) = delete;
  NatsLink& operator=(const NatsLink&) = delete;

  Status subscribe(const std::string& subject);
  // Does not wait for the server: cnats buffers (also while reconnecting).
  // Only a socket that stays full can hold it up, to cnats' write deadline;
  // agents publish from their own thread, never the application's.
  Status publish(const std::string& subject, std::string_view data, const std::string& reply = "");
  // Waits until the server has seen what was published, at most timeout_ms.
  Status flush(int64_t timeout_ms);
  // Waits at most timeout_ms for something to arrive; returns all of it.
  std::vector<Incoming> wait(int64_t timeout_ms);
  // Ends a wait() early (from another thread).
  void wake();
  // A fresh inbox subject for answers.
  std::string new_inbox() const;
  size_t max_payload() const;
  bool connected() const;
  // Messages dropped so far: the queue was full, or cnats' own limits.
  uint64_t dropped() const;

 private:
  NatsLink() = default;
  static void on_message(natsConnection*, natsSubscription*, natsMsg*, void*);
  static void on_disconnected(natsConnection*, void*);
  static void on_reconnected(natsConnection*, void*);
  static void on_closed(natsConnection*, void*);
  static void on_sub_complete(void*);
  static void on_error(natsConnection*, natsSubscription*, natsStatus, void*);

  // What cnats' threads touch. It outlives the link when cnats does not
  // confirm in time that every callback has returned (then it is leaked,
  // which is safe, rather than freed under a running callback).
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Incoming> queue;
    size_t max_queued = kAgentQueue;
    bool woken = false;
    bool closed = false;
    int live_subs = 0;
    uint64_t dropped = 0;
    void push(Incoming in);
  };

  natsConnection* conn_ = nullptr;
  std::vector<std::pair<std::string, natsSubscription*>> subs_;
  State* state_ = nullptr;
};

}  // namespace pivot::transport
