// A client of the gRPC example: an application that reads from the store,
// each request in a W3C trace of its own, as a service instrumented with
// OpenTelemetry would be.
//
//   grpc_store_client PORT APP   connect to 127.0.0.1:PORT, print "ready";
//                                on "go N" make N calls and print "done N";
//                                stop on "exit" or end of stdin
#include <pivot/pivot.h>

#include <iostream>
#include <string>

#include "interceptors.h"
#include "store.grpc.pb.h"

namespace {

// A trace id of the application's own for request `i` (an OpenTelemetry
// SDK would draw a random one).
pivot::TraceContext new_trace(const std::string& app, int i) {
  pivot::TraceContext t;
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the app name
  for (char c : app) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  for (int k = 0; k < 8; ++k) {
    t.trace_id[k] = static_cast<uint8_t>(h >> (8 * k));
    t.trace_id[8 + k] = static_cast<uint8_t>(static_cast<uint64_t>(i + 1) >> (8 * k));
  }
  t.span_id[7] = 1;
  t.flags = 1;
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: grpc_store_client PORT APP\n";
    return 2;
  }
  if (pivot::Status s = pivot::Agent::start(); !s) {
    std::cerr << "pivot agent: " << s.error().message() << "\n";
  }
  const std::string app = argv[2];
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<pivot_grpc::ClientInterceptorFactory>());
  auto channel = grpc::experimental::CreateCustomChannelWithInterceptors(
      std::string("127.0.0.1:") + argv[1], grpc::InsecureChannelCredentials(), grpc::ChannelArguments(),
      std::move(interceptors));
  auto store = pivot::example::Store::NewStub(channel);
  std::cout << "ready" << std::endl;

  for (std::string cmd; std::cin >> cmd && cmd != "exit";) {
    if (cmd != "go") continue;
    int n = 0;
    std::cin >> n;
    int ok = 0;
    for (int i = 0; i < n; ++i) {
      pivot::baggage::Scope request{pivot::Baggage{}};  // a new request: empty baggage
      pivot::trace_context::Scope trace(new_trace(app, i));
      std::string key(1 + i % 4, 'k');
      PIVOT_TRACEPOINT("Client.call", app, key);
      pivot::example::ReadRequest req;
      req.set_key(key);
      pivot::example::ReadReply reply;
      grpc::ClientContext context;
      grpc::Status status = store->Read(&context, req, &reply);
      if (!status.ok()) {
        std::cerr << "Read: " << status.error_message() << "\n";
        continue;
      }
      ++ok;
      PIVOT_TRACEPOINT("Client.done", app, PIVOT_EXPORT("bytes", reply.data().size()));
    }
    std::cout << "done " << ok << std::endl;
  }
  return 0;
}
