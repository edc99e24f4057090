// The built-in sinks: syslog, JSON lines, Chrome trace, discard, callback.
// Not public API; the factories are in pivot/trace.h.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "trace/sink.h"

namespace pivot::internal {

// A syslog sink that hands each (priority, line) to `emit` instead of
// syslog(3): tests check the exact bytes and the priority.
using SyslogEmit = std::function<void(int priority, std::string_view line)>;
std::shared_ptr<SinkImpl> make_syslog_sink(SyslogEmit emit);

// default_probe_sink's line for one span: syslog_sink()'s line, from a Span
// and its ProbeCtx, with the given thread id.
void append_probe_sink_line(std::string& out, const ProbeCtx& ctx, const Span& s, int64_t tid);

}  // namespace pivot::internal
