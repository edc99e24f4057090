// The commands that talk to a running `pivot serve` over HTTP rather than
// to agents: `pivot queries`, `pivot stop NAME`, `pivot query --detach NAME`,
// and `pivot serve` itself (serve_cmd.cc).
#pragma once

#include <string>

#include "frontend/frontend.h"
#include "serve/server.h"

namespace pivot::cli {

struct Remote {
  std::string url;    // http://127.0.0.1:9464
  std::string token;  // "" for none
};

// The default server: $PIVOT_SERVER, or serve's default address.
std::string default_server_url();

int cmd_queries(const Remote& remote, bool json);
int cmd_stop(const Remote& remote, const std::string& name, bool json);
int cmd_detach(const Remote& remote, const std::string& name, const std::string& text,
               const frontend::QueryOptions& options);

// `pivot serve`: until SIGINT or SIGTERM. listen is HOST:PORT ([v6]:PORT).
int cmd_serve(serve::ServeOptions options, const std::string& listen);

}  // namespace pivot::cli
