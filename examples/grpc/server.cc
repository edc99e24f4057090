// The server of the gRPC example: Store.Read on a synchronous gRPC server
// whose handler hands the read to a thread pool, as servers that keep RPC
// threads free for the network do.
//
//   grpc_store_server      listen on 127.0.0.1 (a free port), print
//                          "listening PORT", serve until "exit" or end of stdin
#include <pivot/pivot.h>

#include <iostream>
#include <string>
#include <utility>

#include "interceptors.h"
#include "store.grpc.pb.h"
#include "support/thread_pool.h"

namespace {

// Where bytes are read: 100 bytes and 10 a character of the key.
std::string read_blob(const std::string& key) {
  std::string blob(100 + key.size() * 10, 'x');
  PIVOT_TRACEPOINT("Store.read", key, PIVOT_EXPORT("bytes", blob.size()));
  return blob;
}

class StoreService final : public pivot::example::Store::Service {
 public:
  grpc::Status Read(grpc::ServerContext*, const pivot::example::ReadRequest* request,
                    pivot::example::ReadReply* reply) override {
    // The pool task runs under a fork of this call's baggage (wrap) and in
    // its trace; it hands back what it packed with its result, and the
    // handler joins it, so the response carries it to the client.
    auto task =
        pool_.submit(pivot::baggage::wrap([key = request->key(), trace = pivot::trace_context::current()] {
          pivot::trace_context::Scope in_trace(trace);
          std::string data = read_blob(key);
          return std::pair(std::move(data), pivot::baggage::take());
        }));
    auto [data, branch] = task.get();
    pivot::baggage::join(std::move(branch));
    reply->set_data(std::move(data));
    return grpc::Status::OK;
  }

 private:
  pivot::testing::ThreadPool pool_{2};  // any executor: the handoff is wrap's
};

}  // namespace

int main() {
  if (pivot::Status s = pivot::Agent::start(); !s) {
    std::cerr << "pivot agent: " << s.error().message() << "\n";
  }
  StoreService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<pivot_grpc::ServerInterceptorFactory>());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "cannot listen on 127.0.0.1\n";
    return 1;
  }
  std::cout << "listening " << port << std::endl;
  for (std::string cmd; std::cin >> cmd && cmd != "exit";) {
  }
  server->Shutdown();
  return 0;
}
