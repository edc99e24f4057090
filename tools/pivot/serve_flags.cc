#include "serve_flags.h"

#include <iostream>

#include "usage.h"

#ifdef PIVOT_HAVE_SERVE
#include "remote.h"
#include "serve/auth.h"
#endif

namespace pivot::cli {

namespace {

int fail(const std::string& message, int code = kExitError) {
  std::cerr << "pivot: " << message << "\n";
  return code;
}

}  // namespace

void ServeCommands::add_to(CLI::App& app, CLI::App& query) {
  query.add_option(
      "--detach", detach_,
      "hand the query to a running `pivot serve` under this name and return (pivot stop NAME ends it)");
  app.add_option("--server", server_url_,
                 "the pivot serve that queries, stop and query --detach talk to (default $PIVOT_SERVER or "
                 "http://127.0.0.1:9464)");
  app.add_option("--token-file", token_file_,
                 "a file holding serve's bearer token (default $PIVOT_TOKEN); never give the token itself");

  serve_ = app.add_subcommand("serve", "run managed queries with a JSON API and Prometheus /metrics");
  serve_->add_option("--listen", listen_,
                     "HOST:PORT to serve HTTP on (default 127.0.0.1:9464; off loopback it needs a token)");
  serve_->add_option("--state", state_path_,
                     "where the managed queries are kept (default RUNTIME_DIR/serve-state.json)");
  serve_
      ->add_option("--window", window_s_,
                   "how long recent intervals are kept per query (a bare number is seconds; default 1h)")
      ->transform(duration_s())
      ->check(CLI::Range(1.0, 7.0 * 86400))
      ->option_text("DURATION");
  serve_
      ->add_option("--window-intervals", window_intervals_,
                   "at most this many recent intervals per query (default 3600)")
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}));
  serve_
      ->add_option("--window-bytes", window_bytes_,
                   "at most this many bytes of recent intervals per query (default 16 MiB)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 32));
  serve_->add_option("--max-queries", max_queries_, "managed queries at most (default 16)")
      ->check(CLI::Range(size_t{1}, size_t{256}));
  serve_->add_option("--max-streams", max_streams_, "event-stream clients at most (default 8)")
      ->check(CLI::Range(size_t{1}, size_t{256}));
  serve_->add_option("--otlp", otlp_url_,
                     "also send every running query's total each interval as OTLP metrics to this OTLP/HTTP "
                     "endpoint (e.g. http://localhost:4318; /v1/metrics is added)");

  queries_ = app.add_subcommand("queries", "list the queries a running pivot serve manages");
  queries_->add_flag("--json", json_, "print serve's JSON");
  stop_ = app.add_subcommand("stop", "stop a query that pivot serve manages; print its final total");
  stop_->add_option("NAME", stop_name_, "the managed query")->required();
  stop_->add_flag("--json", json_, "print serve's JSON");

  // --server and --token-file (and --transport, --runtime-dir) may follow
  // the command too: `pivot serve --token-file F`, `pivot stop NAME --server URL`.
  for (CLI::App* sub : {serve_, queries_, stop_, &query}) sub->fallthrough();
}

bool ServeCommands::chosen() const { return *serve_ || *queries_ || *stop_ || !detach_.empty(); }

int ServeCommands::run(const std::string& transport, const std::string& runtime_dir,
                       const std::function<Result<std::string>()>& query_text,
                       const frontend::QueryOptions& options, double duration_s, const std::string& format) {
#ifdef PIVOT_HAVE_SERVE
  auto token = serve::load_token(token_file_);
  if (!token) return fail(token.error().message());
  if (*serve_) {
    serve::ServeOptions o;
    o.token = *token;
    o.transport = transport;
    o.runtime_dir = runtime_dir;
    o.state_path = state_path_;
    o.otlp_url = otlp_url_;
    o.limits.window_ms = static_cast<int64_t>(window_s_ * 1000);
    if (window_intervals_) o.limits.window_intervals = window_intervals_;
    if (window_bytes_) o.limits.window_bytes = window_bytes_;
    if (max_queries_) o.limits.max_queries = max_queries_;
    if (max_streams_) o.limits.max_sse_clients = max_streams_;
    return cmd_serve(o, listen_);
  }
  Remote remote{server_url_.empty() ? default_server_url() : server_url_, *token};
  if (*queries_) return cmd_queries(remote, json_);
  if (*stop_) return cmd_stop(remote, stop_name_, json_);
  if (duration_s > 0 || format != "table") {
    return fail(
        "--duration and --format are for a query in this terminal; a detached one runs until "
        "`pivot stop NAME`",
        kExitUsage);
  }
  auto text = query_text();
  if (!text) return fail(text.error().message());
  return cmd_detach(remote, detach_, *text, options);
#else
  (void)transport, (void)runtime_dir, (void)query_text, (void)options, (void)duration_s, (void)format;
  return fail(
      "this pivot was built without cpp-httplib (Debian: libcpp-httplib-dev): no serve, queries, stop or "
      "--detach");
#endif
}

}  // namespace pivot::cli
