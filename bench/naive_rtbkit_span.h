// The baseline of design section 11: a span facility built the way the RTBkit
// wiki page describes its Trace<T> (../shared/seeds/rtbkit-tracing.md),
// written from that description: a thread-local unordered_map from the
// id's hash to (span counter, stack of open spans, finished spans), spans
// holding a std::string tag and std::chrono::steady_clock time points, and
// a std::function sink called when the last span of an id is popped.
#pragma once

#include <chrono>
#include <functional>
#include <stack>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/cityhash.h"

namespace naive {

struct Span {
  std::string tag;
  uint32_t id = 0;
  int32_t pid = -1;
  std::chrono::steady_clock::time_point start, end;
};

using ProbeCtx = std::tuple<const char*, std::string, uint32_t>;
using SinkCb = std::function<void(const ProbeCtx&, const std::vector<Span>&)>;

inline SinkCb& sink() {
  static SinkCb s = [](const ProbeCtx&, const std::vector<Span>&) {};
  return s;
}

template <class T>
class Trace {
 public:
  Trace(const T& object, const std::string& tag) {
    ctx_ = do_probe(object);
    const std::string& uid = std::get<1>(ctx_);
    key_ = pivot::CityHash64(uid.data(), uid.size());
    uint32_t freq = std::get<2>(ctx_);
    if (freq == 0 || key_ % freq != 0) return;
    entry_ = &stacks()[key_];
    auto& [counter, open, done] = *entry_;
    Span s;
    s.tag = tag;
    s.pid = open.empty() ? -1 : static_cast<int32_t>(open.top().id);
    s.id = ++counter;
    s.start = std::chrono::steady_clock::now();
    open.push(std::move(s));
  }
  ~Trace() {
    if (entry_ == nullptr) return;
    auto& [counter, open, done] = *entry_;
    open.top().end = std::chrono::steady_clock::now();
    done.push_back(std::move(open.top()));
    open.pop();
    if (open.empty()) {
      sink()(ctx_, done);
      stacks().erase(key_);
    }
  }
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

 private:
  using Entry = std::tuple<uint32_t, std::stack<Span>, std::vector<Span>>;
  static std::unordered_map<uint64_t, Entry>& stacks() {
    thread_local std::unordered_map<uint64_t, Entry> s;
    return s;
  }
  ProbeCtx ctx_;
  uint64_t key_ = 0;
  Entry* entry_ = nullptr;
};

}  // namespace naive
