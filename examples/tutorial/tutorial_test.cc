// Keeps docs/tutorial.md true: its snippets are the code of service.cc, and
// its query, explain output and answer are what the real program gives.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/subprocess.h"

namespace {

using pivot::testing::Subprocess;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

// The fenced block right after the line `marker` in the doc.
std::string block_after(const std::string& doc, const std::string& marker) {
  auto lines = lines_of(doc);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] != marker) continue;
    std::string out;
    for (size_t k = i + 2; k < lines.size() && lines[k].rfind("```", 0) != 0; ++k) out += lines[k] + "\n";
    return out;
  }
  return "<no block after " + marker + ">";
}

// Lines between `// [START name]` and `// [END name]`, common indent removed.
std::string region(const std::string& source, const std::string& name) {
  auto lines = lines_of(source);
  std::vector<std::string> body;
  bool in = false;
  for (const auto& l : lines) {
    if (l.find("// [END " + name + "]") != std::string::npos) break;
    if (in) body.push_back(l);
    if (l.find("// [START " + name + "]") != std::string::npos) in = true;
  }
  size_t indent = std::string::npos;
  for (const auto& l : body) {
    if (!l.empty()) indent = std::min(indent, l.find_first_not_of(' '));
  }
  std::string out;
  for (const auto& l : body) out += (l.size() >= indent ? l.substr(indent) : l) + "\n";
  return out;
}

const std::string kDoc = read_file(std::string(PIVOT_SOURCE_DIR) + "/docs/tutorial.md");

TEST(Tutorial, SnippetsAreTheExampleCode) {
  std::string source = read_file(std::string(PIVOT_SOURCE_DIR) + "/examples/tutorial/service.cc");
  for (const char* name : {"include", "sites", "client", "server", "agent"}) {
    EXPECT_EQ(block_after(kDoc, std::string("<!-- snippet: ") + name + " -->"), region(source, name)) << name;
  }
}

// The query the reader runs in step 5 (scripts/docs.sh runs it) is the one
// whose answer and explain output the doc shows.
TEST(Tutorial, TheQueryRunIsTheQueryShown) {
  size_t at = kDoc.find("QUERY='");
  ASSERT_NE(at, std::string::npos);
  at += 7;
  size_t end = kDoc.find('\'', at);
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(kDoc.substr(at, end - at) + "\n", block_after(kDoc, "<!-- query -->"));
}

TEST(Tutorial, TheQueryGivesTheAnswerShown) {
  std::string dir = "/tmp/pivot-tutorial-test-" + std::to_string(getpid());
  std::string query = block_after(kDoc, "<!-- query -->");
  Subprocess service({std::string(PIVOT_BINARY_DIR) + "/examples/tutorial/tutorial_service", "10"},
                     {"PIVOT_RUNTIME_DIR=" + dir});
  ASSERT_EQ(service.line().value_or(""), "ready");
  std::string pivot = std::string(PIVOT_BINARY_DIR) + "/tools/pivot";

  Subprocess explain({pivot, "--runtime-dir", dir, "explain", query});
  std::string explained;
  for (const auto& l : explain.rest()) explained += l + "\n";
  EXPECT_EQ(explained, block_after(kDoc, "<!-- explain -->"));

  Subprocess q({pivot, "--runtime-dir", dir, "query", "--format", "json", "--interval", "100", query});
  ASSERT_TRUE(q.wait_err("query installed"));
  service.write("go\n");
  ASSERT_EQ(service.line().value_or(""), "served 10");
  q.signal(SIGINT);
  auto out = q.rest();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(nlohmann::json::parse(out.back())["total"].dump() + "\n", block_after(kDoc, "<!-- output -->"));
  service.write("exit\n");
  service.wait();
  std::string cmd = "rm -rf '" + dir + "'";
  (void)!system(cmd.c_str());
}

}  // namespace
