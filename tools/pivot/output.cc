#include "output.h"

#include <ctime>

#include "pivot/value.h"

namespace pivot::cli {

std::string json_line(const frontend::Snapshot& s) {
  // "incomplete" and "dropped" are on every line (for the total so far), so
  // a consumer need not look inside the tables to know the answer is partial.
  std::string out = "{\"time\":" + std::to_string(s.time_ms) + ",\"agents\":" + std::to_string(s.agents) +
                    ",\"incomplete\":" + (s.total.incomplete ? "true" : "false") +
                    ",\"dropped\":" + std::to_string(s.total.dropped) +
                    ",\"interval\":" + s.interval.to_json() + ",\"total\":" + s.total.to_json() +
                    ",\"lost\":" + std::to_string(s.lost_reports) + ",\"events\":[";
  for (size_t i = 0; i < s.events.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, s.events[i]);
  }
  out += "],\"final\":";
  out += s.final ? "true}" : "false}";
  return out;
}

std::string table_view(const frontend::Snapshot& s, const std::string& query_label, bool final) {
  std::time_t t = static_cast<std::time_t>(s.time_ms / 1000);
  char when[32];
  std::strftime(when, sizeof when, "%H:%M:%S", std::localtime(&t));
  std::string out = std::string(final ? "final" : "live") + " " + query_label + " at " + when + " from " +
                    std::to_string(s.agents) + (s.agents == 1 ? " agent" : " agents") + "\n";
  out += s.total.to_text();
  return out;
}

}  // namespace pivot::cli
