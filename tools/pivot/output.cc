#include "output.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

#include "pivot/internal/json.h"
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
    internal::append_json_string(out, s.events[i]);
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

namespace {

// The table with a leading `time` column holding time_ms.
ResultTable with_time(const ResultTable& t, int64_t time_ms) {
  ResultTable out;
  out.columns.push_back("time");
  out.columns.insert(out.columns.end(), t.columns.begin(), t.columns.end());
  for (const auto& row : t.rows) {
    out.rows.push_back({Value(time_ms)});
    out.rows.back().insert(out.rows.back().end(), row.begin(), row.end());
  }
  return out;
}

}  // namespace

std::string live_view(const frontend::Snapshot& s, const std::vector<frontend::Column>& columns,
                      int64_t interval_ms, const std::deque<std::string>& warnings) {
  frontend::Snapshot view = s;
  if (!s.final && columns.size() == s.total.columns.size() && interval_ms > 0) {
    // The interval's row of each group, by its keys.
    auto key_of = [&](const std::vector<Value>& row) {
      std::vector<Value> key;
      for (size_t i = 0; i < columns.size() && i < row.size(); ++i) {
        if (columns[i].role == frontend::Column::kGroup) key.push_back(row[i]);
      }
      return key;
    };
    std::map<std::vector<Value>, const std::vector<Value>*> interval;
    const ResultTable& rates_from = s.interval_all.columns.empty() ? s.interval : s.interval_all;
    for (const auto& row : rates_from.rows) interval[key_of(row)] = &row;
    const double seconds = static_cast<double>(interval_ms) / 1000;
    ResultTable& t = view.total;
    t.columns.clear();
    t.distribution_columns.clear();  // renumbered below, as rate columns go in
    t.units.clear();                 // likewise; a rate has none
    for (auto& row : t.rows) row.clear();
    for (size_t i = 0; i < columns.size(); ++i) {
      const frontend::Column& c = columns[i];
      const auto& dist = s.total.distribution_columns;
      if (std::find(dist.begin(), dist.end(), i) != dist.end())
        t.distribution_columns.push_back(static_cast<uint32_t>(t.columns.size()));
      t.columns.push_back(s.total.columns[i]);
      t.units.push_back(i < s.total.units.size() ? s.total.units[i] : Unit::kNone);
      for (size_t r = 0; r < t.rows.size(); ++r) t.rows[r].push_back(s.total.rows[r][i]);
      bool rate = c.role == frontend::Column::kAggregate &&
                  (c.fn == aggregate::AggFn::kCount || c.fn == aggregate::AggFn::kSum);
      if (!rate) continue;
      t.columns.push_back(s.total.columns[i] + "/s");
      t.units.push_back(Unit::kNone);
      for (size_t r = 0; r < t.rows.size(); ++r) {
        auto it = interval.find(key_of(s.total.rows[r]));
        double per_s = 0;
        if (it != interval.end() && i < it->second->size()) {
          per_s = (*it->second)[i].to_double() / seconds;
        }
        t.rows[r].push_back(Value(std::round(per_s * 10) / 10));
      }
    }
  }
  std::string out = table_view(view, "query", s.final);
  if (!warnings.empty()) {
    out += "\n";
    for (const auto& w : warnings) out += "pivot: " + w + "\n";
  }
  return out;
}

std::string csv_header(const ResultTable& t) { return with_time(ResultTable{t.columns, {}}, 0).to_csv(); }

std::string csv_rows(const frontend::Snapshot& s) {
  std::string csv = with_time(s.interval, s.time_ms).to_csv();
  return csv.substr(csv.find("\r\n") + 2);  // the header is csv_header's
}

using wire::Json;

Json functions_json(const std::vector<frontend::Link::Answer>& answers) {
  Json programs = Json::array();
  Json errors = Json::array();
  for (const frontend::Link::Answer& a : answers) {
    std::string who = "agent " + std::to_string(a.info.pid) + " (" + a.info.proc_name + ")";
    if (!a.answer) {
      errors.push_back(who + ": " + a.answer.error().message());
      continue;
    }
    const Json& m = *a.answer;
    if (m.value("type", "") != "functions") {
      errors.push_back(who + ": " +
                       (m.contains("message") && m["message"].is_string()
                            ? m["message"].get<std::string>()
                            : std::string("unexpected answer")));
      continue;
    }
    Json process = {{"pid", a.info.pid}, {"procName", a.info.proc_name}, {"host", a.info.host}};
    Json functions = m.contains("functions") ? m["functions"] : Json::array();
    std::string program = m.value("program", "");
    bool grouped = false;
    for (Json& p : programs) {
      if (p["program"] == program && p["functions"] == functions) {
        p["processes"].push_back(process);
        grouped = true;
        break;
      }
    }
    if (grouped) continue;
    Json entry = {{"program", program},
                  {"processes", Json::array({process})},
                  {"functions", functions},
                  {"more", m.value("more", 0)}};
    if (m.contains("note")) entry["note"] = m["note"];
    programs.push_back(std::move(entry));
  }
  return {{"programs", programs}, {"errors", errors}};
}

namespace {

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void function_text(const Json& f, const std::string& indent, std::string& out) {
  out += indent + str(f, "signature") + "\n";
  std::string in = indent + "    ";
  if (str(f, "ifunc").size()) out += in + "IFUNC, calls " + str(f, "ifunc") + "\n";
  out += in + "arguments: " + str(f, "how") + "\n";
  if (f.contains("params") && f["params"].is_array()) {
    for (const Json& p : f["params"]) {
      std::string name = str(p, "name");
      std::string line = in + (name.empty() ? "?" : name) + ": " + str(p, "type");
      line += (p.value("readable", false) ? " (" : " (cannot be read: ") + str(p, "where") + ")";
      out += line + "\n";
    }
  }
  out += in + "ret: " + str(f, "returns") + "\n";
  out += in + (f.value("hookable", false) ? std::string("hookable") : "not hookable: " + str(f, "why_not")) +
         "\n";
  if (f.contains("clones") && f["clones"].is_array()) {
    for (const Json& c : f["clones"]) {
      out += in + "clone, hooked with it:\n";
      function_text(c, in + "  ", out);
    }
  }
}

}  // namespace

std::string functions_text(const Json& grouped) {
  std::string out;
  for (const Json& p : grouped["programs"]) {
    std::string procs;
    for (const Json& proc : p["processes"]) {
      procs += (procs.empty() ? "" : ", ") + std::to_string(proc.value("pid", 0)) + " (" +
               str(proc, "procName") + (str(proc, "host").empty() ? "" : "@" + str(proc, "host")) + ")";
    }
    out += str(p, "program") + " — " + procs + "\n";
    for (const Json& f : p["functions"]) function_text(f, "  ", out);
    if (p.value("more", 0) > 0) {
      out += "  ... and " + std::to_string(p.value("more", 0)) + " more (--limit, or a narrower pattern)\n";
    }
    if (p["functions"].empty() && !str(p, "note").empty()) out += "  " + str(p, "note") + "\n";
  }
  return out;
}

}  // namespace pivot::cli
