// The frontend <-> agent protocol: JSON messages, one per frame; a report
// may carry its parts' groups as bytes after the text (encode()).
//
// Every message is an object with "v" (the protocol version, kVersion) and
// "type". Frontend to agent:
//   hello                                  -> info
//   install   {id, text, catalog, lease_ms, interval_ms, max_groups?, report_format?, again?, progress?}
//                                          -> installed | error
//             (id: 1 to 16 hex digits; with "again": true, an agent that
//             already has the same query answers installed {"already": true};
//             with "progress": true, until it answers, the agent also sends
//             installing {id} each time its installer finishes other work
//             (installs run one at a time), and at most once a second while
//             the installer's thread runs: the install is queued or working,
//             not stuck; on NATS, where a locked-down fleet lets an agent
//             answer a request once, the heartbeat carries that instead;
//             an agent with AgentCore::kMaxWaitingInstalls installs waiting
//             already answers error)
//   uninstall {id}                         -> uninstalled | error
//   renew     {ids}                        (extends the leases; no reply)
//   flush     {id}                         -> report with "final": true
//   functions {pattern, limit?, req?}      -> functions {pattern, program, functions: [FUNCTION...],
//                                             more, note?, req?} | error
//   explain   {text, req?}                 -> explained {functions: [line...], req?} | error
//             (both answered from the agent's installer thread: they read
//             symbol tables and debug information; "req" is echoed)
// FUNCTION is {signature, object, address (in the object, hex), size, debug_info, how, member,
//              params: [{name, type, where, readable}], returns, hookable,
//              why_not?, ifunc?, clones: [FUNCTION...]} (hook/functions.h).
// On NATS (transport/nats_config.h) an agent also sends, unasked:
//   info on pivot.FLEET.announce (at start and after a reconnect),
//   heartbeat {queries, heartbeat_ms, installing?} every second (installing:
//   the ids of the installs waiting or under way, when its installer made
//   progress since the last heartbeat), and bye when it stops;
// and every message it sends carries agent, pid, procName and host.
// Agent to frontend:
//   info      {pid, procName, host, tracepoints, queries}
//   report    {id, seq, time, final, queries: [PARTIAL...]}  every interval
//   error     {id?, message}
//   installing {id}                        (progress of an install that asked for it)
// PARTIAL is {"groups": [[[keys...], [[count, acc], ...]], ...] (a HIST,
//             LHIST, QUANTILE or COUNT(DISTINCT) state has a third element,
//             its buckets, sketch or hashes: box_to_json in protocol.cc),
//             "events": [n, ...] (per group: the events it holds),
//             "incomplete": bool, "dropped": n (events a limit left out),
//             "overflow": true (only when a SUM or AVG of integers went
//             past 64 bits)}, or, when the install said "report_format":
//             kBinaryReports, {"bin": [offset, length] of the bytes after
//             the message's text, "incomplete", "dropped", "overflow"?}
//             (the layout: protocol.cc, partial_bytes).
// install may carry "max_groups" (1 to aggregate::kMaxMaxGroups): the most
// groups each query of the text holds in the agent's process per interval.
// A message the receiver does not understand is answered with an error; it
// never ends the receiving process. docs/architecture.md has the details.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "aggregate/partial.h"
#include "hook/functions.h"
#include "pivot/result.h"
#include "pivot/value.h"
#include "planner/catalog.h"

namespace pivot::wire {

inline constexpr int kVersion = 1;

using Json = nlohmann::json;

Json to_json(const Value& v);
Result<Value> value_from_json(const Json& j);

// A partial as a report carries it: its groups as JSON arrays, or (kBinary,
// what a frontend asks for with "report_format": "binary" in its install)
// as bytes, a JSON binary value in "bin" that encode() sends after the
// message's text and parse_message() restores (docs/architecture.md,
// "Reports"). Bytes decode several times faster than JSON groups.
enum class ReportFormat { kJson, kBinary };
// What a frontend that reads binary reports puts in "report_format": the
// byte format's version, so that a later one is asked for by a name of its
// own and agents that do not know it send JSON groups.
inline constexpr const char* kBinaryReports = "binary-1";
// The format an install asks for: kBinary for kBinaryReports, else kJson.
ReportFormat report_format_asked(const Json& install);
Json to_json(const aggregate::Partial& p, ReportFormat format = ReportFormat::kJson);
// Merges the groups of `j` into `out` (whose shape must match the sender's).
// All or nothing: on an error `out` is unchanged.
Status merge_from_json(const Json& j, aggregate::Partial& out);
// Decodes `j` into `in` (emptied first, its room kept: Partial::reset), to
// merge into several partials; on an error `in` is left empty. Reusing one
// `in` for every report spares mapping its tables per report.
Status partial_from_json(const Json& j, aggregate::Partial& in);

Json to_json(const planner::Catalog& c);
Result<planner::Catalog> catalog_from_json(const Json& j);
// Adds b's tracepoints and exports to a (union by name).
void merge_catalog(planner::Catalog& a, const planner::Catalog& b);

// Adds a function listing to a `functions` answer: "functions", "more"
// (matched but not listed: past the limit, or past kMaxListingBytes of
// JSON, which keeps the answer within a NATS message) and "note".
inline constexpr size_t kMaxListingBytes = 768 * 1024;
void add_listing(Json& answer, const hook::Listing& listing);

// The text of a message (or any JSON) to send or print: its JSON text, and
// for a report whose parts carry bytes, a NUL and those bytes. Never throws: a
// string that is not valid UTF-8 (a tracepoint's export, a comment in a
// query text) has each bad byte replaced by U+FFFD, as nlohmann's dump()
// would otherwise throw type_error.316 at it.
std::string encode(const Json& j);

// A message: {"v": kVersion, "type": type}.
Json message(std::string_view type);
// Parses a frame into a message object with a supported version and a
// string type, a report's attached bytes back in its parts' "bin"; anything
// else is an Error saying what is wrong.
Result<Json> parse_message(std::string_view frame);

// Field access with clear errors for the message checkers.
Result<std::string> get_string(const Json& m, const char* key);
Result<int64_t> get_int(const Json& m, const char* key);
// An optional true/false field ("again", "progress"): false when it is
// missing or not a boolean.
bool get_flag(const Json& m, const char* key);

}  // namespace pivot::wire
