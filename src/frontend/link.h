// Link: how a Frontend reaches its agents. The Frontend does the protocol
// and the merging; a Link only moves messages. Two implementations:
// local_link.cc (a unix socket per agent, found in the runtime directory)
// and the NATS component's src/nats/frontend_link.cc (a NATS server;
// subjects in transport/nats_config.h).
//
// Agents are named by a key: the pid on the local transport, the agent id
// on NATS. Thread safety: one thread uses a Link.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "pivot/result.h"
#include "planner/catalog.h"
#include "wire/protocol.h"

namespace pivot::frontend {

// How long an agent may go without answering an install or saying it made
// progress: a runtime-defined tracepoint makes it read every symbol table
// of its process and patch functions, which takes seconds in a large
// program on a loaded machine, and an agent installs one query at a time,
// so an install may wait behind others (each finished one is progress,
// "installing" in wire/protocol.h). Agents are asked at once and answer in
// parallel.
inline constexpr int64_t kInstallTimeoutMs = 10'000;
// However it progresses, an agent's install is waited for at most this many
// times the timeout (two minutes by default): an installer that loops is
// given up too.
inline constexpr int64_t kInstallPatience = 12;
// Why an agent that did not answer the install was given up (the timeout
// and whether it made progress): the link's error for it.
std::string install_timeout_error(int64_t timeout_ms, bool gave_up_progressing);
// How long a question (the functions a pattern names, where a definition's
// exports are read) may take: the same work as an install, and the debug
// information of every object asked about, without patching.
inline constexpr int64_t kAskTimeoutMs = 30'000;

struct AgentInfo {
  std::string key;
  pid_t pid = 0;
  std::string proc_name;
  std::string host;
  planner::Catalog catalog;
  size_t queries = 0;
  // The agent's socket limits and how often each acted (local transport;
  // null on NATS): {"refused_connections": n, "oversized_frames": n, ...}.
  wire::Json transport;
};

// A message's field, or "" / 0 when it is missing or of another type
// (agents' messages are outside input: never throw on them). A flag:
// wire::get_flag.
std::string str_field(const wire::Json& m, const char* key);
int64_t int_field(const wire::Json& m, const char* key);

// Parses an "info" message (or an error reply) into AgentInfo.
Result<AgentInfo> parse_info(const wire::Json& m);

struct LinkEvent {
  enum Kind {
    kMessage,       // `text` is a message from agent `key`
    kLost,          // agent `key` is gone (`text` says why)
    kBack,          // agent `key`, lost before, is heard from again
    kNeedsInstall,  // agent `key` is alive but no longer has the query (its lease lapsed)
    kNotice,        // about the transport itself, e.g. a NATS reconnect; `text` says what
  };
  Kind kind = kMessage;
  std::string key;
  std::string text;
};

class Link {
 public:
  virtual ~Link() = default;
  // Where agents are looked for, for messages ("in /tmp/pivot-1000").
  virtual std::string where() const = 0;
  // Every agent that answers a hello.
  virtual std::vector<AgentInfo> discover(std::vector<std::string>* notes) = 0;
  // From now on, reports of query `id` are delivered.
  virtual Status begin(const std::string& id) = 0;
  // Installs on the agents named, waiting for their answers; returns, per
  // key, the answer ("installed" or "error") or why there was none.
  // Agents that answer without being asked (a NATS broadcast reaches every
  // agent of the fleet) are included, with their info.
  // An agent is waited for until it has neither answered nor made progress
  // for timeout_ms (and at most kInstallPatience times that): on unix
  // sockets the install asks for "installing" answers, on NATS the agents'
  // heartbeats name the installs they progress on (wire/protocol.h). Each
  // progress renews the leases of the agents that installed already (the
  // frontend renews only after the install).
  // An agent that did not answer in time (timed_out) may still be
  // installing: the link has asked it to drop the query when it is done,
  // where it can (local sockets; on NATS the frontend's uninstall reaches it).
  struct Installed {
    AgentInfo info;
    Result<wire::Json> answer;
    bool timed_out = false;
  };
  virtual std::vector<Installed> install(const std::vector<AgentInfo>& agents, const wire::Json& message,
                                         bool everyone, int64_t timeout_ms) = 0;
  // Asks the agents named a question (functions, explain: message types
  // whose answer is one message, echoing "req"), all at once, and waits for
  // their answers until timeout_ms has passed; per agent, the answer or why
  // there was none.
  struct Answer {
    AgentInfo info;
    Result<wire::Json> answer;
  };
  virtual std::vector<Answer> ask(const std::vector<AgentInfo>& agents, const wire::Json& message,
                                  int64_t timeout_ms) = 0;
  // To one agent; a failure shows up as a kLost event.
  virtual void send(const std::string& key, const wire::Json& message) = 0;
  // To all the agents named (one broadcast on NATS).
  virtual void send_all(const std::vector<std::string>& keys, const wire::Json& message) = 0;
  // The next event, waiting until deadline_ms (steady clock); false when
  // the deadline passed first.
  virtual bool next(int64_t deadline_ms, LinkEvent* out) = 0;
  // Agents not in `known` that have appeared since (with their info).
  virtual std::vector<AgentInfo> new_agents(const std::set<std::string>& known) = 0;
};

// "local" or nats://...; runtime_dir is for the local transport.
Result<std::unique_ptr<Link>> make_link(const std::string& transport, const std::string& runtime_dir);
std::unique_ptr<Link> make_local_link(const std::string& runtime_dir);
// The NATS link lives in the NATS component (src/nats, libpivot_nats),
// which installs its factory when loaded; without it make_link() of a
// nats:// transport is an error (transport::kNatsNotLinked).
using NatsLinkFactory = Result<std::unique_ptr<Link>> (*)(const std::string& url);
void set_nats_link_factory(NatsLinkFactory factory) noexcept;

}  // namespace pivot::frontend
