#include "serve/query_spec.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pivot::serve {

using wire::Json;

Status validate(const QuerySpec& spec) {
  const std::string& n = spec.name;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  bool ok = !n.empty() && n.size() <= 64 && word(n[0]);
  for (char c : n) ok = ok && (word(c) || c == '.' || c == '-');
  if (!ok) {
    return Error(
        "a query name is 1 to 64 letters, digits, '_', '.' or '-', starting with a letter, digit or '_'");
  }
  if (spec.text.empty()) return Error("the query text is empty");
  if (spec.text.size() > kMaxQueryText) {
    return Error("the query text is longer than " + std::to_string(kMaxQueryText) + " bytes");
  }
  if (spec.interval_ms < 10 || spec.interval_ms > 3'600'000)
    return Error("interval_ms must be 10 to 3600000");
  if (spec.max_groups < 1 || spec.max_groups > aggregate::kMaxMaxGroups) {
    return Error("max_groups must be 1 to " + std::to_string(aggregate::kMaxMaxGroups));
  }
  return Status();
}

Json to_json(const QuerySpec& spec) {
  return Json{{"name", spec.name},
              {"text", spec.text},
              {"interval_ms", spec.interval_ms},
              {"max_groups", spec.max_groups},
              {"show", spec.show},
              {"paused", spec.paused}};
}

Result<QuerySpec> spec_from_json(const Json& j) {
  if (!j.is_object()) return Error("a query is a JSON object");
  QuerySpec spec;
  auto field = [&](const char* key, auto& out, bool (Json::*is)() const noexcept,
                   const char* type) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return Status();
    if (!((*it).*is)()) return Error(std::string("\"") + key + "\" must be " + type);
    out = it->get<std::decay_t<decltype(out)>>();
    return Status();
  };
  int64_t max_groups = spec.max_groups;
  for (Status s : {field("name", spec.name, &Json::is_string, "a string"),
                   field("text", spec.text, &Json::is_string, "a string"),
                   field("interval_ms", spec.interval_ms, &Json::is_number_integer, "an integer"),
                   field("max_groups", max_groups, &Json::is_number_integer, "an integer"),
                   field("show", spec.show, &Json::is_string, "a string"),
                   field("paused", spec.paused, &Json::is_boolean, "true or false")}) {
    if (!s) return s.error();
  }
  if (max_groups < 1 || max_groups > aggregate::kMaxMaxGroups) {
    return Error("max_groups must be 1 to " + std::to_string(aggregate::kMaxMaxGroups));
  }
  spec.max_groups = static_cast<uint32_t>(max_groups);
  if (auto s = validate(spec); !s) return s.error();
  return spec;
}

Result<std::vector<QuerySpec>> load_state(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::vector<QuerySpec>{};
    return Error("cannot read the state file " + path + ": " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  Json j = Json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("queries") || !j["queries"].is_array()) {
    return Error("the state file " + path + " is not a pivot serve state file");
  }
  std::vector<QuerySpec> out;
  for (const Json& q : j["queries"]) {
    auto spec = spec_from_json(q);
    if (!spec) return Error("the state file " + path + " has a bad query: " + spec.error().message());
    out.push_back(std::move(*spec));
  }
  return out;
}

Status save_state(const std::string& path, const std::vector<QuerySpec>& specs) {
  Json j{{"version", 1}, {"queries", Json::array()}};
  for (const QuerySpec& s : specs) j["queries"].push_back(to_json(s));
  std::string text = wire::encode(j) + "\n";
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error("cannot write the state file " + tmp + ": " + std::strerror(errno));
  bool written =
      ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Error("cannot write the state file " + path + ": " + std::strerror(errno));
  }
  return Status();
}

Result<int> lock_state(const std::string& path) {
  std::string lock = path + ".lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error("cannot open " + lock + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) return Error("another pivot serve uses the state file " + path + " (--state FILE)");
    return Error("cannot lock " + lock + ": " + std::strerror(e));
  }
  return fd;
}

}  // namespace pivot::serve
