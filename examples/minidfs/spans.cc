#include "spans.h"

#include <atomic>

namespace minidfs {
namespace {
std::atomic<int64_t> g_freq{0};
}  // namespace

int64_t span_freq() { return g_freq.load(std::memory_order_relaxed); }

pivot::Status configure_spans(int64_t freq, const std::string& file) {
  g_freq.store(freq < 0 ? 0 : freq, std::memory_order_relaxed);
  if (file.empty()) return pivot::Status::Ok();
  auto sink = pivot::json_lines_sink(file);
  if (!sink) return sink.error();
  pivot::set_trace_sink(*sink);
  return pivot::Status::Ok();
}

}  // namespace minidfs
