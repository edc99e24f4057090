// gRPC interceptors that carry pivot's baggage and the W3C trace context in
// call metadata, so that a query joins what a client did with what its
// calls caused in the server (and, through the response, the other way).
//
//   // Client: every call on this channel sends the caller's baggage and
//   // traceparent, and joins the baggage the server sends back.
//   std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> client;
//   client.push_back(std::make_unique<pivot_grpc::ClientInterceptorFactory>());
//   auto channel = grpc::experimental::CreateCustomChannelWithInterceptors(
//       target, grpc::InsecureChannelCredentials(), grpc::ChannelArguments(), std::move(client));
//
//   // Server: each handler runs under its caller's baggage and trace
//   // context, and what it packed goes back with the response.
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> server;
//   server.push_back(std::make_unique<pivot_grpc::ServerInterceptorFactory>());
//   builder.experimental().SetInterceptorCreators(std::move(server));
//
// What travels: the `baggage` metadata entry (W3C baggage; pivot's member
// next to any other, kept byte for byte) and `traceparent`, in the request's
// initial metadata; `baggage` again in the response's trailing metadata.
//
// Threads: the client side works for blocking calls, whose interception
// points run on the calling thread. The server side is for the synchronous
// API, whose interception points around a call run on the thread that runs
// its handler: the request's context is made current when its metadata
// arrives and the thread's own restored when the status is sent. A handler
// that hands work to other threads carries the baggage there itself
// (pivot::baggage::wrap, and take/join to bring the result's back). With the
// callback or async API, set the context in the handler instead:
// pivot::baggage::Scope over extract(MetadataGetter(context->client_metadata())).
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>

#include <map>
#include <string>
#include <string_view>

namespace pivot_grpc {

// Received metadata as a pivot header getter (pivot/carrier.h).
class MetadataGetter {
 public:
  explicit MetadataGetter(const std::multimap<grpc::string_ref, grpc::string_ref>& md) : md_(&md) {}
  std::string_view Get(std::string_view key) const;

 private:
  const std::multimap<grpc::string_ref, grpc::string_ref>* md_;
};

// Metadata to be sent as a pivot header carrier: Set replaces the entry.
class MetadataCarrier {
 public:
  explicit MetadataCarrier(std::multimap<std::string, std::string>& md) : md_(&md) {}
  std::string_view Get(std::string_view key) const;
  void Set(std::string_view key, std::string_view value);

 private:
  std::multimap<std::string, std::string>* md_;
};

class ClientInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo* info) override;
};

class ServerInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace pivot_grpc
