// AgentCore: what an agent does with the frontend protocol, whatever carries
// it. It installs and removes queries, keeps their leases, and produces a
// report per query every interval. A transport (local.cc: unix sockets;
// nats.cc: a NATS server) feeds it messages and delivers what it says.
//
//   AgentCore core(interval_ms, &sink);
//   if (auto answer = core.handle(owner, payload)) send_back(*answer);
//   core.tick();  // at core.next_deadline(): reports due, leases lapsed
//
// `owner` is the transport's name for the frontend a message came from (a
// connection); reports go to the owner that installed the query, through the
// ReportSink. Thread safety: one thread (the agent's) uses a core.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "session/installation.h"
#include "wire/protocol.h"

namespace pivot::agent {

using wire::Json;

class ReportSink {
 public:
  virtual ~ReportSink() = default;
  // A report (or an error about one) of query `id` for frontend `owner`.
  virtual void report(int64_t owner, const std::string& id, Json message) = 0;
};

using ::pivot::internal::steady_ms;
using ::pivot::internal::wall_ms;

class AgentCore {
 public:
  static constexpr int64_t kNoOwner = -1;

  AgentCore(int64_t default_interval_ms, ReportSink* sink)
      : default_interval_ms_(default_interval_ms), sink_(sink) {}

  // One message; the answer to send back to `owner`, if it has one.
  std::optional<Json> handle(int64_t owner, std::string_view payload);
  // Reports that are due; removes queries whose lease lapsed.
  void tick();
  // When tick() next has work (steady clock, ms).
  int64_t next_deadline() const;
  // The owner went away: its queries stay until their leases lapse.
  void forget_owner(int64_t owner);
  // At shutdown: one last report of every query to its owner, then removes
  // all advice.
  void finish();

  Json info() const;  // pid, procName, host, catalog, queries
  Json query_ids() const;
  static Json error_message(const std::string& id, const std::string& text);

 private:
  struct Query {
    std::string id;
    std::string text;
    std::unique_ptr<session::Installation> installation;
    int64_t owner = kNoOwner;
    int64_t lease_ms = 0;
    int64_t lease_deadline = 0;
    int64_t interval_ms = 0;
    int64_t next_report = 0;
    uint64_t seq = 0;
  };

  std::optional<Json> handle_message(int64_t owner, std::string_view payload);
  Json install(int64_t owner, const Json& m);
  Json uninstall(const Json& m);
  void renew(const Json& m);
  std::optional<Json> flush(const Json& m);
  Json report(Query& q, bool final);

  int64_t default_interval_ms_;
  ReportSink* sink_;
  std::map<std::string, Query> queries_;
};

}  // namespace pivot::agent
