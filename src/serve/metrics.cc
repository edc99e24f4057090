#include "serve/metrics.h"

#include <charconv>
#include <cmath>
#include <set>

namespace pivot::serve {

namespace {

struct Sample {
  std::string labels;  // `a="x",b="y"`, or empty
  std::string value;
};

struct Family {
  std::string name;  // without the counter's "_total"
  bool counter = false;
  std::string help;
  std::vector<Sample> samples;
};

std::string number(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

std::string number(int64_t i) { return std::to_string(i); }

// A Value as a sample's value; false for what is not a number (a MIN of
// strings, a null), which has no sample.
bool sample_value(const Value& v, std::string* out) {
  if (v.is_int())
    *out = number(v.as_int());
  else if (v.is_double())
    *out = number(v.as_double());
  else
    return false;
  return true;
}

// The length of the well-formed UTF-8 sequence `s` starts with (2 to 4
// bytes; no overlong forms, surrogates or code points past U+10FFFF), or 0.
size_t utf8_length(std::string_view s) {
  auto byte = [&](size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
  unsigned b0 = byte(0);
  size_t n = b0 >= 0xF0 && b0 <= 0xF4 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 && b0 <= 0xDF ? 2 : 0;
  if (n == 0 || b0 > 0xF4) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
  }
  unsigned b1 = byte(1);
  if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F) || (b0 == 0xF0 && b1 < 0x90) ||
      (b0 == 0xF4 && b1 > 0x8F)) {
    return 0;
  }
  return n;
}

std::string label(std::string_view name, std::string_view value) {
  return std::string(name) + "=\"" + escape_label_value(value) + "\"";
}

// The label names of a query's GroupBy columns, valid and distinct from
// each other and from the labels every sample has.
std::vector<std::string> group_label_names(const std::vector<frontend::Column>& columns) {
  std::set<std::string> taken = {"query", "column"};
  std::vector<std::string> out;
  for (const frontend::Column& c : columns) {
    if (c.role != frontend::Column::kGroup) {
      out.emplace_back();
      continue;
    }
    std::string name = sanitize_label_name(c.name);
    if (taken.count(name) || name.rfind("__", 0) == 0) name = "group_" + name;
    std::string unique = name;
    for (int n = 2; taken.count(unique); ++n) unique = name + "_" + std::to_string(n);
    taken.insert(unique);
    out.push_back(unique);
  }
  return out;
}

// The family of an aggregate's samples in query_families' by_fn, or -1
// for none (HIST and LHIST: a histogram is not a sample).
int family_of(aggregate::AggFn fn) {
  switch (fn) {
    case aggregate::AggFn::kCount: return 0;
    case aggregate::AggFn::kSum: return 1;
    case aggregate::AggFn::kMin: return 2;
    case aggregate::AggFn::kMax: return 3;
    case aggregate::AggFn::kAvg: return 4;
    case aggregate::AggFn::kQuantile: return 5;
    case aggregate::AggFn::kCountDistinct: return 6;
    case aggregate::AggFn::kHist:
    case aggregate::AggFn::kLhist: break;
  }
  return -1;
}

void add_query_samples(const QueryMetrics& q, std::vector<Family>& by_fn, std::set<std::string>& seen) {
  if (q.columns.size() != q.total.columns.size()) return;  // not compiled yet
  std::vector<std::string> names = group_label_names(q.columns);
  for (const auto& row : q.total.rows) {
    std::string groups;
    for (size_t i = 0; i < q.columns.size() && i < row.size(); ++i) {
      // A null key is an empty label, which Prometheus takes as no label.
      if (q.columns[i].role == frontend::Column::kGroup) {
        groups += "," + label(names[i], row[i].is_null() ? "" : row[i].to_string());
      }
    }
    for (size_t i = 0; i < q.columns.size() && i < row.size(); ++i) {
      if (q.columns[i].role != frontend::Column::kAggregate) continue;
      const int family = family_of(q.columns[i].fn);
      if (family < 0) continue;  // distributions: not a sample
      Sample s;
      if (!sample_value(row[i], &s.value)) continue;
      s.labels = label("query", q.name) + "," + label("column", q.columns[i].name) + groups;
      // A null key and an empty string both make an empty label: a family
      // must not repeat a label set, so the second one is left out.
      if (!seen.insert(s.labels).second) continue;
      by_fn[static_cast<size_t>(family)].samples.push_back(std::move(s));
    }
  }
}

std::vector<Family> query_families(const std::vector<QueryMetrics>& queries) {
  // Indexed by family_of.
  std::vector<Family> by_fn = {
      {"pivot_query_count", true, "COUNT columns of managed queries: events since the query (re)started", {}},
      {"pivot_query_sum", true, "SUM columns of managed queries since the query (re)started", {}},
      {"pivot_query_min", false, "MIN columns of managed queries since the query (re)started", {}},
      {"pivot_query_max", false, "MAX columns of managed queries since the query (re)started", {}},
      {"pivot_query_avg", false, "AVG columns of managed queries since the query (re)started", {}},
      {"pivot_query_quantile",
       false,
       "QUANTILE, P50, P90 and P99 columns of managed queries since the query (re)started",
       {}},
      {"pivot_query_count_distinct",
       false,
       "COUNT(DISTINCT) columns of managed queries since the query (re)started",
       {}},
  };
  std::set<std::string> seen;  // label sets; the column label keeps families apart
  for (const QueryMetrics& q : queries) add_query_samples(q, by_fn, seen);
  // Counters first, then gauges, in a fixed order.
  return {by_fn[0], by_fn[1], by_fn[4], by_fn[2], by_fn[3], by_fn[5], by_fn[6]};
}

std::vector<Family> health_families(const std::vector<QueryMetrics>& queries, const ServeHealth& h) {
  Family running{
      "pivot_query_running", false, "1 while the managed query is installed, 0 when paused or failed", {}};
  Family agents{"pivot_query_agents", false, "Agents that have the managed query installed", {}};
  Family install{"pivot_query_install_seconds", false, "How long the last install of the query took", {}};
  Family intervals{"pivot_query_intervals", true, "Intervals merged since the query (re)started", {}};
  Family lost{"pivot_query_reports_lost",
              true,
              "Agents' reports known missing (gaps) since the query (re)started",
              {}};
  Family dropped{"pivot_query_events_dropped",
                 true,
                 "Events a limit (max_groups, the row cap) left out of the total since the query (re)started",
                 {}};
  Family incomplete{"pivot_query_incomplete",
                    false,
                    "1 when the total is known to miss something (a limit, a baggage cap)",
                    {}};
  Family overflow{"pivot_query_overflow",
                  false,
                  "1 when a SUM or AVG of integers went past 64 bits: that value is an approximate double",
                  {}};
  Family groups{"pivot_query_groups", false, "Groups (rows) in the query's total", {}};
  Family max_groups{"pivot_query_max_groups", false, "The group limit the query runs with (0: none)", {}};
  for (const QueryMetrics& q : queries) {
    std::string l = label("query", q.name);
    running.samples.push_back({l, q.running ? "1" : "0"});
    agents.samples.push_back({l, number(int64_t{q.agents})});
    install.samples.push_back({l, number(static_cast<double>(q.install_ms) / 1000.0)});
    intervals.samples.push_back({l, number(q.intervals)});
    lost.samples.push_back({l, number(q.lost_reports)});
    dropped.samples.push_back({l, number(static_cast<int64_t>(q.total.dropped))});
    incomplete.samples.push_back({l, q.total.incomplete ? "1" : "0"});
    overflow.samples.push_back({l, q.total.overflow ? "1" : "0"});
    groups.samples.push_back({l, number(static_cast<int64_t>(q.total.rows.size()))});
    max_groups.samples.push_back({l, number(int64_t{q.total.max_groups})});
  }
  Family seen{"pivot_serve_agents",
              false,
              "Agents found in serve's last discovery",
              {{"", number(int64_t{h.agents})}}};
  Family limits{
      "pivot_serve_limit_hits", true, "Times a limit of pivot serve acted (docs/serve.md, Limits)", {}};
  for (const auto& [name, n] : h.limit_hits)
    limits.samples.push_back({label("limit", name), number(int64_t(n))});
  Family sse{"pivot_serve_stream_clients",
             false,
             "Clients connected to an event stream",
             {{"", number(static_cast<int64_t>(h.sse_clients))}}};
  Family unauthorized{"pivot_serve_unauthorized_requests",
                      true,
                      "Requests refused for a missing or wrong token",
                      {{"", number(static_cast<int64_t>(h.unauthorized))}}};
  std::vector<Family> all{running,  agents, install,    intervals, lost,   dropped, incomplete,
                          overflow, groups, max_groups, seen,      limits, sse,     unauthorized};
  if (h.otlp) {
    all.push_back({"pivot_serve_otlp_requests",
                   true,
                   "OTLP metrics requests by outcome (--otlp; docs/otlp.md)",
                   {{label("outcome", "sent"), number(static_cast<int64_t>(h.otlp->requests_sent))},
                    {label("outcome", "failed"), number(static_cast<int64_t>(h.otlp->requests_failed))},
                    {label("outcome", "dropped"), number(static_cast<int64_t>(h.otlp->requests_dropped))}}});
  }
  return all;
}

void render(const Family& f, MetricsFormat format, std::string& out) {
  // Prometheus' text format names a counter's family by its samples'
  // name, "_total" included; OpenMetrics names it without the suffix.
  std::string sample_name = f.counter ? f.name + "_total" : f.name;
  std::string family_name = format == MetricsFormat::kOpenMetrics ? f.name : sample_name;
  out += "# HELP " + family_name + " " + f.help + "\n";
  out += "# TYPE " + family_name + (f.counter ? " counter\n" : " gauge\n");
  for (const Sample& s : f.samples) {
    out += sample_name;
    if (!s.labels.empty()) out += "{" + s.labels + "}";
    out += " " + s.value + "\n";
  }
}

}  // namespace

MetricsFormat negotiate(std::string_view accept) {
  return accept.find("application/openmetrics-text") != std::string_view::npos ? MetricsFormat::kOpenMetrics
                                                                               : MetricsFormat::kPrometheus;
}

std::string content_type(MetricsFormat f) {
  return f == MetricsFormat::kOpenMetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                          : "text/plain; version=0.0.4; charset=utf-8";
}

std::string render_metrics(const std::vector<QueryMetrics>& queries, const ServeHealth& health,
                           MetricsFormat format) {
  std::string out;
  for (const Family& f : query_families(queries)) render(f, format, out);
  for (const Family& f : health_families(queries, health)) render(f, format, out);
  if (format == MetricsFormat::kOpenMetrics) out += "# EOF\n";
  return out;
}

std::string sanitize_label_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(out.begin(), '_');
  return out;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size();) {
    char c = value[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // Prometheus refuses a whole scrape over one label that is not
      // UTF-8, and a group key is whatever bytes the traced program had.
      size_t n = utf8_length(value.substr(i));
      out += n > 0 ? value.substr(i, n) : std::string_view("\xEF\xBF\xBD");  // U+FFFD
      i += n > 0 ? n : 1;
      continue;
    }
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
    ++i;
  }
  return out;
}

}  // namespace pivot::serve
