// Two processes that carry pivot's baggage and a W3C trace context in HTTP-
// style headers, next to members of their own, for the W3C interop test.
//
//   w3c_app serve SOCKET   answers requests on a unix socket: each under the
//                          caller's baggage and trace, firing "W3c.serve"
//   w3c_app call SOCKET    reads commands from stdin:
//                            call N  N requests, each in its own causal
//                                    execution and trace: "W3c.call" with
//                                    user "u<i % 2>", then request i
//                            exit
//                          and answers each with "ok <last baggage header sent>"
//
// A request is one line, "<baggage header>\t<traceparent>\t<bytes>"; the
// response is "<baggage header>". Both print "ready" once their agent runs.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include "pivot/agent.h"
#include "pivot/baggage.h"
#include "pivot/trace_context.h"
#include "pivot/tracepoint.h"

namespace {

using Headers = std::map<std::string, std::string>;

void call_site(const std::string& user) { PIVOT_TRACEPOINT("W3c.call", user); }
void serve_site(int64_t bytes) { PIVOT_TRACEPOINT("W3c.serve", bytes); }

int connect_to(const std::string& path, bool listen_on) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  auto* a = reinterpret_cast<sockaddr*>(&addr);
  if (listen_on) {
    ::unlink(path.c_str());
    if (::bind(fd, a, sizeof addr) != 0 || ::listen(fd, 4) != 0) return -1;
  } else if (::connect(fd, a, sizeof addr) != 0) {
    return -1;
  }
  return fd;
}

bool read_line(int fd, std::string& line) {
  line.clear();
  char c;
  while (::read(fd, &c, 1) == 1) {
    if (c == '\n') return true;
    line += c;
  }
  return false;
}

void write_line(int fd, const std::string& line) {
  std::string out = line + "\n";
  (void)!::write(fd, out.data(), out.size());
}

// The server: one connection, requests in turn.
int serve(const std::string& path) {
  int listener = connect_to(path, true);
  if (listener < 0) return 1;
  std::cout << "ready" << std::endl;
  int fd = ::accept(listener, nullptr, nullptr);
  std::string line;
  while (read_line(fd, line)) {
    size_t tab1 = line.find('\t'), tab2 = line.find('\t', tab1 + 1);
    Headers request = {{"baggage", line.substr(0, tab1)}, {"traceparent", line.substr(tab1 + 1, tab2 - tab1 - 1)}};
    Headers response = {{"baggage", "served=yes"}};
    {
      pivot::baggage::Scope baggage(pivot::baggage::extract(request));
      pivot::trace_context::Scope trace(pivot::trace_context::extract(request));
      serve_site(std::stoll(line.substr(tab2 + 1)));
      pivot::baggage::inject(response);
    }
    write_line(fd, response["baggage"]);
  }
  return 0;
}

// Trace i: a trace id and parent id made from i.
pivot::TraceContext trace_of(int64_t i) {
  char text[64];
  std::snprintf(text, sizeof text, "00-%032llx-%016llx-01", static_cast<unsigned long long>(i),
                static_cast<unsigned long long>(i + 1000));
  return *pivot::TraceContext::parse(text);
}

int call(const std::string& path) {
  int fd = connect_to(path, false);
  if (fd < 0) return 1;
  std::cout << "ready" << std::endl;
  std::string cmd, sent;
  while (std::cin >> cmd) {
    if (cmd == "exit") break;
    int64_t n = 0;
    std::cin >> n;
    for (int64_t i = 1; i <= n; ++i) {
      pivot::baggage::Scope baggage{pivot::Baggage()};
      pivot::trace_context::Scope trace(trace_of(i));
      call_site("u" + std::to_string(i % 2));
      // OpenTelemetry's members, which pivot's must not disturb.
      Headers request = {{"baggage", "userId=alice, isProduction=false;p=1"}};
      pivot::baggage::inject(request);
      pivot::trace_context::inject(request);
      sent = request["baggage"];
      write_line(fd, request["baggage"] + "\t" + request["traceparent"] + "\t" + std::to_string(i));
      std::string reply;
      if (!read_line(fd, reply)) return 1;
      pivot::baggage::join(pivot::baggage::extract_header(reply));
    }
    std::cout << "ok " << sent << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: w3c_app serve|call SOCKET\n";
    return 2;
  }
  if (auto s = pivot::Agent::start(); !s) {
    std::cerr << "w3c_app: " << s.error().message() << "\n";
    return 1;
  }
  std::string role = argv[1];
  int rc = role == "serve" ? serve(argv[2]) : call(argv[2]);
  pivot::Agent::stop();
  return rc;
}
