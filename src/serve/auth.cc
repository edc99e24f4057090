#include "serve/auth.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace pivot::serve {

namespace {

std::string trim(std::string s) {
  const char* space = " \t\r\n";
  size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

}  // namespace

Result<std::string> load_token(const std::string& file) {
  if (file.empty()) {
    const char* env = std::getenv("PIVOT_TOKEN");
    return trim(env != nullptr ? env : "");
  }
  std::ifstream in(file);
  if (!in) return Error("cannot read the token file '" + file + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = trim(ss.str());
  if (token.empty()) return Error("the token file '" + file + "' is empty");
  return token;
}

bool is_loopback(std::string_view host) {
  std::string h(host);
  if (h == "localhost") return true;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

bool token_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "Bearer ";
  if (token.empty()) return false;
  // The scheme is public; only the comparison of the secret part must not
  // stop at the first differing byte.
  std::string_view given = authorization.substr(0, kScheme.size()) == kScheme
                               ? authorization.substr(kScheme.size())
                               : std::string_view();
  unsigned diff = given.size() == token.size() ? 0 : 1;
  for (size_t i = 0; i < token.size(); ++i) {
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= g ^ static_cast<unsigned char>(token[i]);
  }
  return diff == 0;
}

}  // namespace pivot::serve
