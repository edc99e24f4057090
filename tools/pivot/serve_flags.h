// The flags of `pivot serve` and of the commands that talk to a running
// serve (`pivot queries`, `pivot stop NAME`, `pivot query --detach NAME`),
// and what runs them. Always built: without cpp-httplib the commands exist
// and say what is missing.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <functional>
#include <string>

#include "frontend/frontend.h"
#include "pivot/result.h"

namespace pivot::cli {

class ServeCommands {
 public:
  // Adds serve, queries and stop to `app`, --detach to its `query` command,
  // and --server and --token-file to `app`.
  void add_to(CLI::App& app, CLI::App& query);
  // Whether the command line asked for one of them.
  bool chosen() const;
  // Runs it. query_text reads the QUERY argument (for --detach); options and
  // the rest are `pivot query`'s flags, some of which a detached query refuses.
  int run(const std::string& transport, const std::string& runtime_dir,
          const std::function<Result<std::string>()>& query_text, const frontend::QueryOptions& options,
          double duration_s, const std::string& format);

 private:
  CLI::App* serve_ = nullptr;
  CLI::App* queries_ = nullptr;
  CLI::App* stop_ = nullptr;
  std::string detach_, server_url_, token_file_, stop_name_, state_path_, otlp_url_;
  std::string listen_ = "127.0.0.1:9464";
  double window_s_ = 3600;
  size_t window_intervals_ = 0, window_bytes_ = 0, max_queries_ = 0, max_streams_ = 0;  // 0: serve's default
  bool json_ = false;
};

}  // namespace pivot::cli
