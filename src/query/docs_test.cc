// Runs every example of docs/query-language.md, so the reference cannot rot:
//   ```query            must parse
//   ```query-error      input, a "----" line, then the exact error message
//   ```query-canonical  lines "input => canonical text" of expressions
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "query/parser.h"
#include "query/printer.h"

namespace pivot::query {
namespace {

struct Block {
  std::string info;  // what follows the opening ```
  std::string text;
  int line = 0;  // of the opening fence
};

std::vector<Block> fenced_blocks(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<Block> blocks;
  Block* open = nullptr;
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.rfind("```", 0) == 0) {
      if (open == nullptr) {
        blocks.push_back({line.substr(3), "", n});
        open = &blocks.back();
      } else {
        if (!open->text.empty()) open->text.pop_back();  // the last '\n'
        open = nullptr;
      }
      continue;
    }
    if (open != nullptr) open->text += line + "\n";
  }
  EXPECT_EQ(open, nullptr) << "unclosed code block in " << path;
  return blocks;
}

std::vector<Block> blocks_of(const std::string& info) {
  std::vector<Block> out;
  for (Block& b : fenced_blocks(std::string(PIVOT_SOURCE_DIR) + "/docs/query-language.md")) {
    if (b.info == info) out.push_back(std::move(b));
  }
  return out;
}

TEST(Docs, QueryExamplesParse) {
  std::vector<Block> blocks = blocks_of("query");
  EXPECT_GE(blocks.size(), 20u);
  for (const Block& b : blocks) {
    Result<Program> p = parse(b.text);
    EXPECT_TRUE(p) << "docs/query-language.md:" << b.line << "\n" << (p ? "" : p.error().message());
  }
}

TEST(Docs, ErrorExamplesGiveExactlyTheirErrors) {
  std::vector<Block> blocks = blocks_of("query-error");
  EXPECT_GE(blocks.size(), 50u);
  for (const Block& b : blocks) {
    size_t sep = b.text.find("\n----\n");
    ASSERT_NE(sep, std::string::npos) << "docs/query-language.md:" << b.line << ": no ---- line";
    Result<Program> p = parse(b.text.substr(0, sep));
    ASSERT_FALSE(p) << "docs/query-language.md:" << b.line << ": parsed";
    EXPECT_EQ(p.error().message(), b.text.substr(sep + 6)) << "docs/query-language.md:" << b.line;
  }
}

TEST(Docs, CanonicalTextExamples) {
  std::vector<Block> blocks = blocks_of("query-canonical");
  EXPECT_GE(blocks.size(), 2u);
  for (const Block& b : blocks) {
    std::istringstream lines(b.text);
    for (std::string line; std::getline(lines, line);) {
      size_t arrow = line.find(" => ");
      ASSERT_NE(arrow, std::string::npos) << line;
      Result<Program> p = parse("From v In T Select " + line.substr(0, arrow));
      ASSERT_TRUE(p) << line << "\n" << p.error().message();
      EXPECT_EQ(to_string(*p->queries[0].select[0].expr), line.substr(arrow + 4)) << line;
    }
  }
}

}  // namespace
}  // namespace pivot::query
