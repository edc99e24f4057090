#include "pivot/result_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "aggregate/distinct_count.h"
#include "aggregate/histogram_text.h"
#include "core/unit_text.h"
#include "pivot/internal/json.h"

namespace pivot {

namespace {
// "0.81%": 1.04 / sqrt(registers).
std::string distinct_standard_error() {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f%%", 104 / std::sqrt(static_cast<double>(aggregate::kHllRegisters)));
  return buf;
}
}  // namespace

std::string ResultTable::to_json() const {
  std::string out = "{\"columns\":[";
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) out += ',';
    internal::append_json_string(out, columns[i]);
  }
  out += "],\"rows\":[";
  for (size_t r = 0; r < rows.size(); ++r) {
    if (r) out += ',';
    out += '[';
    for (size_t i = 0; i < rows[r].size(); ++i) {
      if (i) out += ',';
      out += is_distribution(i) && rows[r][i].is_string() ? rows[r][i].as_string() : rows[r][i].to_json();
    }
    out += ']';
  }
  out += ']';
  if (incomplete) out += ",\"incomplete\":true";
  if (dropped) out += ",\"dropped\":" + std::to_string(dropped);
  if (dropped && max_groups) out += ",\"max_groups\":" + std::to_string(max_groups);
  if (overflow) out += ",\"overflow\":true";
  if (!estimated.empty()) {
    out += ",\"estimated\":[";
    for (size_t i = 0; i < estimated.size(); ++i) {
      if (i) out += ',';
      internal::append_json_string(out, estimated[i]);
    }
    out += ']';
  }
  out += '}';
  return out;
}

bool ResultTable::is_distribution(size_t column) const {
  return std::binary_search(distribution_columns.begin(), distribution_columns.end(),
                            static_cast<uint32_t>(column));
}

// The other columns as a table, each row followed by its histograms.
std::string ResultTable::to_text_with_histograms() const {
  ResultTable plain;
  std::vector<size_t> kept;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (!is_distribution(i)) {
      kept.push_back(i);
      plain.columns.push_back(columns[i]);
    }
  }
  for (const auto& row : rows) {
    auto& line = plain.rows.emplace_back();
    for (size_t i : kept) line.push_back(i < row.size() ? row[i] : Value());
  }
  for (size_t i : kept) plain.units.push_back(i < units.size() ? units[i] : Unit::kNone);
  plain.dropped = dropped;
  plain.max_groups = max_groups;
  plain.incomplete = incomplete;
  plain.overflow = overflow;
  plain.estimated = estimated;
  std::string table = kept.empty() ? std::string() : plain.to_text();
  // The table's lines: the header, one per row, then any notes.
  std::vector<std::string> lines;
  for (size_t at = 0; at < table.size();) {
    size_t end = table.find('\n', at);
    lines.push_back(table.substr(at, end - at + 1));
    at = end + 1;
  }
  std::string out = kept.empty() ? std::string() : lines[0];
  const std::string indent = kept.empty() ? "" : "  ";
  for (size_t r = 0; r < rows.size(); ++r) {
    if (r > 0) out += '\n';
    if (!kept.empty()) out += lines[r + 1];
    for (uint32_t c : distribution_columns) {
      if (c >= rows[r].size() || c >= columns.size()) continue;
      out += indent + columns[c] + ":\n";
      out += aggregate::draw_histogram(rows[r][c].is_string() ? rows[r][c].as_string() : rows[r][c].to_json(),
                                       indent);
    }
  }
  for (size_t i = kept.empty() ? 0 : rows.size() + 1; i < lines.size(); ++i) out += lines[i];
  if (kept.empty() && (dropped || incomplete || overflow || !estimated.empty())) {
    std::string notes = plain.to_text();  // the header line, then the notes
    out += notes.substr(notes.find('\n') + 1);
  }
  return out;
}

std::string ResultTable::to_text() const {
  if (!distribution_columns.empty()) return to_text_with_histograms();
  std::vector<size_t> width(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) width[i] = columns[i].size();
  std::vector<std::vector<std::string>> cells;
  for (const auto& row : rows) {
    auto& line = cells.emplace_back();
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      line.push_back(with_unit(row[i], i < units.size() ? units[i] : Unit::kNone));
      width[i] = std::max(width[i], line.back().size());
    }
  }
  auto append_line = [&](std::string& out, const std::vector<std::string>& line,
                         const std::vector<Value>* row) {
    for (size_t i = 0; i < line.size(); ++i) {
      bool right = row != nullptr && (*row)[i].is_number();
      std::string pad(width[i] - line[i].size(), ' ');
      if (i) out += "  ";
      out += right ? pad + line[i] : (i + 1 == line.size() ? line[i] : line[i] + pad);
    }
    out += '\n';
  };
  std::string out;
  append_line(out, columns, nullptr);
  for (size_t r = 0; r < cells.size(); ++r) append_line(out, cells[r], &rows[r]);
  if (dropped && max_groups) {
    out += "(incomplete: " + std::to_string(dropped) + " events dropped: at most " +
           std::to_string(max_groups) + " groups per process and interval; see pivot query --max-groups)\n";
  } else if (dropped) {
    out += "(incomplete: " + std::to_string(dropped) +
           " rows dropped: at most 10000 per process and interval)\n";
  } else if (incomplete) {
    out += "(incomplete: some baggage overflowed its byte cap)\n";
  }
  if (overflow) out += "(overflow: a sum of integers went past 64 bits and is approximate)\n";
  for (const std::string& c : estimated) {
    out += "(estimated: " + c + " past " + std::to_string(aggregate::kDistinctExactMax) +
           " distinct values, by HyperLogLog with a standard error of " + distinct_standard_error() + ")\n";
  }
  return out;
}

namespace {
void append_csv(std::string& out, const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}
}  // namespace

std::string ResultTable::to_csv() const {
  std::string out;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) out += ',';
    append_csv(out, columns[i]);
  }
  out += "\r\n";
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) out += ',';
      if (!row[i].is_null()) append_csv(out, row[i].to_string());
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace pivot
