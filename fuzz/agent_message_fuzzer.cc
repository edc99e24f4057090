// Feeds arbitrary bytes to an agent as one frontend message — what anyone
// who can publish on a fleet's command subject (or connect to an agent's
// socket) can send — to the frontend's decoding of a report (an agent's
// message, text and attached bytes), and to the NATS transport URL parser.
// None may crash, throw or hang; every bad message gets an error answer.
//
//   cmake --preset fuzz && cmake --build --preset fuzz --target agent_message_fuzzer
//   ./build/fuzz/fuzz/agent_message_fuzzer -max_total_time=60 fuzz/corpus/agent_message
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/agent_core.h"
#include "aggregate/partial.h"
#include "transport/nats_config.h"

namespace {

class NullSink : public pivot::agent::ReportSink {
 public:
  void report(int64_t, const std::string&, pivot::wire::Json) override {}
  void answer(const pivot::agent::From&, pivot::wire::Json) override {}
  void wake() override {}
};

// A frontend's query of one key, a SUM and a HIST.
const pivot::aggregate::EmitShape kReportShape{
    .keys = 1,
    .aggs = {pivot::aggregate::AggFn::kSum, pivot::aggregate::AggFn::kHist},
    .params = {{}, pivot::aggregate::hist_params()}};

// What the frontend does with a report: every part decoded (or refused).
void decode_report(std::string_view frame) {
  auto m = pivot::wire::parse_message(frame);
  if (!m || !m->contains("queries") || !(*m)["queries"].is_array()) return;
  for (const pivot::wire::Json& part : (*m)["queries"]) {
    pivot::aggregate::Partial p(&kReportShape);
    if (pivot::wire::partial_from_json(part, p)) (void)p.rows();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  NullSink sink;
  {
    pivot::agent::AgentCore core(1000, &sink);
    auto answer = core.handle({1, ""}, text);
    // Everything is answered at once except renew and install (answered
    // from tick()); an answer is a message.
    if (answer && (!answer->is_object() || !answer->contains("type"))) {
      std::fprintf(stderr, "agent_message_fuzzer: answer without a type\n");
      std::abort();
    }
    core.tick();
    core.finish();
  }
  decode_report(text);
  auto config = pivot::transport::nats_config(text);
  if (config && config->servers.empty()) {
    std::fprintf(stderr, "agent_message_fuzzer: a NATS URL without servers was accepted\n");
    std::abort();
  }
  return 0;
}
