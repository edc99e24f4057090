#include "interceptors.h"

#include <pivot/baggage.h>
#include <pivot/trace_context.h>

#include <thread>

namespace pivot_grpc {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;

std::string_view MetadataGetter::Get(std::string_view key) const {
  auto it = md_->find(grpc::string_ref(key.data(), key.size()));
  return it == md_->end() ? std::string_view() : std::string_view(it->second.data(), it->second.size());
}

std::string_view MetadataCarrier::Get(std::string_view key) const {
  auto it = md_->find(std::string(key));
  return it == md_->end() ? std::string_view() : std::string_view(it->second);
}

void MetadataCarrier::Set(std::string_view key, std::string_view value) {
  md_->erase(std::string(key));
  md_->emplace(std::string(key), std::string(value));
}

namespace {

class ClientInterceptor : public grpc::experimental::Interceptor {
 public:
  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      MetadataCarrier md(*methods->GetSendInitialMetadata());
      pivot::baggage::inject(md);
      pivot::trace_context::inject(md);
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_STATUS)) {
      pivot::baggage::join(pivot::baggage::extract(MetadataGetter(*methods->GetRecvTrailingMetadata())));
    }
    methods->Proceed();
  }
};

// One per call. Holds the thread's own context while the call's is current.
class ServerInterceptor : public grpc::experimental::Interceptor {
 public:
  ~ServerInterceptor() override { restore(); }

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      MetadataGetter md(*methods->GetRecvInitialMetadata());
      saved_baggage_ = pivot::baggage::exchange(pivot::baggage::extract(md));
      saved_trace_ = pivot::trace_context::exchange(pivot::trace_context::extract(md));
      thread_ = std::this_thread::get_id();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      if (std::this_thread::get_id() == thread_) {
        MetadataCarrier md(*methods->GetSendTrailingMetadata());
        pivot::baggage::inject(md);
      }
      restore();
    }
    methods->Proceed();
  }

 private:
  // Gives the thread its own context back. Only on the thread that took it:
  // a call cancelled before its status leaves the context to the next call's
  // exchange rather than writing into another thread's.
  void restore() {
    if (thread_ != std::this_thread::get_id()) return;
    pivot::baggage::exchange(std::move(saved_baggage_));
    pivot::trace_context::exchange(saved_trace_);
    thread_ = std::thread::id();
  }

  pivot::Baggage saved_baggage_;
  pivot::TraceContext saved_trace_;
  std::thread::id thread_;  // where the call's context is current; none when not
};

}  // namespace

grpc::experimental::Interceptor* ClientInterceptorFactory::CreateClientInterceptor(
    grpc::experimental::ClientRpcInfo*) {
  return new ClientInterceptor;
}

grpc::experimental::Interceptor* ServerInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo*) {
  return new ServerInterceptor;
}

}  // namespace pivot_grpc
