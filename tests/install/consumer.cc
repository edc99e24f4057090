// Uses the installed public API end to end: a site, a session, a result,
// and OTLP export.
#include <pivot/pivot.h>

#include <cstdio>

void work(int64_t bytes) { PIVOT_TRACEPOINT("Consumer.work", bytes); }

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
  return got == R"x({"columns":["SUM(w.bytes)","COUNT"],"rows":[[10,4]]})x" ? 0 : 1;
}
