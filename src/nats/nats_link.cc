#include "nats/nats_link.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace pivot::transport {
namespace {

Error nats_error(const std::string& what, natsStatus s) {
  natsStatus ignored;
  const char* last = nats_GetLastError(&ignored);
  std::string text = natsStatus_GetText(s);
  if (last != nullptr && *last != '\0' && text.find(last) == std::string::npos)
    text += " (" + std::string(last) + ")";
  return Error(what + ": " + text);
}

}  // namespace

// ---- NatsLink ----

void NatsLink::State::push(Incoming in) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (in.kind == Incoming::kMessage && queue.size() >= max_queued) {
      ++dropped;
      return;
    }
    queue.push_back(std::move(in));
  }
  cv.notify_one();
}

void NatsLink::on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  Incoming in;
  in.subject = natsMsg_GetSubject(msg);
  if (const char* r = natsMsg_GetReply(msg)) in.reply = r;
  in.data.assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  natsMsg_Destroy(msg);
  static_cast<State*>(closure)->push(std::move(in));
}

void NatsLink::on_disconnected(natsConnection*, void* closure) {
  static_cast<State*>(closure)->push({Incoming::kDisconnected, "", "", ""});
}

void NatsLink::on_reconnected(natsConnection*, void* closure) {
  static_cast<State*>(closure)->push({Incoming::kReconnected, "", "", ""});
}

void NatsLink::on_closed(natsConnection*, void* closure) {
  auto* s = static_cast<State*>(closure);
  std::lock_guard<std::mutex> lock(s->mu);
  s->closed = true;
  s->cv.notify_all();
}

void NatsLink::on_sub_complete(void* closure) {
  auto* s = static_cast<State*>(closure);
  std::lock_guard<std::mutex> lock(s->mu);
  --s->live_subs;
  s->cv.notify_all();
}

void NatsLink::on_error(natsConnection*, natsSubscription*, natsStatus, void* closure) {
  // Slow consumer and friends: cnats dropped a message. Count it; the
  // frontend sees the gap in the report sequence.
  auto* s = static_cast<State*>(closure);
  std::lock_guard<std::mutex> lock(s->mu);
  ++s->dropped;
}

Result<std::unique_ptr<NatsLink>> NatsLink::connect(const NatsConfig& config, const std::string& name,
                                                    bool retry_in_background, size_t max_queued) {
  std::unique_ptr<NatsLink> link(new NatsLink());
  link->state_ = new State();
  link->state_->max_queued = max_queued;
  State* st = link->state_;
  natsOptions* opts = nullptr;
  if (natsOptions_Create(&opts) != NATS_OK) return Error("cannot initialize the NATS client");
  std::vector<const char*> servers;
  for (const auto& s : config.servers) servers.push_back(s.c_str());
  natsStatus s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK) s = natsOptions_SetName(opts, name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);  // forever: a fleet outlives server restarts
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 200);
  if (s == NATS_OK) s = natsOptions_SetReconnectJitter(opts, 100, 500);
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(opts, 8 << 20);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, 5000);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 2);
  if (s == NATS_OK) s = natsOptions_SetMaxPendingMsgs(opts, 65536);
  // Requests here are scatter-gather (many or no answers), never "exactly
  // one responder": no empty 503 messages in the inbox.
  if (s == NATS_OK) s = natsOptions_DisableNoResponders(opts, true);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, on_disconnected, st);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, on_reconnected, st);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, on_closed, st);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts, on_error, st);
  if (s == NATS_OK && !config.user.empty())
    s = natsOptions_SetUserInfo(opts, config.user.c_str(), config.password.c_str());
  if (s == NATS_OK && !config.token.empty()) s = natsOptions_SetToken(opts, config.token.c_str());
  if (s == NATS_OK && !config.creds_file.empty())
    s = natsOptions_SetUserCredentialsFromFiles(opts, config.creds_file.c_str(), nullptr);
  if (s == NATS_OK && config.tls) s = natsOptions_SetSecure(opts, true);
  if (s == NATS_OK && !config.ca_file.empty())
    s = natsOptions_LoadCATrustedCertificates(opts, config.ca_file.c_str());
  if (s == NATS_OK && !config.cert_file.empty())
    s = natsOptions_LoadCertificatesChain(opts, config.cert_file.c_str(), config.key_file.c_str());
  if (s != NATS_OK) {
    Error e = nats_error("NATS options for " + config.display, s);
    natsOptions_Destroy(opts);
    return e;
  }
  s = natsConnection_Connect(&link->conn_, opts);
  // Refused credentials or certificates are the caller's mistake, worth an
  // error now; anything else (no server, a server too slow to answer within
  // the timeout) may pass.
  bool refused = s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED || s == NATS_SSL_ERROR ||
                 s == NATS_INVALID_ARG;
  if (s != NATS_OK && !refused && retry_in_background) {
    // The host process must not fail (or wait) because the server is down:
    // keep trying in the background; the link reports kReconnected.
    link->conn_ = nullptr;
    if (natsOptions_SetRetryOnFailedConnect(opts, true, on_reconnected, st) == NATS_OK) {
      s = natsConnection_Connect(&link->conn_, opts);
      if (s == NATS_NOT_YET_CONNECTED) s = NATS_OK;
    }
  }
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    Error e = nats_error("cannot connect to NATS at " + config.display, s);
    if (link->conn_ == nullptr) {
      delete link->state_;
      link->state_ = nullptr;
    }
    return e;
  }
  return link;
}

NatsLink::~NatsLink() {
  if (conn_ == nullptr) {
    delete state_;
    return;
  }
  for (auto& [subject, sub] : subs_) natsSubscription_Unsubscribe(sub);
  natsConnection_Close(conn_);
  bool done;
  {
    std::unique_lock<std::mutex> lock(state_->mu);
    done = state_->cv.wait_for(lock, std::chrono::seconds(3),
                               [&] { return state_->closed && state_->live_subs == 0; });
  }
  for (auto& [subject, sub] : subs_) natsSubscription_Destroy(sub);
  natsConnection_Destroy(conn_);
  if (done) delete state_;  // else a callback may still run: leave it its state
}

Status NatsLink::subscribe(const std::string& subject) {
  natsSubscription* sub = nullptr;
  natsStatus s = natsConnection_Subscribe(&sub, conn_, subject.c_str(), on_message, state_);
  if (s != NATS_OK) return nats_error("cannot subscribe to " + subject, s);
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    ++state_->live_subs;
  }
  if (natsSubscription_SetOnCompleteCB(sub, on_sub_complete, state_) != NATS_OK) {
    std::lock_guard<std::mutex> lock(state_->mu);
    --state_->live_subs;
  }
  // Generous limits: the consumer thread drains quickly, and a burst of
  // reports from a large fleet must not be dropped by cnats.
  (void)natsSubscription_SetPendingLimits(sub, 65536, 256 << 20);
  subs_.emplace_back(subject, sub);
  return Status();
}

Status NatsLink::publish(const std::string& subject, std::string_view data, const std::string& reply) {
  natsStatus s = reply.empty() ? natsConnection_Publish(conn_, subject.c_str(), data.data(),
                                                        static_cast<int>(data.size()))
                               : natsConnection_PublishRequest(conn_, subject.c_str(), reply.c_str(),
                                                               data.data(), static_cast<int>(data.size()));
  if (s != NATS_OK) return nats_error("cannot publish on " + subject, s);
  return Status();
}

Status NatsLink::flush(int64_t timeout_ms) {
  natsStatus s = natsConnection_FlushTimeout(conn_, timeout_ms);
  if (s != NATS_OK) return nats_error("NATS flush", s);
  return Status();
}

std::vector<NatsLink::Incoming> NatsLink::wait(int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(state_->mu);
  if (timeout_ms > 0) {
    state_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [&] { return !state_->queue.empty() || state_->woken; });
  }
  state_->woken = false;
  std::vector<Incoming> out(std::make_move_iterator(state_->queue.begin()),
                            std::make_move_iterator(state_->queue.end()));
  state_->queue.clear();
  return out;
}

void NatsLink::wake() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->woken = true;
  }
  state_->cv.notify_all();
}

std::string NatsLink::new_inbox() const {
  natsInbox* inbox = nullptr;
  if (natsInbox_Create(&inbox) != NATS_OK) return "_INBOX.pivot";
  std::string out = inbox;
  natsInbox_Destroy(inbox);
  return out;
}

size_t NatsLink::max_payload() const {
  int64_t n = natsConnection_GetMaxPayload(conn_);
  return n > 0 ? static_cast<size_t>(n) : size_t{1} << 20;
}

bool NatsLink::connected() const { return natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED; }

uint64_t NatsLink::dropped() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->dropped;
}

}  // namespace pivot::transport
