// The frontend's side of the NATS transport (subjects: transport/nats_config.h).
// Agents are found by a broadcast hello and followed by their announcements
// and heartbeats: one that stops beating is lost, one that comes back is
// back, and one that comes back without our query (its lease lapsed while
// the network was down) needs it installed again.
#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include "core/clock.h"
#include "frontend/link.h"
#include "nats/component.h"
#include "nats/nats_link.h"

namespace pivot::frontend {
namespace {

using transport::NatsLink;
using wire::Json;

constexpr int64_t kDiscoverQuietMs = 300;  // a hello's answers have stopped coming
constexpr int64_t kDiscoverMaxMs = 1500;
constexpr int64_t kMissedHeartbeats = 3;

using internal::steady_ms;

class NatsFrontLink final : public Link {
 public:
  NatsFrontLink(transport::NatsConfig config, std::unique_ptr<NatsLink> link)
      : config_(std::move(config)), subjects_(config_.fleet), link_(std::move(link)) {}
  ~NatsFrontLink() override { (void)link_->flush(1000); }  // the last uninstalls go out

  Status open() {
    inbox_ = link_->new_inbox();
    for (const std::string& s : {inbox_, subjects_.announce(), subjects_.heartbeat()}) {
      if (auto st = link_->subscribe(s); !st) return st;
    }
    return link_->flush(2000);  // subscribed before anything is asked
  }

  std::string where() const override { return "on " + config_.display + " (fleet " + config_.fleet + ")"; }

  std::vector<AgentInfo> discover(std::vector<std::string>* notes) override {
    std::map<std::string, AgentInfo> found;
    if (auto s = link_->publish(subjects_.cmd(), wire::encode(wire::message("hello")), inbox_); !s) {
      if (notes) notes->push_back(s.error().message());
      return {};
    }
    int64_t start = steady_ms(), last = start;
    while (steady_ms() < start + kDiscoverMaxMs && (found.empty() || steady_ms() < last + kDiscoverQuietMs)) {
      int64_t until =
          found.empty() ? start + kDiscoverMaxMs : std::min(start + kDiscoverMaxMs, last + kDiscoverQuietMs);
      for (auto& in : link_->wait(std::max<int64_t>(until - steady_ms(), 1))) {
        auto m = dispatch(in, /*keep_answers=*/false);
        if (!m) continue;
        if (in.subject != inbox_ || (*m)["type"] != "info") {
          pending_.push_back({LinkEvent::kMessage, str_field(*m, "agent"), in.data});
          continue;
        }
        auto info = parse_info(*m);
        if (!info) {
          if (notes) notes->push_back("agent " + str_field(*m, "agent") + ": " + info.error().message());
          continue;
        }
        last = steady_ms();
        found[info->key] = std::move(*info);
      }
    }
    std::vector<AgentInfo> out;
    for (auto& [k, a] : found) out.push_back(std::move(a));
    std::sort(out.begin(), out.end(), [](const AgentInfo& a, const AgentInfo& b) {
      return std::tie(a.host, a.pid, a.key) < std::tie(b.host, b.pid, b.key);
    });
    return out;
  }

  Status begin(const std::string& id) override {
    query_ = id;
    auto s = link_->subscribe(subjects_.results(id));
    if (!s) return s;
    return link_->flush(2000);
  }

  std::vector<Installed> install(const std::vector<AgentInfo>& agents, const Json& message, bool everyone,
                                 int64_t timeout_ms) override {
    const std::string id = str_field(message, "id");
    // Progress comes in the agents' heartbeats (installing_), not as
    // answers: a locked-down fleet lets an agent answer a request once.
    std::string payload = wire::encode(message);
    installing_ = id;
    std::map<std::string, Installed> answers;
    std::set<std::string> asked;
    for (const AgentInfo& a : agents) asked.insert(a.key);
    if (everyone) {
      // One message for the whole fleet, however large: each agent answers.
      if (auto s = link_->publish(subjects_.cmd(), payload, inbox_); !s) return fail_all(agents, s.error());
    } else {
      for (const AgentInfo& a : agents) {
        if (auto s = link_->publish(subjects_.agent_cmd(a.key), payload, inbox_); !s)
          return fail_all(agents, s.error());
      }
    }
    // Per agent asked: until when it is waited for (Link::install).
    std::map<std::string, int64_t> deadline;
    const int64_t start = steady_ms(), give_up = start + kInstallPatience * timeout_ms;
    for (const std::string& k : asked) deadline[k] = start + timeout_ms;
    auto last_deadline = [&] {
      int64_t last = 0;
      for (const auto& [k, d] : deadline) {
        if (!answers.count(k)) last = std::max(last, d);
      }
      return last;
    };
    for (int64_t until = last_deadline(); steady_ms() < until; until = last_deadline()) {
      for (auto& in : link_->wait(std::max<int64_t>(until - steady_ms(), 1))) {
        auto m = dispatch(in, /*keep_answers=*/false);
        if (!progressed_.empty()) {
          for (const std::string& key : std::exchange(progressed_, {})) {
            if (auto d = deadline.find(key); d != deadline.end())
              d->second = std::min(steady_ms() + timeout_ms, give_up);
          }
          renew_installed(answers, id);
        }
        if (!m) continue;
        const std::string type = (*m)["type"];
        std::string key = str_field(*m, "agent");
        if (in.subject != inbox_ || (type != "installed" && type != "error") || str_field(*m, "id") != id) {
          pending_.push_back({LinkEvent::kMessage, key, in.data});
          continue;
        }
        AgentInfo info = identity(*m);
        for (const AgentInfo& a : agents) {
          if (a.key == key) info.catalog = a.catalog;
        }
        answers.insert_or_assign(key, Installed{std::move(info), std::move(*m)});
      }
    }
    installing_.clear();
    std::vector<Installed> out;
    for (const AgentInfo& a : agents) {
      if (!answers.count(a.key)) {
        out.push_back({a, Error(install_timeout_error(timeout_ms, deadline[a.key] == give_up)), true});
      }
    }
    for (auto& [k, v] : answers) out.push_back(std::move(v));
    return out;
  }

  // While one agent's install is waited for past the lease of another's.
  void renew_installed(const std::map<std::string, Installed>& answers, const std::string& id) {
    bool any = std::any_of(answers.begin(), answers.end(), [](const auto& a) {
      return a.second.answer && (*a.second.answer)["type"] == "installed";
    });
    if (!any) return;
    Json renew = wire::message("renew");
    renew["ids"] = Json::array({id});
    send_all({}, renew);
  }

  std::vector<Answer> ask(const std::vector<AgentInfo>& agents, const Json& message,
                          int64_t timeout_ms) override {
    const Json req = message.contains("req") ? message["req"] : Json();
    std::map<std::string, Answer> answers;
    std::set<std::string> asked;
    for (const AgentInfo& a : agents) asked.insert(a.key);
    // One message for the whole fleet: each agent answers on our inbox.
    if (auto s = link_->publish(subjects_.cmd(), wire::encode(message), inbox_); !s) {
      std::vector<Answer> out;
      for (const AgentInfo& a : agents) out.push_back({a, s.error()});
      return out;
    }
    int64_t deadline = steady_ms() + timeout_ms;
    auto all_answered = [&] {
      return std::all_of(asked.begin(), asked.end(),
                         [&](const std::string& k) { return answers.count(k) > 0; });
    };
    while (!all_answered() && steady_ms() < deadline) {
      for (auto& in : link_->wait(std::max<int64_t>(std::min<int64_t>(deadline - steady_ms(), 250), 1))) {
        auto m = dispatch(in, /*keep_answers=*/false);
        if (!m) continue;
        if (in.subject != inbox_ || !m->contains("req") || (*m)["req"] != req) {
          pending_.push_back({LinkEvent::kMessage, str_field(*m, "agent"), in.data});
          continue;
        }
        std::string key = str_field(*m, "agent");
        AgentInfo info = identity(*m);
        for (const AgentInfo& a : agents) {
          if (a.key == key) info = a;
        }
        answers.insert_or_assign(key, Answer{std::move(info), std::move(*m)});
      }
    }
    std::vector<Answer> out;
    for (const AgentInfo& a : agents) {
      if (!answers.count(a.key)) {
        out.push_back({a, Error("no answer within " + std::to_string(timeout_ms / 1000) + " s")});
      }
    }
    for (auto& [k, v] : answers) out.push_back(std::move(v));
    return out;
  }

  void send(const std::string& key, const Json& message) override {
    (void)link_->publish(subjects_.agent_cmd(key), wire::encode(message), inbox_);
  }

  void send_all(const std::vector<std::string>&, const Json& message) override {
    (void)link_->publish(subjects_.cmd(), wire::encode(message));
  }

  bool next(int64_t deadline_ms, LinkEvent* out) override {
    for (;;) {
      check_heartbeats();
      if (uint64_t d = link_->dropped(); d > dropped_) {
        pending_.push_back(
            {LinkEvent::kNotice, "",
             std::to_string(d - dropped_) +
                 " message(s) from agents dropped: this frontend could not keep up; the results "
                 "have a gap"});
        dropped_ = d;
      }
      if (!pending_.empty()) {
        *out = std::move(pending_.front());
        pending_.pop_front();
        return true;
      }
      int64_t wait = deadline_ms - steady_ms();
      if (wait <= 0) return false;
      for (auto& in : link_->wait(std::min<int64_t>(wait, 250))) (void)dispatch(in);
    }
  }

  std::vector<AgentInfo> new_agents(const std::set<std::string>& known) override {
    std::vector<AgentInfo> out;
    for (const auto& [key, s] : seen_) {
      if (!known.count(key) && !s.lost) out.push_back(s.info);
    }
    return out;
  }

 private:
  struct Seen {
    AgentInfo info;
    int64_t last_seen = 0;
    int64_t heartbeat_ms = 1000;
    bool lost = false;
    bool gone = false;  // said bye: late messages do not bring it back
    int64_t reinstall_asked = 0;
    int beats_without_query = 0;
  };

  static AgentInfo identity(const Json& m) {
    AgentInfo a;
    a.key = str_field(m, "agent");
    a.pid = static_cast<pid_t>(int_field(m, "pid"));
    a.proc_name = str_field(m, "procName");
    a.host = str_field(m, "host");
    return a;
  }

  std::vector<Installed> fail_all(const std::vector<AgentInfo>& agents, const Error& e) {
    std::vector<Installed> out;
    for (const AgentInfo& a : agents) out.push_back({a, e});
    return out;
  }

  // Bookkeeping for everything that arrives. Returns the message when it is
  // one for the caller (an answer or a report); heartbeats and
  // announcements are consumed here. With keep_answers, the message is also
  // queued as an event for next().
  std::optional<Json> dispatch(const NatsLink::Incoming& in, bool keep_answers = true) {
    if (in.kind == NatsLink::Incoming::kDisconnected) {
      if (disconnected_at_ == 0) disconnected_at_ = steady_ms();
      pending_.push_back({LinkEvent::kNotice, "",
                          "lost the connection to NATS at " + config_.display +
                              "; reconnecting (reports sent meanwhile may be missing from the results)"});
      return std::nullopt;
    }
    if (in.kind == NatsLink::Incoming::kReconnected) {
      int64_t gap = disconnected_at_ ? steady_ms() - disconnected_at_ : 0;
      disconnected_at_ = 0;
      for (auto& [k, s] : seen_) s.last_seen = steady_ms();  // give every agent time to beat again
      pending_.push_back(
          {LinkEvent::kNotice, "",
           "reconnected to NATS after " + std::to_string(gap) +
               " ms; the results may have a gap: reports that were lost are listed per agent"});
      return std::nullopt;
    }
    auto m = wire::parse_message(in.data);
    if (!m) {
      pending_.push_back(
          {LinkEvent::kNotice, "", "bad message on " + in.subject + ": " + m.error().message()});
      return std::nullopt;
    }
    std::string key = str_field(*m, "agent");
    if (key.empty()) {
      // Another frontend's command, or a message that names no agent.
      return std::nullopt;
    }
    Seen& s = seen_[key];
    bool is_new = s.last_seen == 0;
    s.last_seen = steady_ms();
    AgentInfo id = identity(*m);
    s.info.key = key;
    s.info.pid = id.pid;
    s.info.proc_name = id.proc_name;
    s.info.host = id.host;
    if (m->contains("heartbeat_ms") && int_field(*m, "heartbeat_ms") > 0)
      s.heartbeat_ms = int_field(*m, "heartbeat_ms");
    if (s.lost && !s.gone) {
      s.lost = false;
      pending_.push_back({LinkEvent::kBack, key, ""});
    }
    if ((*m)["type"] == "bye") {
      if (!s.lost) pending_.push_back({LinkEvent::kLost, key, "the process stopped its agent"});
      s.lost = s.gone = true;
      return std::nullopt;
    }
    if (in.subject == subjects_.announce() || in.subject == subjects_.heartbeat()) {
      if (const auto it = m->find("installing");
          !installing_.empty() && it != m->end() && it->is_array() &&
          std::find(it->begin(), it->end(), Json(installing_)) != it->end())
        progressed_.push_back(key);
      const Json* queries = m->contains("queries") && (*m)["queries"].is_array() ? &(*m)["queries"] : nullptr;
      if (queries) s.info.queries = queries->size();
      bool has_query = queries && std::find(queries->begin(), queries->end(), Json(query_)) != queries->end();
      // Two heartbeats in a row without it: one alone may have been sent
      // just before the install arrived.
      s.beats_without_query = has_query || !queries ? 0 : s.beats_without_query + 1;
      if (!is_new && !query_.empty() && installed_.count(key) && s.beats_without_query >= 2 &&
          steady_ms() - s.reinstall_asked > 2 * s.heartbeat_ms) {
        s.reinstall_asked = steady_ms();
        pending_.push_back({LinkEvent::kNeedsInstall, key, ""});
      }
      return std::nullopt;
    }
    if ((*m)["type"] == "installed") installed_.insert(key);
    if (keep_answers) pending_.push_back({LinkEvent::kMessage, key, in.data});
    return std::move(*m);
  }

  void check_heartbeats() {
    if (disconnected_at_ != 0) return;  // we are the ones cut off: judge nobody
    int64_t t = steady_ms();
    for (auto& [key, s] : seen_) {
      if (!s.lost && t - s.last_seen > kMissedHeartbeats * s.heartbeat_ms + s.heartbeat_ms / 2) {
        s.lost = true;
        pending_.push_back(
            {LinkEvent::kLost, key, "no heartbeat for " + std::to_string(t - s.last_seen) + " ms"});
      }
    }
  }

  transport::NatsConfig config_;
  transport::Subjects subjects_;
  std::unique_ptr<NatsLink> link_;
  std::string inbox_;
  std::string query_;
  std::string installing_;               // the query install() waits for, while it does
  std::vector<std::string> progressed_;  // agents whose heartbeat said they progress on it
  std::map<std::string, Seen> seen_;
  std::set<std::string> installed_;
  std::deque<LinkEvent> pending_;
  int64_t disconnected_at_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace

Result<std::unique_ptr<Link>> make_nats_link(const std::string& url) {
  auto config = transport::nats_config(url);
  if (!config) return config.error();
  auto link = NatsLink::connect(*config, "pivot frontend", false, transport::kFrontendQueue);
  if (!link) return link.error();
  auto front = std::make_unique<NatsFrontLink>(std::move(*config), std::move(*link));
  if (auto s = front->open(); !s) return s.error();
  return std::unique_ptr<Link>(std::move(front));
}

}  // namespace pivot::frontend
