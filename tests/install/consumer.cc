// Uses the installed public API end to end, linked with pivot::pivot alone
// (no NATS component): a site, a session, a result, OTLP export, a span
// through the inline fast path and RTBkit's names, and a NATS transport
// that says it was not linked.
#include <pivot/pivot.h>
#include <pivot/rtbkit.h>

#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

void work(int64_t bytes) { PIVOT_TRACEPOINT("Consumer.work", bytes); }

struct Request {
  std::string id;
};
std::tuple<const char*, std::string, int> do_probe(const Request& r) { return {"Request", r.id, 1}; }

int main() {
  pivot::Session session;
  auto q = session.install("From w In Consumer.work Select SUM(w.bytes), COUNT");
  if (!q) {
    std::fprintf(stderr, "%s\n", q.error().message().c_str());
    return 1;
  }
  for (int i = 1; i <= 4; ++i) work(i);
  // OTLP export links (libcurl); a URL that is not http(s) is refused.
  if (pivot::otlp_sink("collector:4318")) return 1;
  std::string got = session.results(*q).to_json();
  std::printf("%s\n", got.c_str());
  if (got != R"x({"columns":["SUM(w.bytes)","COUNT"],"rows":[[10,4]]})x") return 1;

  std::vector<std::string> spans;
  RTBKIT::Trace<Request>::set_sinkCb([&](const RTBKIT::ProbeCtx&, const std::vector<RTBKIT::Span>& vs) {
    for (const RTBKIT::Span& s : vs) spans.push_back(s.tag_ + "/" + std::to_string(s.id_));
  });
  for (int i = 0; i < 2; ++i) {
    pivot::Trace<Request> outer(Request{"r-1"}, "outer");
    TRACE(Request{"r-1"}, "inner");
  }
  pivot::set_trace_sink(pivot::discard_sink());
  std::printf("spans: %zu\n", spans.size());
  if (spans != std::vector<std::string>{"inner/2", "outer/1", "inner/2", "outer/1"}) return 1;

  pivot::AgentOptions nats;
  nats.transport = "nats://127.0.0.1:4222";
  pivot::Status s = pivot::Agent::start(nats);
  std::printf("nats: %s\n", s ? "started" : s.error().message().c_str());
  if (s || s.error().message().find("without pivot's NATS transport") == std::string::npos) return 1;
  return 0;
}
