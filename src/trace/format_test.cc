#include "trace/format.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace pivot::internal {
namespace {

std::string json(std::string_view s) {
  std::string out;
  append_json_text(out, s);
  return out;
}

TEST(TraceFormat, EscapesJsonStrings) {
  EXPECT_EQ(json("plain"), "\"plain\"");
  EXPECT_EQ(json("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(json(std::string_view("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(json("'single'"), "\"'single'\"");
}

TEST(TraceFormat, KeepsUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(json("Mosk\xc3\xa4u \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"Mosk\xc3\xa4u \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(json("\xff"), "\"\\ufffd\"");
  EXPECT_EQ(json("a\xc3"), "\"a\\ufffd\"");                                 // cut short
  EXPECT_EQ(json("\xc0\xaf"), "\"\\ufffd\\ufffd\"");                        // overlong '/'
  EXPECT_EQ(json("\xe0\x80\xaf"), "\"\\ufffd\\ufffd\\ufffd\"");             // overlong, 3 bytes
  EXPECT_EQ(json("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");             // a surrogate
  EXPECT_EQ(json("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // above U+10FFFF
}

SpanRecord record() {
  return {4242,
          "dn\"1",
          77,
          "Auction",
          "a-1",
          100,
          -1,
          1,
          "Router::bid\n",
          1700000000123456789,
          1700000000123458289,
          false};
}

TEST(TraceFormat, SpanLineHasRtbkitKeysInOrder) {
  std::string out;
  append_span_json(out, record());
  EXPECT_EQ(
      out,
      "{\"tid\":4242,\"host\":\"dn\\\"1\",\"kpid\":77,\"kind\":\"Auction\",\"uniq\":\"a-1\",\"freq\":100,"
      "\"pid\":-1,\"id\":1,\"tag\":\"Router::bid\\n\",\"t1\":1700000000123456789,\"t2\":"
      "1700000000123458289}");
  SpanRecord r = record();
  r.cross_thread = true;
  out.clear();
  append_span_json(out, r);
  EXPECT_EQ(out.substr(out.size() - 21), ",\"cross_thread\":true}");
}

// The line docs/spans.md shows is what the sinks write.
TEST(TraceFormat, TheDocumentedLineIsExact) {
  std::ifstream in(std::string(PIVOT_SOURCE_DIR) + "/docs/spans.md");
  ASSERT_TRUE(in) << "docs/spans.md";
  std::string documented;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("{\"tid\":4242", 0) == 0) documented = line;
  }
  ASSERT_FALSE(documented.empty());
  std::string out;
  append_span_json(out, {4242, "dn1", 77, "Auction", "a-1", 1, -1, 1, "Router::bid", 1700000000123456789,
                         1700000000123458289, false});
  EXPECT_EQ(out, documented);
}

TEST(TraceFormat, ChromeCompleteEvent) {
  std::string out;
  append_chrome_event(out, record());
  EXPECT_EQ(out,
            "{\"name\":\"Router::bid\\n\",\"cat\":\"Auction\",\"ph\":\"X\",\"ts\":1700000000123456.789,"
            "\"dur\":1.500,\"pid\":77,\"tid\":4242,\"args\":{\"uniq\":\"a-1\",\"freq\":100,\"id\":1,"
            "\"parent\":-1}}");
  out.clear();
  append_chrome_process_name(out, 77, "minidfs-dn");
  EXPECT_EQ(
      out,
      "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":77,\"tid\":0,\"args\":{\"name\":\"minidfs-dn\"}}");
}

}  // namespace
}  // namespace pivot::internal
