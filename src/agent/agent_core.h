// AgentCore: what an agent does with the frontend protocol, whatever carries
// it. It installs and removes queries, keeps their leases, and produces a
// report per query every interval. A transport (local_server.cc: unix
// sockets; src/nats/agent_server.cc: a NATS server) feeds it messages and
// delivers what it says.
//
//   AgentCore core(interval_ms, &sink);
//   if (auto answer = core.handle({owner, reply}, payload)) send_back(*answer);
//   core.tick();  // at core.next_deadline(), and after sink.wake()
//
// `owner` is the transport's name for the frontend a message came from (a
// connection); reports go to the owner that installed the query, through the
// ReportSink. Installing runs on a thread of its own (reading symbol tables
// and patching functions for a runtime-defined tracepoint takes from
// milliseconds to seconds), so other queries' reports keep their pace: an
// install is answered later, through ReportSink::answer, from tick().
// Thread safety: one thread (the agent's) uses a core.
#pragma once

#include <cstdint>
#include <functional>
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

// Where a message came from, and so where its answer goes: the frontend
// (`owner`) and, on NATS, the reply subject.
struct From {
  int64_t owner = -1;
  std::string reply;
};

class ReportSink {
 public:
  virtual ~ReportSink() = default;
  // A report (or an error about one) of query `id` for frontend `owner`.
  virtual void report(int64_t owner, const std::string& id, Json message) = 0;
  // The answer to a message handle() did not answer at once (an install).
  virtual void answer(const From& to, Json message) = 0;
  // From another thread: tick() has work now (an install finished).
  virtual void wake() = 0;
};

using ::pivot::internal::steady_ms;
using ::pivot::internal::wall_ms;

class AgentCore {
 public:
  static constexpr int64_t kNoOwner = -1;
  // How many functions a `functions` answer lists by default, and at most.
  static constexpr int64_t kDefaultListed = 500;
  static constexpr int64_t kMaxListed = 5000;
  // How often a waiting install may hear that its install, or one before
  // it, is still running ("installing"), at most.
  static constexpr int64_t kProgressEveryMs = 1000;
  // Installs that may wait for the installer at once; past it an install
  // is refused (each holds its text and catalog, and its id rides in every
  // NATS heartbeat until it is done).
  static constexpr size_t kMaxWaitingInstalls = 64;
  // How a query text becomes advice; by default Installation::create, with
  // a defined tracepoint whose function this program lacks skipped (a fleet
  // mixes programs: other processes have it, and the rest of the text still
  // runs here). Runs on the installer's thread.
  using InstallFn = std::function<Result<std::unique_ptr<session::Installation>>(
      const std::string& text, const planner::Catalog& catalog, uint64_t uid, uint32_t max_groups)>;

  AgentCore(int64_t default_interval_ms, ReportSink* sink, InstallFn install_fn = {});
  ~AgentCore();

  // One message; the answer to send back, if it has one now.
  std::optional<Json> handle(const From& from, std::string_view payload);
  // Answers finished installs; reports that are due; removes queries whose
  // lease lapsed.
  void tick();
  // When tick() next has work (steady clock, ms).
  int64_t next_deadline() const;
  // The owner went away: its queries stay until their leases lapse.
  void forget_owner(int64_t owner);
  // Whether the owner has a query here, or waits for an install.
  bool owns_queries(int64_t owner) const;
  // At shutdown: waits for an install under way (and drops it), sends one
  // last report of every query to its owner, then removes all advice.
  void finish();

  Json info() const;  // pid, procName, host, catalog, queries
  Json query_ids() const;
  // The ids of the installs waiting or under way if the installer made
  // progress since the last call, else none: a NATS agent's heartbeat
  // carries them ("installing"), where answers may be limited to one per
  // request.
  Json take_progress();
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
    wire::ReportFormat report_format = wire::ReportFormat::kJson;
  };
  // Who waits for an install's answer; `progress`: the install asked to
  // hear, while it waits, each time the installer finishes other work.
  struct Waiter {
    From to;
    bool progress = false;
  };
  // A query being installed on the installer's thread.
  struct Pending {
    std::string text;
    std::vector<Waiter> waiting;  // who gets the answer
    int64_t interval_ms = 0;
    int64_t lease_ms = 0;
    wire::ReportFormat report_format = wire::ReportFormat::kJson;
    bool cancelled = false;  // uninstalled meanwhile: dropped when done
  };
  class Installer;

  std::optional<Json> handle_message(const From& from, std::string_view payload);
  std::optional<Json> install(const From& from, const Json& m);
  // functions and explain: answered from the installer's thread.
  std::optional<Json> ask(const From& from, const Json& m);
  void installed(const std::string& id, Result<std::unique_ptr<session::Installation>> in);
  // The installer finished something, or its thread has run since the
  // last look (at most once every kProgressEveryMs): every install still
  // waiting whose frontend asked hears so ("installing"). A wedged install
  // (a lock never released, a stopped process) makes no progress.
  void tell_progress();
  Json uninstall(const Json& m);
  void renew(const Json& m);
  std::optional<Json> flush(const Json& m);
  Json report(Query& q, bool final);

  int64_t default_interval_ms_;
  ReportSink* sink_;
  InstallFn install_fn_;
  std::map<std::string, Query> queries_;
  std::map<std::string, Pending> pending_;
  std::unique_ptr<Installer> installer_;  // started at the first install
  int64_t installer_cpu_ns_ = 0;          // its thread's CPU time at the last look
  int64_t next_progress_look_ = 0;
  bool progressed_ = false;  // since the last take_progress()
};

}  // namespace pivot::agent
