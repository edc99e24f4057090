// Runs tests/golden/parse_errors.test: each case's input is query text and
// its expected output the exact error message (line:col, source line, caret).
// Regenerate with PIVOT_UPDATE_GOLDEN=1 and review the diff.
#include "../../tests/support/golden.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "query/parser.h"

namespace pivot::query {
namespace {

std::string parse_error_of(const pivot::testing::GoldenCase& c) {
  Result<Program> p = parse(c.input);
  return p ? "(parsed without error)" : p.error().message();
}

TEST(Golden, ParseErrors) {
  pivot::testing::expect_golden(std::string(PIVOT_SOURCE_DIR) + "/tests/golden/parse_errors.test",
                                parse_error_of);
}

TEST(Golden, EveryCaseIsAnErrorAndTheErrorPositionMatchesTheMessage) {
  for (const auto& c :
       pivot::testing::read_golden(std::string(PIVOT_SOURCE_DIR) + "/tests/golden/parse_errors.test")) {
    Result<Program> p = parse(c.input);
    ASSERT_FALSE(p) << "case " << c.name << " parsed";
    const Error& e = p.error();
    if (e.line() == 0) continue;
    std::string prefix = std::to_string(e.line()) + ":" + std::to_string(e.column()) + ": ";
    EXPECT_EQ(e.message().rfind(prefix, 0), 0u) << "case " << c.name;
  }
}

// --- the golden file format itself (tests/support/golden.h)

class GoldenFile : public ::testing::Test {
 protected:
  void SetUp() override { path_ = ::testing::TempDir() + "golden_" + std::to_string(getpid()) + ".test"; }
  void TearDown() override { std::remove(path_.c_str()); }
  void write(const std::string& text) { std::ofstream(path_, std::ios::binary) << text; }
  std::string read() {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string path_;
};

constexpr std::string_view kFile =
    "# a comment\n"
    "\n"
    "case first\n"
    "line one\n"
    "\n"
    "line three\n"
    "----\n"
    "out 1\n"
    "out 2\n"
    "\n"
    "# between\n"
    "case second one\n"
    "# not a comment inside an input\n"
    "----\n"
    "\n"
    "case last\n"
    "x\n"
    "----\n"
    "y";

TEST_F(GoldenFile, ReadsRecords) {
  write(std::string(kFile));
  std::vector<pivot::testing::GoldenCase> cases = pivot::testing::read_golden(path_);
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[0].name, "first");
  EXPECT_EQ(cases[0].input, "line one\n\nline three");
  EXPECT_EQ(cases[0].expected, "out 1\nout 2");
  EXPECT_EQ(cases[0].line, 3);
  EXPECT_EQ(cases[1].name, "second one");
  EXPECT_EQ(cases[1].input, "# not a comment inside an input");
  EXPECT_EQ(cases[1].expected, "");
  EXPECT_EQ(cases[1].line, 12);
  EXPECT_EQ(cases[2].input, "x");
  EXPECT_EQ(cases[2].expected, "y");
}

TEST_F(GoldenFile, WriteReplacesOutputsAndKeepsEverythingElse) {
  write(std::string(kFile));
  std::vector<pivot::testing::GoldenCase> cases = pivot::testing::read_golden(path_);
  cases[0].expected = "new 1";
  cases[1].expected = "new 2\nnew 3";
  cases.push_back({"added", "in", "out", 0});
  pivot::testing::write_golden(path_, cases);
  EXPECT_EQ(read(),
            "# a comment\n\ncase first\nline one\n\nline three\n----\nnew 1\n\n# between\n"
            "case second one\n# not a comment inside an input\n----\nnew 2\nnew 3\n\n"
            "case last\nx\n----\ny\n\ncase added\nin\n----\nout\n");
  std::vector<pivot::testing::GoldenCase> again = pivot::testing::read_golden(path_);
  ASSERT_EQ(again.size(), 4u);
  EXPECT_EQ(again[1].expected, "new 2\nnew 3");
  EXPECT_EQ(again[3].name, "added");
}

TEST_F(GoldenFile, WriteRefusesBlankLinesInOutputs) {
  write(std::string(kFile));
  std::vector<pivot::testing::GoldenCase> cases = pivot::testing::read_golden(path_);
  cases[0].expected = "a\n\nb";
  EXPECT_THROW(pivot::testing::write_golden(path_, cases), std::runtime_error);
}

TEST_F(GoldenFile, MalformedFilesThrow) {
  write("not a case line\n");
  EXPECT_THROW(pivot::testing::read_golden(path_), std::runtime_error);
  write("case a\ninput without separator\n");
  EXPECT_THROW(pivot::testing::read_golden(path_), std::runtime_error);
  write("case a\nx\n----\ny\n\ncase a\nx\n----\ny\n");
  EXPECT_THROW(pivot::testing::read_golden(path_), std::runtime_error);
  EXPECT_THROW(pivot::testing::read_golden(path_ + ".missing"), std::runtime_error);
}

}  // namespace
}  // namespace pivot::query
