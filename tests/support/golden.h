// Golden files: records of an input and its exact expected output, in the
// style of DuckDB's sqllogictest, so a test pins output text (parse errors,
// `explain`, binder errors) without C++ string literals.
//
// A file is a sequence of records:
//
//   # comment lines start with '#' (between records)
//   case <name>
//   <input text, any number of lines, blank ones included>
//   ----
//   <expected output, any number of lines>
//   <a blank line or the end of the file ends the record>
//
// The expected output therefore cannot contain a blank line; write no
// trailing spaces either (editors strip them). Usage in a test:
//
//   pivot::testing::expect_golden(
//       std::string(PIVOT_SOURCE_DIR) + "/tests/golden/parse_errors.test",
//       [](const pivot::testing::GoldenCase& c) { return run_my_thing(c.input); });
//
// With PIVOT_UPDATE_GOLDEN=1 in the environment, expect_golden() also
// rewrites the file with the actual outputs (comments and inputs are kept),
// so a maintainer can regenerate it and review the diff; the test still fails
// on every mismatch of that run.
//
// read_golden() throws std::runtime_error on a malformed file (this is test
// support, where an exception is a clear failure). Header-only.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pivot::testing {

struct GoldenCase {
  std::string name;
  std::string input;     // lines joined by '\n', no trailing newline
  std::string expected;  // likewise
  int line = 0;          // 1-based line of "case <name>"
};

namespace golden_internal {

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open golden file " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

inline std::string join(const std::vector<std::string>& lines, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) out += '\n';
    out += lines[i];
  }
  return out;
}

inline bool is_case_line(const std::string& line) { return line.rfind("case ", 0) == 0 && line.size() > 5; }

// Where one record sits in the file: [case_line, separator, end) as 0-based
// line indexes; the expected output is (separator, end).
struct Span {
  GoldenCase c;
  size_t case_line = 0;
  size_t separator = 0;
  size_t end = 0;
};

inline std::vector<Span> scan(const std::string& path, const std::vector<std::string>& lines) {
  std::vector<Span> spans;
  std::map<std::string, int> seen;
  auto fail = [&](size_t i, const std::string& what) {
    throw std::runtime_error(path + ":" + std::to_string(i + 1) + ": " + what);
  };
  size_t i = 0;
  while (i < lines.size()) {
    const std::string& line = lines[i];
    if (line.empty() || line[0] == '#') {
      ++i;
      continue;
    }
    if (!is_case_line(line)) fail(i, "expected 'case <name>', found '" + line + "'");
    Span s;
    s.case_line = i;
    s.c.name = line.substr(5);
    s.c.line = static_cast<int>(i + 1);
    if (!seen.emplace(s.c.name, s.c.line).second) {
      fail(i, "duplicate case '" + s.c.name + "' (first at line " + std::to_string(seen[s.c.name]) + ")");
    }
    size_t sep = i + 1;
    while (sep < lines.size() && lines[sep] != "----") ++sep;
    if (sep == lines.size()) fail(i, "case '" + s.c.name + "' has no '----' line");
    size_t end = sep + 1;
    while (end < lines.size() && !lines[end].empty()) ++end;
    s.separator = sep;
    s.end = end;
    s.c.input = join(lines, i + 1, sep);
    s.c.expected = join(lines, sep + 1, end);
    spans.push_back(std::move(s));
    i = end;
  }
  return spans;
}

}  // namespace golden_internal

// Every record of the file at `path`, in file order.
inline std::vector<GoldenCase> read_golden(const std::string& path) {
  std::vector<GoldenCase> cases;
  for (auto& span : golden_internal::scan(path, golden_internal::read_lines(path))) {
    cases.push_back(std::move(span.c));
  }
  return cases;
}

// True when the environment asks for golden files to be rewritten.
inline bool golden_update_requested() {
  const char* v = std::getenv("PIVOT_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

// Rewrites `path` so each case's expected output is `cases[i].expected`.
// Records of the file keep their place, comments and input; cases the file
// lacks are appended. Throws std::runtime_error if an output has a blank line.
inline void write_golden(const std::string& path, const std::vector<GoldenCase>& cases) {
  std::vector<std::string> lines;
  std::vector<golden_internal::Span> spans;
  if (std::ifstream(path).good()) {
    lines = golden_internal::read_lines(path);
    spans = golden_internal::scan(path, lines);
  }
  std::map<std::string, const GoldenCase*> by_name;
  for (const GoldenCase& c : cases) {
    if (c.expected.find("\n\n") != std::string::npos || (!c.expected.empty() && c.expected.back() == '\n')) {
      throw std::runtime_error("output of case '" + c.name +
                               "' has a blank line; a golden file cannot hold it");
    }
    by_name[c.name] = &c;
  }
  std::ostringstream out;
  size_t next = 0;  // next line of the old file to copy
  for (const auto& span : spans) {
    for (; next <= span.separator; ++next) out << lines[next] << '\n';
    auto it = by_name.find(span.c.name);
    out << (it != by_name.end() ? it->second->expected : span.c.expected) << '\n';
    if (it != by_name.end()) by_name.erase(it);
    next = span.end;
  }
  for (; next < lines.size(); ++next) out << lines[next] << '\n';
  for (const GoldenCase& c : cases) {
    if (by_name.count(c.name) == 0) continue;  // already written in place
    out << "\ncase " << c.name << '\n' << c.input << "\n----\n" << c.expected << '\n';
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << out.str();
  if (!file) throw std::runtime_error("cannot write golden file " + path);
}

// Runs every case of the golden file through `run` and expects its output
// exactly; with PIVOT_UPDATE_GOLDEN=1 also rewrites the file with the outputs.
inline void expect_golden(const std::string& path, const std::function<std::string(const GoldenCase&)>& run) {
  std::vector<GoldenCase> cases = read_golden(path);
  EXPECT_FALSE(cases.empty()) << path << " has no cases";
  std::vector<GoldenCase> actual = cases;
  for (size_t i = 0; i < cases.size(); ++i) {
    actual[i].expected = run(cases[i]);
    EXPECT_EQ(actual[i].expected, cases[i].expected)
        << path << ":" << cases[i].line << ": case " << cases[i].name << "\ninput:\n"
        << cases[i].input;
  }
  if (golden_update_requested()) write_golden(path, actual);
}

}  // namespace pivot::testing
