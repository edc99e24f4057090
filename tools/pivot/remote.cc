#include "remote.h"

#include <httplib.h>

#include <cstdlib>
#include <iostream>

#include "pivot/result_table.h"
#include "wire/protocol.h"

namespace pivot::cli {

using wire::Json;

namespace {

int fail(const std::string& message, int code = 1) {
  std::cerr << "pivot: " << message << "\n";
  return code;
}

// An install waits for every agent (at most 15 s in serve); a stop for the
// agents' last reports.
constexpr int kReadTimeoutS = 20;

struct Reply {
  int status = 0;
  Json body;
};

Result<Reply> request(const Remote& remote, const std::string& method, const std::string& path,
                      const Json* body = nullptr) {
  httplib::Client client(remote.url);
  if (!client.is_valid()) return Error("bad --server URL '" + remote.url + "' (e.g. http://127.0.0.1:9464)");
  client.set_connection_timeout(2);
  client.set_read_timeout(kReadTimeoutS);
  httplib::Headers headers;
  if (!remote.token.empty()) headers.emplace("Authorization", "Bearer " + remote.token);
  httplib::Result r = method == "GET" ? client.Get(path, headers)
                      : method == "DELETE"
                          ? client.Delete(path, headers)
                          : client.Post(path, headers, body ? wire::encode(*body) : "", "application/json");
  if (!r) {
    return Error("cannot reach pivot serve at " + remote.url + " (" + httplib::to_string(r.error()) +
                 "); is it running? (--server URL)");
  }
  Json j = Json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return Error("pivot serve at " + remote.url + " sent something that is not JSON");
  return Reply{r->status, std::move(j)};
}

std::string error_of(const Reply& r) {
  if (r.body.contains("error") && r.body["error"].is_object() && r.body["error"]["message"].is_string()) {
    return r.body["error"]["message"].get<std::string>();
  }
  return "pivot serve answered HTTP " + std::to_string(r.status);
}

ResultTable table_from_json(const Json& j) {
  ResultTable t;
  if (j.contains("columns")) t.columns = j["columns"].get<std::vector<std::string>>();
  for (const Json& row : j.value("rows", Json::array())) {
    std::vector<Value> out;
    for (const Json& v : row) out.push_back(wire::value_from_json(v) ? *wire::value_from_json(v) : Value());
    t.rows.push_back(std::move(out));
  }
  return t;
}

}  // namespace

std::string default_server_url() {
  const char* env = std::getenv("PIVOT_SERVER");
  if (env != nullptr && *env != '\0') return env;
  return "http://127.0.0.1:" + std::to_string(serve::kDefaultPort);
}

int cmd_queries(const Remote& remote, bool json) {
  auto r = request(remote, "GET", "/api/queries");
  if (!r) return fail(r.error().message());
  if (r->status != 200) return fail(error_of(*r));
  if (json) {
    std::cout << wire::encode(r->body) << "\n";
    return 0;
  }
  ResultTable t;
  t.columns = {"NAME", "STATE", "AGENTS", "INTERVALS", "QUERY"};
  for (const Json& q : r->body["queries"]) {
    // One line per query: the text's lines joined, or the error that holds it.
    std::string text = q["text"].get<std::string>();
    for (char& c : text) c = c == '\n' ? ' ' : c;
    if (q["error"].is_object()) text = "(" + q["error"]["message"].get<std::string>().substr(0, 120) + ")";
    t.rows.push_back({Value(q["name"].get<std::string>()), Value(q["state"].get<std::string>()),
                      Value(q["agents"].get<int64_t>()), Value(q["intervals"].get<int64_t>()), Value(text)});
  }
  std::cout << t.to_text();
  return 0;
}

int cmd_stop(const Remote& remote, const std::string& name, bool json) {
  auto r = request(remote, "DELETE", "/api/queries/" + name);
  if (!r) return fail(r.error().message());
  if (r->status != 200) return fail(error_of(*r));
  if (json) {
    std::cout << wire::encode(r->body) << "\n";
  } else {
    std::cout << "stopped " << name << "; its final total:\n" << table_from_json(r->body["total"]).to_text();
  }
  return 0;
}

int cmd_detach(const Remote& remote, const std::string& name, const std::string& text,
               const frontend::QueryOptions& options) {
  Json body{{"name", name},
            {"text", text},
            {"interval_ms", options.interval_ms},
            {"max_groups", options.max_groups},
            {"show", options.show}};
  auto r = request(remote, "POST", "/api/queries", &body);
  if (!r) return fail(r.error().message());
  if (r->status != 201 && r->status != 202) return fail(error_of(*r));
  for (const Json& note : r->body["notes"]) std::cerr << "pivot: " << note.get<std::string>() << "\n";
  if (r->status == 202) {
    std::cerr << "pivot: query " << name << " is still installing; pivot serve at " << remote.url
              << " manages it (pivot queries shows how it went)\n";
  } else {
    std::cerr << "pivot: query " << name << " installed on " << r->body["agents"].get<int>()
              << " agents; pivot serve at " << remote.url << " manages it (pivot stop " << name
              << " ends it)\n";
  }
  return 0;
}

}  // namespace pivot::cli
