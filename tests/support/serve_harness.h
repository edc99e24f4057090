// A real `pivot serve` for integration tests, on a CliHarness's transport
// and agents, listening on a free loopback port (it says which), with an
// HTTP client (cpp-httplib) to talk to it.
//
//   CliHarness h(Transport::kLocal);
//   ServeProcess serve(h);
//   ASSERT_TRUE(serve.start()) << serve.error();
//   auto r = serve.client().Get("/api/queries");
//
// Needs PIVOT_HAVE_SERVE (cpp-httplib); not thread-safe.
#pragma once

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/cli_harness.h"

namespace pivot::testing {

class ServeProcess {
 public:
  // extra: flags after `serve`; env: "K=V" for the serve process.
  explicit ServeProcess(const CliHarness& h, std::vector<std::string> extra = {},
                        std::vector<std::string> env = {})
      : h_(h), extra_(std::move(extra)), env_(std::move(env)) {
    state_ = h.dir() + "-serve-state.json";
  }
  ~ServeProcess() {
    // A serve that never started leaves the file to the one that did.
    if (!url_.empty()) (void)!system(("rm -f '" + state_ + "' '" + state_ + ".lock'").c_str());
  }

  // Starts it and waits for "listening on http://HOST:PORT"; false with
  // error() (what it said) if it did not.
  bool start(const std::string& listen = "127.0.0.1:0") {
    std::vector<std::string> argv = {kPivotCli};
    std::vector<std::string> env = env_;
    if (h_.transport() == Transport::kNats) {
      argv.insert(argv.end(), {"--transport", h_.nats_url()});
      env.push_back("PIVOT_FLEET=test");
    } else {
      argv.insert(argv.end(), {"--runtime-dir", h_.dir()});
    }
    argv.insert(argv.end(), {"serve", "--listen", listen, "--state", state_});
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    proc_ = std::make_unique<Subprocess>(argv, env);
    auto line = proc_->err_line(20'000);
    const std::string mark = "listening on http://";
    if (!line || line->find(mark) == std::string::npos) {
      error_ = "pivot serve did not start: " + line.value_or("(nothing)");
      for (const std::string& l : proc_->rest_err(1000)) error_ += "\n" + l;
      return false;
    }
    std::string rest = line->substr(line->find(mark) + mark.size());
    size_t colon = rest.rfind(':', rest.find(' '));
    url_ = "http://127.0.0.1:" + std::to_string(std::atoi(rest.c_str() + colon + 1));
    return true;
  }
  // SIGTERM, and its exit status.
  int stop() {
    proc_->signal(SIGTERM);
    return proc_->wait();
  }
  Subprocess& process() { return *proc_; }
  const std::string& error() const { return error_; }
  const std::string& url() const { return url_; }
  const std::string& state_file() const { return state_; }

  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>(url_);
    c->set_connection_timeout(2);
    c->set_read_timeout(30);
    return c;
  }
  // GET as JSON; a null Json when the request failed.
  nlohmann::json get(const std::string& path, int* status = nullptr) const {
    auto r = client()->Get(path);
    if (status) *status = r ? r->status : 0;
    return r ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
  }
  // POST a JSON body (or any text), as JSON; *status the HTTP status.
  nlohmann::json post(const std::string& path, const std::string& body, int* status,
                      const std::string& token = "") const {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    auto r = client()->Post(path, headers, body, "application/json");
    *status = r ? r->status : 0;
    return r ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
  }
  // The `pivot` CLI pointed at this serve.
  std::unique_ptr<Subprocess> pivot(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--server", url_});
    return h_.pivot(std::move(args));
  }

 private:
  const CliHarness& h_;
  std::vector<std::string> extra_, env_;
  std::string state_, url_, error_;
  std::unique_ptr<Subprocess> proc_;
};

}  // namespace pivot::testing
