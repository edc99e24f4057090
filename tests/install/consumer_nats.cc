// Linked with pivot::nats (the NATS component): a nats:// transport reaches
// the NATS agent, which refuses to run without credentials before it
// connects anywhere.
#include <pivot/pivot.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main() {
  unsetenv("PIVOT_NATS_INSECURE");
  pivot::AgentOptions nats;
  nats.transport = "nats://127.0.0.1:4222";
  pivot::Status s = pivot::Agent::start(nats);
  std::printf("nats: %s\n", s ? "started" : s.error().message().c_str());
  if (s) pivot::Agent::stop();
  return !s && s.error().message().find("unauthenticated NATS connection") != std::string::npos ? 0 : 1;
}
