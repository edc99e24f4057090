// The service of docs/tutorial.md: a frontend that takes requests from users
// and a storage backend it calls through a (simulated) RPC layer, each on
// its own threads. The tutorial quotes the regions between [START x] and
// [END x]; tests/docs_test.cc checks the quotes match and runs the program.
//
//   tutorial_service            serve a request every 100 ms until stopped
//                               (SIGINT or SIGTERM)
//   tutorial_service REQUESTS   serve REQUESTS requests after "go" on stdin,
//                               then wait for "exit" (the test's mode)
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>

// [START include]
#include <pivot/pivot.h>
// [END include]

namespace {

// A message of our toy RPC layer: headers and a body.
struct Message {
  std::map<std::string, std::string> headers;
  std::string body;
};

// A one-thread server: handle() runs each call on the server thread.
class Server {
 public:
  explicit Server(std::function<std::string(const std::string&)> handler) : handler_(std::move(handler)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Server() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Message call(Message request);

 private:
  void loop();
  std::function<std::string(const std::string&)> handler_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<Message*, Message*>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

// [START client]
// Client side of every RPC: send the current baggage as pivot's member of the
// W3C `baggage` header (members others put there stay), and merge the
// baggage that comes back with the response.
Message Server::call(Message request) {
  pivot::baggage::inject(request.headers);
  Message response;
  {
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back({&request, &response});
    cv_.notify_all();
    cv_.wait(lock, [&] { return response.headers.count("done") > 0; });
  }
  pivot::baggage::join(pivot::baggage::extract(response.headers));
  return response;
}
// [END client]

// [START server]
// Server side: serve each request under the caller's baggage, and send the
// baggage back with the response.
void Server::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;
    auto [request, response] = queue_.front();
    queue_.pop_front();
    lock.unlock();
    {
      pivot::baggage::Scope scope{pivot::baggage::extract(request->headers)};
      response->body = handler_(request->body);
      pivot::baggage::inject(response->headers);
    }
    lock.lock();
    response->headers.emplace("done", "1");
    cv_.notify_all();
  }
}
// [END server]

// [START sites]
// The storage backend: one tracepoint where bytes are read.
std::string read_blob(const std::string& key) {
  std::string blob(100 + key.size() * 10, 'x');
  PIVOT_TRACEPOINT("Storage.read", key, PIVOT_EXPORT("bytes", blob.size()));
  return blob;
}

// The frontend: one tracepoint where a user's request starts.
void handle_request(Server& storage, const std::string& user, const std::string& key) {
  pivot::baggage::Scope request{pivot::Baggage{}};  // a new request: empty baggage
  PIVOT_TRACEPOINT("Frontend.request", user, key);
  storage.call({{}, key});
}
// [END sites]

volatile std::sig_atomic_t g_stop = 0;
void on_stop(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  // [START agent]
  if (pivot::Status s = pivot::Agent::start(); !s) {
    std::cerr << "pivot agent: " << s.error().message() << "\n";  // the service runs on without it
  }
  // [END agent]
  const char* users[] = {"alice", "bob", "carol"};
  Server storage(read_blob);
  if (argc < 2) {
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    std::cout << "serving a request every 100 ms; Ctrl-C to stop" << std::endl;
    for (int i = 0; !g_stop; ++i) {
      handle_request(storage, users[i % 3], std::string(1 + i % 4, 'k'));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }
  int requests = std::atoi(argv[1]);
  std::cout << "ready" << std::endl;
  std::string cmd;
  while (std::cin >> cmd && cmd != "exit") {
    if (cmd != "go") continue;
    for (int i = 0; i < requests; ++i) handle_request(storage, users[i % 3], std::string(1 + i % 4, 'k'));
    std::cout << "served " << requests << std::endl;
  }
  return 0;
}
