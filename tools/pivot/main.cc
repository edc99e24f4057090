// pivot: the command-line frontend.
//
//   pivot ps                        the processes with a pivot agent
//   pivot tracepoints               their tracepoints and exports
//   pivot functions GLOB            the functions they could hook: signature,
//                                   parameters, hookable or why not, clones
//   pivot explain QUERY             the advice a query compiles to, and how
//                                   each agent reads a definition's exports
//   pivot query QUERY               install it, print results every interval
//                                   (--otlp URL: also send them as OTLP metrics)
//   pivot serve                     managed queries, a JSON API and /metrics over HTTP
//   pivot queries | stop NAME | query --detach NAME QUERY
//                                   talk to a running `pivot serve` (--server URL)
//
// QUERY is the text itself, @FILE, or - for standard input. Agents are found
// in $PIVOT_RUNTIME_DIR (default /tmp/pivot-$UID) or --runtime-dir, or, with
// --transport nats://host:port (default $PIVOT_TRANSPORT), on a NATS server.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "core/clock.h"
#include "frontend/columns.h"
#include "frontend/frontend.h"
#include "otlp/http_exporter.h"
#include "otlp/query_metrics.h"
#include "output.h"
#include "serve_flags.h"
#include "transport/local.h"
#include "transport/nats_config.h"
#include "usage.h"
#include "wire/protocol.h"

namespace {

using pivot::cli::Format;
using pivot::cli::kExitError;
using pivot::cli::kExitOk;
using pivot::cli::kExitUsage;

std::atomic<bool> g_interrupted{false};

void on_signal(int) { g_interrupted.store(true); }

// The query text from an argument, @file or - (stdin).
pivot::Result<std::string> read_query(const std::string& arg) {
  std::stringstream ss;
  if (arg == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  if (!arg.empty() && arg[0] == '@') {
    std::ifstream in(arg.substr(1));
    if (!in) return pivot::Error("cannot read query file '" + arg.substr(1) + "'");
    ss << in.rdbuf();
    return ss.str();
  }
  return arg;
}

int fail(const std::string& message, int code = kExitError) {
  std::cerr << "pivot: " << message << "\n";
  return code;
}

int cmd_ps(pivot::frontend::Frontend& fe, bool json) {
  std::vector<std::string> notes;
  auto agents = fe.agents(&notes);
  for (const auto& n : notes) std::cerr << "pivot: " << n << "\n";
  if (json) {
    pivot::wire::Json out = pivot::wire::Json::array();
    for (const auto& a : agents) {
      out.push_back({{"pid", a.pid},
                     {"procName", a.proc_name},
                     {"host", a.host},
                     {"tracepoints", a.catalog.tracepoints.size()},
                     {"queries", a.queries}});
    }
    std::cout << pivot::wire::encode(out) << "\n";
  }
  if (agents.empty()) return fail("no agents found " + fe.where());
  // Limits that acted on an agent's socket are said, not only counted.
  for (const auto& a : agents) {
    std::string acted;
    for (const char* counter : {"refused_connections", "oversized_frames", "idle_closed", "output_overflows",
                                "accept_failures", "relistened"}) {
      int64_t n = pivot::frontend::int_field(a.transport, counter);
      if (n > 0) acted += (acted.empty() ? "" : ", ") + std::string(counter) + " " + std::to_string(n);
    }
    if (!acted.empty()) std::cerr << "pivot: agent " << a.pid << " (socket limits acted): " << acted << "\n";
  }
  if (json) return kExitOk;
  pivot::ResultTable t;
  t.columns = {"PID", "PROCNAME", "HOST", "TRACEPOINTS", "QUERIES"};
  for (const auto& a : agents) {
    t.rows.push_back({pivot::Value(int64_t{a.pid}), pivot::Value(a.proc_name), pivot::Value(a.host),
                      pivot::Value(static_cast<int64_t>(a.catalog.tracepoints.size())),
                      pivot::Value(static_cast<int64_t>(a.queries))});
  }
  std::cout << t.to_text();
  return 0;
}

int cmd_tracepoints(pivot::frontend::Frontend& fe, bool json) {
  auto agents = fe.agents();
  if (agents.empty()) return fail("no agents found " + fe.where());
  pivot::planner::Catalog all;
  std::map<std::string, std::set<std::string>> where;
  for (const auto& a : agents) {
    pivot::wire::merge_catalog(all, a.catalog);
    for (const auto& t : a.catalog.tracepoints) where[t.name].insert(a.proc_name);
  }
  if (json) {
    pivot::wire::Json out = pivot::wire::to_json(all);
    for (auto& t : out) t["processes"] = where[t["name"].get<std::string>()];
    std::cout << pivot::wire::encode(out) << "\n";
    return 0;
  }
  pivot::ResultTable t;
  t.columns = {"TRACEPOINT", "EXPORTS", "PROCESSES"};
  for (const auto& tp : all.tracepoints) {
    std::string exports, procs;
    for (const auto& e : tp.exports) {
      exports += (exports.empty() ? "" : " ") + e.name + ":" + std::string(pivot::type_name(e.type)) +
                 (e.is_list ? "[]" : "") +
                 (e.unit == pivot::Unit::kNone ? "" : "(" + std::string(pivot::unit_name(e.unit)) + ")");
    }
    for (const auto& p : where[tp.name]) procs += (procs.empty() ? "" : ",") + p;
    t.rows.push_back({pivot::Value(tp.name), pivot::Value(exports), pivot::Value(procs)});
  }
  std::cout << t.to_text();
  return 0;
}

int cmd_functions(pivot::frontend::Frontend& fe, const std::string& pattern, bool json, int64_t limit) {
  std::vector<std::string> notes;
  auto answers = fe.functions(pattern, limit, &notes);
  for (const auto& n : notes) std::cerr << "pivot: " << n << "\n";
  if (answers.empty()) return fail("no agents found " + fe.where());
  // Agents' answers are outside input: a malformed one is an error message,
  // never an exception out of pivot.
  try {
    pivot::wire::Json grouped = pivot::cli::functions_json(answers);
    for (const auto& e : grouped["errors"]) std::cerr << "pivot: " << e.get<std::string>() << "\n";
    if (json) {
      std::cout << pivot::wire::encode(grouped) << "\n";
    } else {
      std::cout << pivot::cli::functions_text(grouped);
    }
    return grouped["programs"].empty() ? 1 : 0;
  } catch (const std::exception& e) {
    return fail(std::string("an agent's answer could not be read: ") + e.what());
  }
}

int cmd_explain(pivot::frontend::Frontend& fe, const std::string& arg) {
  auto text = read_query(arg);
  if (!text) return fail(text.error().message());
  auto e = fe.explain(*text);
  if (!e) return fail(e.error().message());
  std::cout << *e;
  return 0;
}

// `pivot query --otlp URL`: each interval's total as OTLP metrics
// (otlp/query_metrics.h), from the exporter's own thread, so a slow
// collector never holds up the results on stdout.
class MetricsExport {
 public:
  static pivot::Result<std::unique_ptr<MetricsExport>> create(const std::string& url) {
    pivot::otlp::ExporterOptions options;
    options.url = pivot::otlp::endpoint_url(url, pivot::otlp::kMetricsPath);
    options.headers = pivot::otlp::env_headers(pivot::otlp::kMetricsPath);
    options.exit_flush_ms = 0;  // finish() has waited already
    auto exporter = pivot::otlp::HttpExporter::create(std::move(options));
    if (!exporter) return exporter.error();
    auto m = std::make_unique<MetricsExport>();
    m->exporter_ = std::move(*exporter);
    return m;
  }
  void installed(const pivot::frontend::Frontend& fe) {
    if (fe.shown_query() == nullptr) return;
    query_ = {fe.shown_query()->label, pivot::frontend::describe_columns(*fe.shown_query())};
    start_ns_ = pivot::internal::now_ns();
    if (!pivot::otlp::has_metrics(query_))
      std::cerr << "pivot: --otlp: query " << query_.name << " has no aggregates, so no metrics to send\n";
  }
  void report(const pivot::frontend::Snapshot& s) {
    if (!pivot::otlp::has_metrics(query_)) return;
    size_t points = 0;
    std::string body =
        pivot::otlp::encode_query_metrics(query_, s.total, start_ns_, s.time_ms * 1000000, "pivot", &points);
    if (points > 0) exporter_->send(std::move(body), points);  // nothing yet: nothing to say
  }
  // Waits for what is queued (at most 5 s) and says what did not arrive.
  void finish() {
    bool done = exporter_->flush(5000);
    pivot::OtlpStats st = exporter_->stats();
    if (!done || st.requests_failed + st.requests_dropped > 0) {
      std::cerr << "pivot: --otlp: " << st.requests_sent << " requests sent, " << st.requests_failed
                << " failed, " << st.requests_dropped << " dropped" << (done ? "" : ", some still queued");
      std::string why = exporter_->last_error();
      if (!why.empty()) std::cerr << "; last error: " << why;
      std::cerr << "\n";
    }
  }

 private:
  std::unique_ptr<pivot::otlp::HttpExporter> exporter_;
  pivot::otlp::QueryMetrics query_;
  int64_t start_ns_ = 0;
};

int cmd_query(pivot::frontend::Frontend& fe, const std::string& arg, Format format,
              const pivot::frontend::QueryOptions& options, double duration_s, const std::string& otlp_url) {
  auto text = read_query(arg);
  if (!text) return fail(text.error().message());
  std::unique_ptr<MetricsExport> metrics;
  if (!otlp_url.empty()) {
    auto m = MetricsExport::create(otlp_url);
    if (!m) return fail(m.error().message(), kExitUsage);
    metrics = std::move(*m);
  }
  // Handlers first: a Ctrl-C from now on uninstalls and prints the result.
  // SA_RESTART: a write to a full stdout pipe goes on after Ctrl-C instead
  // of failing with EINTR, which lost the final answer. The frontend still
  // wakes: poll() is never restarted, and it looks at the flag every 100 ms.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  fe.set_interrupt(&g_interrupted);
  auto started = fe.start(*text, options);
  if (!started) return fail(started.error().message());
  for (const auto& note : *started) std::cerr << "pivot: " << note << "\n";
  if (metrics) metrics->installed(fe);
  std::cerr << "pivot: query installed on " << fe.installed_agents() << " agents; Ctrl-C to stop"
            << std::endl;

  const bool live = format == Format::kTable && isatty(STDOUT_FILENO);
  // The deadline holds inside an interval too: --interval 3600000
  // --duration 5 ends after 5 s.
  const int64_t until = pivot::internal::steady_ms() + static_cast<int64_t>(duration_s * 1000);
  if (duration_s > 0) fe.set_stop_at(until);
  // On a terminal the table is redrawn in place, with rates and the latest
  // warnings under it; into a pipe every format streams: a table, CSV rows
  // or a JSON line per interval, the last one the final answer.
  const std::vector<pivot::frontend::Column> columns =
      fe.shown_query() ? pivot::frontend::describe_columns(*fe.shown_query())
                       : std::vector<pivot::frontend::Column>{};
  std::deque<std::string> warnings;  // the latest, for the live view
  bool csv_started = false;
  // False once stdout is gone (`pivot query ... | head -1`): SIGPIPE is
  // ignored, so the write fails instead, and the query is uninstalled
  // before pivot exits rather than left to its lease.
  auto report = [&](const pivot::frontend::Snapshot& s) {
    for (const auto& e : s.events) {
      std::cerr << "pivot: " << e << "\n";
      warnings.push_back(e);
      if (warnings.size() > 5) warnings.pop_front();
    }
    if (metrics) metrics->report(s);
    switch (format) {
      case Format::kJson: std::cout << pivot::cli::json_line(s) << std::endl; break;
      case Format::kTable:
        if (live) {
          std::cout << "\x1b[H\x1b[2J" << pivot::cli::live_view(s, columns, options.interval_ms, warnings)
                    << std::flush;
        } else {
          std::cout << pivot::cli::table_view(s, "query", s.final) << "\n" << std::flush;
        }
        break;
      case Format::kCsv:
        if (!csv_started) std::cout << pivot::cli::csv_header(s.interval);
        csv_started = true;
        std::cout << pivot::cli::csv_rows(s) << std::flush;
        break;
    }
    return static_cast<bool>(std::cout);
  };
  bool output_ok = true;
  while (output_ok && !g_interrupted.load() && (duration_s <= 0 || pivot::internal::steady_ms() < until)) {
    output_ok = report(fe.next_interval());
  }
  if (!output_ok) {
    (void)fe.finish();
    return fail("cannot write the results (is stdout closed?); stopped, and the query is uninstalled");
  }
  bool written = report(fe.finish());
  if (metrics) metrics->finish();
  if (!written) return fail("cannot write the final results");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pivot: ask a running system new questions (Pivot Tracing for C++)", "pivot"};
  app.require_subcommand(1);
  std::string dir = pivot::transport::default_runtime_dir();
  app.add_option("--runtime-dir", dir,
                 "where agents' sockets are (default $PIVOT_RUNTIME_DIR or /tmp/pivot-$UID)");
  const char* env_transport = std::getenv("PIVOT_TRANSPORT");
  std::string transport = env_transport != nullptr && *env_transport != '\0' ? env_transport : "local";
  app.add_option(
      "--transport", transport,
      "local, or nats://[user:password@]host:port for a fleet on NATS (default $PIVOT_TRANSPORT or "
      "local)");

  std::string ps_format = "table", tp_format = "table";
  auto* ps = app.add_subcommand("ps", "list the processes that have a pivot agent (exit status 1 when none)");
  ps->add_option("--format", ps_format, "table or json")->check(CLI::IsMember({"table", "json"}));
  auto* tps = app.add_subcommand("tracepoints", "list the tracepoints of every process");
  tps->add_option("--format", tp_format, "table or json")->check(CLI::IsMember({"table", "json"}));
  tps->add_flag_callback(
      "--json", [&] { tp_format = "json"; }, "the same as --format json");

  std::string fn_pattern, fn_format = "text";
  int64_t fn_limit = 500;
  auto* functions = app.add_subcommand(
      "functions",
      "list the functions of every process that a Tracepoint definition could hook: signatures, parameter "
      "names, types and registers (from debug information where there is some), whether each can be hooked "
      "and why not, and the compiler's clones hooked with it");
  functions->add_option("GLOB", fn_pattern, "a function name, signature or glob, as in Entry(\"...\")")
      ->required();
  functions->add_option("--format", fn_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  functions->add_option("--limit", fn_limit, "list at most this many functions per process (default 500)")
      ->check(CLI::Range(int64_t{1}, int64_t{5000}));

  std::string query;
  auto* explain = app.add_subcommand(
      "explain",
      "print the advice a query compiles to, and for its Tracepoint definitions the functions each agent "
      "hooks and where each export is read from (debug information or the symbol table's rules)");
  explain->add_option("QUERY", query, "query text, @FILE or - for stdin")->required();

  auto* q = app.add_subcommand("query", "install a query and print its results every interval");
  q->add_option("QUERY", query, "query text, @FILE or - for stdin")->required();
  std::string format = "table";
  int64_t interval_ms = 1000;
  double duration_s = 0;
  int64_t lease_ms = 0;
  std::string show;
  q->add_option("--format", format, "table, json (one line per interval) or csv (the final table)")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  q->add_option("--interval", interval_ms, "reporting interval, 10ms to 1h (a bare number is ms; default 1s)")
      ->transform(pivot::cli::duration_ms())
      ->check(CLI::Range(10, 3600000))
      ->option_text("DURATION");
  q->add_option("--duration", duration_s,
                "stop after this long (a bare number is seconds; default: until Ctrl-C)")
      ->transform(pivot::cli::duration_s())
      ->check(CLI::NonNegativeNumber)
      ->option_text("DURATION");
  q->add_option("--lease", lease_ms,
                "how long agents keep the query if this frontend disappears (a bare number is ms; default: 3 "
                "intervals, at least 10s + 1 interval)")
      ->transform(pivot::cli::duration_ms())
      ->check(CLI::Range(int64_t{0}, int64_t{86400000}))
      ->option_text("DURATION");
  q->add_option("--show", show, "print this named query of the text (default: the last query)");
  std::string otlp_url;
  q->add_option("--otlp", otlp_url,
                "also send each interval's total as OTLP metrics to this OTLP/HTTP endpoint (e.g. "
                "http://localhost:4318; /v1/metrics is added)");
  uint32_t max_groups = pivot::aggregate::kDefaultMaxGroups;
  q->add_option("--max-groups", max_groups,
                "the most groups a query holds per process and interval, and in the merged result; events "
                "of groups beyond it are dropped and counted (default 10000)")
      ->check(CLI::Range(uint32_t{1}, pivot::aggregate::kMaxMaxGroups));

  pivot::cli::ServeCommands serve_commands;
  serve_commands.add_to(app, *q);

  pivot::cli::follow_conventions(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return pivot::cli::usage_error(app, e, argc, argv);
  }
  // A closed stdout is a failed write to handle (cmd_query uninstalls its
  // query then), not a signal that kills pivot on the spot.
  signal(SIGPIPE, SIG_IGN);
  if (lease_ms != 0 && lease_ms < interval_ms) return fail("--lease must be at least --interval", kExitUsage);
  if (serve_commands.chosen()) {
    if (!otlp_url.empty())
      return fail(
          "--otlp exports a query this pivot runs; a detached query is exported by `pivot serve --otlp`",
          kExitUsage);
    return serve_commands.run(
        transport, dir, [&] { return read_query(query); }, {interval_ms, lease_ms, show, max_groups},
        duration_s, format);
  }
  auto link = pivot::frontend::make_link(transport, dir);
  // A transport that is not one is the command line's fault; one that
  // cannot be reached is not.
  bool usable = transport.empty() || transport == "local" ||
                (pivot::transport::is_nats_url(transport) && pivot::transport::nats_config(transport));
  if (!link) return fail(link.error().message(), usable ? kExitError : kExitUsage);
  pivot::frontend::Frontend fe(std::move(*link));
  if (*ps) return cmd_ps(fe, ps_format == "json");
  if (*tps) return cmd_tracepoints(fe, tp_format == "json");
  if (*functions) return cmd_functions(fe, fn_pattern, fn_format == "json", fn_limit);
  if (*explain) return cmd_explain(fe, query);
  Format f = format == "json" ? Format::kJson : format == "csv" ? Format::kCsv : Format::kTable;
  return cmd_query(fe, query, f, {interval_ms, lease_ms, show, max_groups}, duration_s, otlp_url);
}
