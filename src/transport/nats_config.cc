#include "transport/nats_config.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace pivot::transport {
namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool NatsConfig::has_credentials() const {
  bool in_url = std::any_of(servers.begin(), servers.end(),
                            [](const std::string& s) { return s.find('@') != std::string::npos; });
  return in_url || !user.empty() || !token.empty() || !creds_file.empty() || !cert_file.empty();
}

bool is_nats_url(std::string_view t) { return t.substr(0, 7) == "nats://" || t.substr(0, 6) == "tls://"; }

bool valid_fleet(std::string_view f) {
  return !f.empty() && f.size() <= 64 && std::all_of(f.begin(), f.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

Result<NatsConfig> nats_config(std::string_view url) {
  NatsConfig c;
  auto bad = [&](const std::string& why) {
    // Never echo the URL itself: it may hold a password.
    return Error("bad NATS transport URL: " + why +
                 " (expected nats://[user:password@]host:port, servers separated by commas)");
  };
  std::string scheme;
  if (url.substr(0, 7) == "nats://") {
    scheme = "nats://";
  } else if (url.substr(0, 6) == "tls://") {
    scheme = "tls://";
    c.tls = true;
  } else {
    return bad("it must start with nats:// or tls://");
  }
  std::string rest(url.substr(scheme.size()));
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find(',', start);
    std::string server = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? rest.size() + 1 : comma + 1;
    // A server in a list may repeat the scheme.
    if (server.rfind("nats://", 0) == 0) server.erase(0, 7);
    if (server.rfind("tls://", 0) == 0) {
      server.erase(0, 6);
      c.tls = true;
    }
    std::string userinfo;
    if (size_t at = server.rfind('@'); at != std::string::npos) {
      userinfo = server.substr(0, at);
      server.erase(0, at + 1);
      if (userinfo.empty()) return bad("empty credentials before '@'");
    }
    if (server.empty()) return bad("a server address is empty");
    if (server.find_first_of("/?# \t") != std::string::npos)
      return bad("a server address has a path or spaces; the fleet is set with PIVOT_FLEET");
    size_t colon = server.rfind(':');
    std::string host = colon == std::string::npos ? server : server.substr(0, colon);
    std::string port = colon == std::string::npos ? "4222" : server.substr(colon + 1);
    if (host.empty()) return bad("a server has no host");
    if (!all_digits(port) || port.size() > 5 || std::stoi(port) < 1 || std::stoi(port) > 65535)
      return bad("port '" + port + "' is not a number from 1 to 65535");
    c.servers.push_back(scheme + (userinfo.empty() ? "" : userinfo + "@") + host + ":" + port);
    c.display += (c.display.empty() ? scheme : ",") + host + ":" + port;
  }
  if (const char* v = env("PIVOT_NATS_USER")) c.user = v;
  if (const char* v = env("PIVOT_NATS_PASSWORD")) c.password = v;
  if (const char* v = env("PIVOT_NATS_TOKEN")) c.token = v;
  if (const char* v = env("PIVOT_NATS_CREDS")) c.creds_file = v;
  if (const char* v = env("PIVOT_NATS_CA")) c.ca_file = v;
  if (const char* v = env("PIVOT_NATS_CERT")) c.cert_file = v;
  if (const char* v = env("PIVOT_NATS_KEY")) c.key_file = v;
  if (const char* v = env("PIVOT_FLEET")) c.fleet = v;
  if (const char* v = env("PIVOT_NATS_INSECURE")) c.insecure = std::string(v) == "1";
  if (!valid_fleet(c.fleet)) {
    return Error("PIVOT_FLEET='" + c.fleet + "' must be 1 to 64 letters, digits, '_' or '-'");
  }
  if (c.cert_file.empty() != c.key_file.empty()) {
    return Error("PIVOT_NATS_CERT and PIVOT_NATS_KEY go together (a client certificate and its key)");
  }
  if (!c.user.empty() && c.password.empty()) return Error("PIVOT_NATS_USER needs PIVOT_NATS_PASSWORD");
  if (!c.ca_file.empty() || !c.cert_file.empty()) c.tls = true;
  return c;
}

}  // namespace pivot::transport
