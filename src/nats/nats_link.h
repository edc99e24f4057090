// The NATS link: one connection to a NATS server (cnats, libnats-dev), used
// by the agent (agent_server.cc) and the frontend (frontend_link.cc) of the
// NATS component. Subjects and configuration: transport/nats_config.h.
//
// NatsLink queues everything that arrives — messages and connection events —
// for one consumer thread; cnats' own threads only append to the queue, so
// no callback ever waits on pivot's work. The queue is bounded: when full,
// new messages are dropped and counted (a report lost that way shows up as a
// gap in the report sequence at the frontend, which also reports its own
// drops).
#pragma once

#include <nats/nats.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/result.h"
#include "transport/nats_config.h"

namespace pivot::transport {

class NatsLink {
 public:
  struct Incoming {
    enum Kind { kMessage, kDisconnected, kReconnected };
    Kind kind = kMessage;
    std::string subject, reply, data;
  };

  // Connects. With retry_in_background, a server that is down or slow (not
  // one that refuses the credentials or certificate) is not an error: the
  // link keeps trying and queues a kReconnected event once it gets through.
  static Result<std::unique_ptr<NatsLink>> connect(const NatsConfig& config, const std::string& name,
                                                   bool retry_in_background, size_t max_queued);
  ~NatsLink();
  NatsLink(const NatsLink&) = delete;
  NatsLink& operator=(const NatsLink&) = delete;

  Status subscribe(const std::string& subject);
  // Does not wait for the server: cnats buffers (also while reconnecting).
  // Only a socket that stays full can hold it up, to cnats' write deadline;
  // agents publish from their own thread, never the application's.
  Status publish(const std::string& subject, std::string_view data, const std::string& reply = "");
  // Waits until the server has seen what was published, at most timeout_ms.
  Status flush(int64_t timeout_ms);
  // Waits at most timeout_ms for something to arrive; returns all of it.
  std::vector<Incoming> wait(int64_t timeout_ms);
  // Ends a wait() early (from another thread).
  void wake();
  // A fresh inbox subject for answers.
  std::string new_inbox() const;
  size_t max_payload() const;
  bool connected() const;
  // Messages dropped so far: the queue was full, or cnats' own limits.
  uint64_t dropped() const;

 private:
  NatsLink() = default;
  static void on_message(natsConnection*, natsSubscription*, natsMsg*, void*);
  static void on_disconnected(natsConnection*, void*);
  static void on_reconnected(natsConnection*, void*);
  static void on_closed(natsConnection*, void*);
  static void on_sub_complete(void*);
  static void on_error(natsConnection*, natsSubscription*, natsStatus, void*);

  // What cnats' threads touch. It outlives the link when cnats does not
  // confirm in time that every callback has returned (then it is leaked,
  // which is safe, rather than freed under a running callback).
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Incoming> queue;
    size_t max_queued = kAgentQueue;
    bool woken = false;
    bool closed = false;
    int live_subs = 0;
    uint64_t dropped = 0;
    void push(Incoming in);
  };

  natsConnection* conn_ = nullptr;
  std::vector<std::pair<std::string, natsSubscription*>> subs_;
  State* state_ = nullptr;
};

}  // namespace pivot::transport
