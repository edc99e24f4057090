#include "otlp/http_exporter.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "baggage/w3c_header.h"
#include "core/fork.h"
#include "tracepoint/thread_state.h"

namespace pivot::otlp {
namespace {

// Process-wide counters behind pivot::otlp_stats().
struct GlobalStats {
  std::atomic<uint64_t> requests_sent{0}, requests_failed{0}, requests_dropped{0};
  std::atomic<uint64_t> items_sent{0}, items_failed{0}, items_dropped{0}, retries{0};
};
GlobalStats& global_stats() {
  static auto* s = new GlobalStats;  // never destroyed: exporters count during exit
  return *s;
}

// Live exporters, flushed at exit.
struct Registry {
  std::mutex mu;
  std::set<HttpExporter*> live;
};
Registry& registry() {
  static auto* r = new Registry;
  return *r;
}

// Every live exporter; exit_flush_ms of each when timeout_ms < 0.
bool flush_all(int timeout_ms) {
  // The span writer's last batch first: it may still be on its way to a sink.
  flush_traces();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  std::lock_guard<std::mutex> lock(registry().mu);
  bool all = true;
  for (HttpExporter* e : registry().live) {
    int left =
        timeout_ms < 0
            ? -1
            : static_cast<int>(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                        deadline - std::chrono::steady_clock::now())
                                                        .count()));
    all = e->flush(left) && all;
  }
  return all;
}

void flush_at_exit() { (void)flush_all(-1); }

bool start_curl() {
  static const bool ok = [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return false;
    std::atexit(flush_at_exit);
    return true;
  }();
  return ok;
}

size_t discard_body(char*, size_t size, size_t n, void*) { return size * n; }

// Retry-After: delay-seconds (an HTTP-date is treated as absent).
size_t read_retry_after(char* data, size_t size, size_t n, void* user) {
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i)
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    if (match) {
      std::string_view v = line.substr(kName.size());
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      int64_t seconds = -1;
      std::from_chars(v.data(), v.data() + v.size(), seconds);
      *static_cast<int64_t*>(user) = seconds;
    }
  }
  return size * n;
}

bool retryable(long status) { return status == 429 || status == 502 || status == 503 || status == 504; }

}  // namespace

std::string endpoint_url(std::string_view base, std::string_view path) {
  if (base.empty()) base = "http://localhost:4318";
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  if (base.size() >= path.size() && base.substr(base.size() - path.size()) == path) return std::string(base);
  return std::string(base) + std::string(path);
}

namespace {

// "TRACES" or "METRICS" for a signal's path.
std::string_view signal_of(std::string_view path) { return path == kMetricsPath ? "METRICS" : "TRACES"; }

const char* env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

std::string default_endpoint(std::string_view path) {
  const std::string signal(signal_of(path));
  if (const char* e = env("OTEL_EXPORTER_OTLP_" + signal + "_ENDPOINT")) return e;
  const char* base = env("OTEL_EXPORTER_OTLP_ENDPOINT");
  return endpoint_url(base != nullptr ? base : "", path);
}

std::vector<std::string> parse_headers(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view member = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t eq = member.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = internal::trim_ows(member.substr(0, eq));
    bool ok = !key.empty();
    for (char c : key) ok = ok && c > ' ' && c < 127 && c != ':';
    // Values are percent-encoded, as in W3C baggage.
    std::string value;
    ok = ok && internal::percent_decode(internal::trim_ows(member.substr(eq + 1)), value, nullptr);
    // A header value must not end the header early.
    ok = ok && value.find_first_of("\r\n") == std::string::npos;
    if (ok) out.push_back(std::string(key) + ": " + value);
  }
  return out;
}

std::vector<std::string> env_headers(std::string_view path) {
  std::vector<std::string> out;
  if (const char* all = env("OTEL_EXPORTER_OTLP_HEADERS")) out = parse_headers(all);
  if (const char* mine = env("OTEL_EXPORTER_OTLP_" + std::string(signal_of(path)) + "_HEADERS")) {
    for (std::string& h : parse_headers(mine)) out.push_back(std::move(h));
  }
  return out;
}

struct HttpExporter::State {
  struct Request {
    std::string body;
    uint64_t items;
  };
  std::mutex mu;
  std::condition_variable cv;       // the worker waits for requests or stop
  std::condition_variable idle_cv;  // flush() waits for the queue to drain
  std::deque<Request> queue;
  size_t queued_bytes = 0;
  uint64_t enqueued = 0;  // requests ever queued
  uint64_t finished = 0;  // requests sent, failed or dropped
  bool stop = false;
  std::atomic<bool> abort{false};  // stop now: the request under way too
  OtlpStats stats;
  std::string last_error;
  std::thread thread;
};

HttpExporter::HttpExporter(ExporterOptions options)
    : options_(std::move(options)), owner_pid_(::getpid()), state_(std::make_unique<State>()) {}

Result<std::unique_ptr<HttpExporter>> HttpExporter::create(ExporterOptions options) {
  if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0)
    return Error("otlp: the endpoint must be an http:// or https:// URL, not '" + options.url + "'");
  if (!start_curl()) return Error("otlp: libcurl could not be initialised");
  std::unique_ptr<HttpExporter> e(new HttpExporter(std::move(options)));
  try {
    e->state_->thread = std::thread([p = e.get()] { p->run(); });
  } catch (const std::system_error& err) {
    return Error(std::string("otlp: cannot start the exporter thread: ") + err.what());
  }
  std::lock_guard<std::mutex> lock(registry().mu);
  registry().live.insert(e.get());
  return e;
}

// fork() holds the registry's lock, then each live exporter's, across
// (core/fork.h; flush_all takes them in that order), so that the child
// finds the queues whole and the locks free: the parent's exporter threads,
// which may have held them, are not in the child.
struct ExporterForkLocks {
  static void prepare() noexcept {
    registry().mu.lock();
    for (HttpExporter* e : registry().live) e->state_->mu.lock();
  }
  static void release() noexcept {
    for (HttpExporter* e : registry().live) e->state_->mu.unlock();
    registry().mu.unlock();
  }
};
namespace {
[[maybe_unused]] const bool g_fork_handler = internal::add_fork_handler(
    internal::ForkOrder::kOtlpExporters,
    {&ExporterForkLocks::prepare, &ExporterForkLocks::release, &ExporterForkLocks::release});
}  // namespace

HttpExporter::~HttpExporter() {
  {
    std::lock_guard<std::mutex> lock(registry().mu);
    registry().live.erase(this);
  }
  if (::getpid() != owner_pid_) {
    // A forked child: the thread is the parent's; leave its state be.
    (void)state_.release();
    return;
  }
  (void)flush(-1);
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
    state_->abort.store(true, std::memory_order_relaxed);
  }
  state_->cv.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

bool HttpExporter::send(std::string body, uint64_t items) noexcept {
  State& s = *state_;
  const size_t bytes = body.size();
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.stop && ::getpid() == owner_pid_ && s.queue.size() < options_.max_queue_requests &&
        s.queued_bytes + bytes <= options_.max_queue_bytes) {
      try {
        s.queue.push_back({std::move(body), items});
        queued = true;
      } catch (const std::bad_alloc&) {
      }
    }
    if (queued) {
      s.queued_bytes += bytes;
      ++s.enqueued;
    } else {
      count(Outcome::kDropped, items);
    }
  }
  if (queued) s.cv.notify_one();
  return queued;
}

bool HttpExporter::flush(int timeout_ms) {
  if (timeout_ms < 0) timeout_ms = options_.exit_flush_ms;
  if (::getpid() != owner_pid_) return false;
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  const uint64_t target = s.enqueued;
  return s.idle_cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                            [&] { return s.finished >= target; });
}

OtlpStats HttpExporter::stats() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->stats;
}

std::string HttpExporter::last_error() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->last_error;
}

// One libcurl handle, kept for the exporter's life so that connections are
// reused between requests.
class HttpExporter::Connection {
 public:
  Connection(const ExporterOptions& options, const std::atomic<bool>* abort) : abort_(abort) {
    curl_ = curl_easy_init();
    headers_ = curl_slist_append(nullptr, "Content-Type: application/x-protobuf");
    for (const std::string& h : options.headers) headers_ = curl_slist_append(headers_, h.c_str());
    if (curl_ == nullptr) return;
    curl_easy_setopt(curl_, CURLOPT_URL, options.url.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM in a host process
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout_ms));
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(options.timeout_ms, 5000)));
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "pivot-otlp");
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, read_retry_after);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &retry_after_s_);
    curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, this);
  }
  ~Connection() {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
    curl_slist_free_all(headers_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  struct Answer {
    CURLcode code = CURLE_FAILED_INIT;
    long status = 0;
    int64_t retry_after_s = -1;
  };
  Answer post(const std::string& body) {
    Answer a;
    if (curl_ == nullptr) return a;
    retry_after_s_ = -1;
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    a.code = curl_easy_perform(curl_);
    if (a.code == CURLE_OK) curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &a.status);
    a.retry_after_s = retry_after_s_;
    return a;
  }

 private:
  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<Connection*>(self)->abort_->load(std::memory_order_relaxed) ? 1 : 0;
  }

  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
  int64_t retry_after_s_ = -1;
  const std::atomic<bool>* abort_;
};

void HttpExporter::run() {
  internal::mark_tracer_thread();  // what libcurl calls is never traced
  State& s = *state_;
  Connection connection(options_, &s.abort);
  std::minstd_rand jitter(std::random_device{}());
  std::unique_lock<std::mutex> lock(s.mu);
  for (;;) {
    s.cv.wait(lock, [&] { return s.stop || !s.queue.empty(); });
    if (s.stop) break;
    State::Request r = std::move(s.queue.front());
    s.queue.pop_front();
    s.queued_bytes -= r.body.size();
    lock.unlock();
    Outcome outcome = deliver(connection, r.body, jitter);
    lock.lock();
    count(outcome, r.items);
    ++s.finished;
    s.idle_cv.notify_all();
  }
  // Stopped: what is left was not sent.
  for (const State::Request& r : s.queue) count(Outcome::kDropped, r.items);
  s.finished += s.queue.size();
  s.queue.clear();
  s.idle_cv.notify_all();
}

HttpExporter::Outcome HttpExporter::deliver(Connection& connection, const std::string& body,
                                            std::minstd_rand& jitter) {
  State& s = *state_;
  for (int attempt = 1;; ++attempt) {
    Connection::Answer a = connection.post(body);
    if (a.code == CURLE_OK && a.status >= 200 && a.status < 300) return Outcome::kSent;
    std::string why = a.code == CURLE_OK ? "HTTP " + std::to_string(a.status) : curl_easy_strerror(a.code);
    {
      std::lock_guard<std::mutex> lock(s.mu);
      s.last_error = options_.url + ": " + why;
    }
    if (a.code == CURLE_ABORTED_BY_CALLBACK) return Outcome::kDropped;
    // Any answer but the four retryable ones is final; a failure to reach
    // the receiver (refused, reset, timed out) may pass.
    if (a.code == CURLE_OK && !retryable(a.status)) return Outcome::kFailed;
    if (attempt >= options_.max_attempts) return Outcome::kFailed;
    int64_t delay_ms = std::min<int64_t>(int64_t{options_.initial_backoff_ms} << std::min(attempt - 1, 20),
                                         options_.max_backoff_ms);
    // Jitter in the upper half, so that processes that failed together do
    // not all retry together.
    delay_ms = delay_ms / 2 + static_cast<int64_t>(jitter() % static_cast<uint64_t>(delay_ms / 2 + 1));
    if (a.retry_after_s >= 0)
      delay_ms = std::min<int64_t>(std::min<int64_t>(a.retry_after_s, 86400) * 1000, options_.max_backoff_ms);
    std::unique_lock<std::mutex> lock(s.mu);
    ++s.stats.retries;
    global_stats().retries.fetch_add(1, std::memory_order_relaxed);
    if (s.cv.wait_for(lock, std::chrono::milliseconds(delay_ms), [&] { return s.stop; }))
      return Outcome::kDropped;
  }
}

// state_->mu held.
void HttpExporter::count(Outcome outcome, uint64_t items) {
  OtlpStats& st = state_->stats;
  GlobalStats& g = global_stats();
  switch (outcome) {
    case Outcome::kSent:
      ++st.requests_sent, st.items_sent += items;
      g.requests_sent.fetch_add(1, std::memory_order_relaxed);
      g.items_sent.fetch_add(items, std::memory_order_relaxed);
      break;
    case Outcome::kFailed:
      ++st.requests_failed, st.items_failed += items;
      g.requests_failed.fetch_add(1, std::memory_order_relaxed);
      g.items_failed.fetch_add(items, std::memory_order_relaxed);
      break;
    case Outcome::kDropped:
      ++st.requests_dropped, st.items_dropped += items;
      g.requests_dropped.fetch_add(1, std::memory_order_relaxed);
      g.items_dropped.fetch_add(items, std::memory_order_relaxed);
      break;
  }
}

}  // namespace pivot::otlp

namespace pivot {

bool otlp_flush(int timeout_ms) { return otlp::flush_all(std::max(timeout_ms, 0)); }

OtlpStats otlp_stats() noexcept {
  const otlp::GlobalStats& g = otlp::global_stats();
  OtlpStats s;
  s.requests_sent = g.requests_sent.load(std::memory_order_relaxed);
  s.requests_failed = g.requests_failed.load(std::memory_order_relaxed);
  s.requests_dropped = g.requests_dropped.load(std::memory_order_relaxed);
  s.items_sent = g.items_sent.load(std::memory_order_relaxed);
  s.items_failed = g.items_failed.load(std::memory_order_relaxed);
  s.items_dropped = g.items_dropped.load(std::memory_order_relaxed);
  s.retries = g.retries.load(std::memory_order_relaxed);
  return s;
}

}  // namespace pivot
