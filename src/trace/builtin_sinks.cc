#include "trace/builtin_sinks.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "baggage/trace_state.h"
#include "core/clock.h"
#include "trace/format.h"
#include "tracepoint/process_info.h"

namespace pivot::internal {
namespace {

// Calls f(record) for each span of the tree, in delivery order.
template <class F>
void for_each_record(const TreeView& t, F&& f) {
  const ProcessInfo& p = process_info();
  char trace_id[32], span_id[16], parent_id[16];
  if (t.trace != nullptr) write_hex(t.trace->trace_id.data(), t.trace->trace_id.size(), trace_id);
  for (const DoneSpan& d : *t.spans) {
    SpanRecord r{t.tid,
                 p.host,
                 p.proc_id,
                 d.kind,
                 t.uniq,
                 t.freq,
                 d.pid,
                 d.id,
                 d.tag,
                 ticks_to_ns(d.t1),
                 ticks_to_ns(d.t2),
                 d.cross_thread};
    if (t.trace != nullptr) {
      std::array<uint8_t, 8> bytes;
      span_id_bytes(w3c_span_id(t.trace->span_base, d.id), bytes);
      write_hex(bytes.data(), bytes.size(), span_id);
      span_id_bytes(d.pid < 0 ? t.trace->root_parent : w3c_span_id(t.trace->span_base, d.pid), bytes);
      write_hex(bytes.data(), bytes.size(), parent_id);
      r.trace_id = std::string_view(trace_id, sizeof trace_id);
      r.span_id = std::string_view(span_id, sizeof span_id);
      r.parent_span_id = std::string_view(parent_id, sizeof parent_id);
    }
    f(r);
  }
}

bool write_all(int fd, std::string_view data, off_t* offset) {
  while (!data.empty()) {
    ssize_t n = offset != nullptr ? ::pwrite(fd, data.data(), data.size(), *offset)
                                  : ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      g_write_errors.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
    if (offset != nullptr) *offset += n;
  }
  return true;
}

class SyslogSink final : public SinkImpl {
 public:
  explicit SyslogSink(SyslogEmit emit) : emit_(std::move(emit)) {}
  void write(const TreeView& t) override {
    for_each_record(t, [&](const SpanRecord& r) {
      line_.clear();
      append_span_json(line_, r);
      if (emit_) {
        emit_(LOG_LOCAL7 | LOG_INFO, line_);
      } else {
        ::syslog(LOG_LOCAL7 | LOG_INFO, "%s", line_.c_str());
      }
    });
  }

 private:
  SyslogEmit emit_;
  std::string line_;
};

class FileSink : public SinkImpl {
 public:
  explicit FileSink(int fd) : fd_(fd) {}
  ~FileSink() override {
    if (fd_ >= 0) ::close(fd_);
  }

 protected:
  int fd_;
  std::string buf_;
};

class JsonLinesSink final : public FileSink {
 public:
  using FileSink::FileSink;
  void write(const TreeView& t) override {
    for_each_record(t, [&](const SpanRecord& r) {
      append_span_json(buf_, r);
      buf_ += '\n';
    });
  }
  void end_batch() override {
    if (!buf_.empty()) write_all(fd_, buf_, nullptr);
    buf_.clear();
  }
};

// The file is always "[" + events joined by ",\n" + "\n]\n": each batch
// overwrites the closing "\n]\n" with ",\n<events>\n]\n", so the file is a
// valid JSON array after every write (and Perfetto also accepts a file cut
// short in the middle of one).
class ChromeTraceSink final : public FileSink {
 public:
  explicit ChromeTraceSink(int fd) : FileSink(fd) {
    const ProcessInfo& p = process_info();
    std::string head = "[\n";
    append_chrome_process_name(head, p.proc_id, p.proc_name);
    end_ = static_cast<off_t>(head.size());
    head += "\n]\n";
    off_t at = 0;
    write_all(fd_, head, &at);
  }
  void write(const TreeView& t) override {
    for_each_record(t, [&](const SpanRecord& r) {
      buf_ += ",\n";
      append_chrome_event(buf_, r);
    });
  }
  void end_batch() override {
    if (buf_.empty()) return;
    size_t events = buf_.size();
    buf_ += "\n]\n";
    off_t at = end_;
    if (write_all(fd_, buf_, &at)) end_ += static_cast<off_t>(events);
    buf_.clear();
  }

 private:
  off_t end_;  // where the closing "\n]\n" starts
};

class DiscardSink final : public SinkImpl {};

class CallbackSink final : public SinkImpl {
 public:
  explicit CallbackSink(SinkCb cb) : cb_(std::move(cb)) {}
  const SinkCb* callback() const override { return &cb_; }

 private:
  SinkCb cb_;
};

Result<int> open_file(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Error("cannot open trace file '" + path + "': " + std::strerror(errno));
  return fd;
}

}  // namespace

std::shared_ptr<SinkImpl> make_syslog_sink(SyslogEmit emit) {
  return std::make_shared<SyslogSink>(std::move(emit));
}

void append_probe_sink_line(std::string& out, const ProbeCtx& ctx, const Span& s, int64_t tid) {
  const ProcessInfo& p = process_info();
  std::string_view kind = s.kind.empty() ? text_of(std::get<0>(ctx)) : std::string_view(s.kind);
  append_span_json(
      out, SpanRecord{tid, p.host, p.proc_id, kind, std::get<1>(ctx), std::get<2>(ctx), s.pid, s.id, s.tag,
                      s.t1, s.t2, s.cross_thread, s.trace_id, s.span_id, s.parent_span_id});
}

}  // namespace pivot::internal

namespace pivot {

TraceSink syslog_sink() { return internal::TraceSinkAccess::make(internal::make_syslog_sink(nullptr)); }

Result<TraceSink> json_lines_sink(const std::string& path) {
  Result<int> fd = internal::open_file(path, O_APPEND);
  if (!fd) return fd.error();
  return internal::TraceSinkAccess::make(std::make_shared<internal::JsonLinesSink>(*fd));
}

Result<TraceSink> chrome_trace_sink(const std::string& path) {
  Result<int> fd = internal::open_file(path, O_TRUNC);
  if (!fd) return fd.error();
  return internal::TraceSinkAccess::make(std::make_shared<internal::ChromeTraceSink>(*fd));
}

TraceSink discard_sink() {
  return internal::TraceSinkAccess::make(std::make_shared<internal::DiscardSink>());
}

TraceSink callback_sink(SinkCb cb) {
  // RTBkit code restores its default with set_sinkCb(default_probe_sink):
  // give it the built-in syslog sink, which writes off the traced thread.
  using SinkFn = void (*)(const ProbeCtx&, const std::vector<Span>&);
  if (const SinkFn* fn = cb.target<SinkFn>(); fn != nullptr && *fn == &default_probe_sink)
    return syslog_sink();
  return internal::TraceSinkAccess::make(std::make_shared<internal::CallbackSink>(std::move(cb)));
}

void default_probe_sink(const ProbeCtx& ctx, const std::vector<Span>& spans) {
  thread_local const auto tid = static_cast<int64_t>(::syscall(SYS_gettid));
  std::string line;
  for (const Span& s : spans) {
    line.clear();
    internal::append_probe_sink_line(line, ctx, s, tid);
    ::syslog(LOG_LOCAL7 | LOG_INFO, "%s", line.c_str());
  }
}

}  // namespace pivot
