// Reports' partial aggregates on the wire: the binary form carries exactly
// what the JSON form does, and hostile bytes are refused with the reason.
#include "wire/protocol.h"

#include <gtest/gtest.h>

#include <string>

#include "aggregate/partial.h"

namespace pivot::wire {
namespace {

using aggregate::AggFn;
using aggregate::EmitShape;
using aggregate::Partial;

// Every key type, every aggregate, a distribution, and the marks.
const EmitShape kShape{
    .keys = 2,
    .aggs = {AggFn::kCount, AggFn::kSum, AggFn::kMin, AggFn::kMax, AggFn::kAvg, AggFn::kHist},
    .params = {{}, {}, {}, {}, {}, aggregate::hist_params()}};

Partial sample() {
  Partial p(&kShape);
  const Value keys[][2] = {{Value("HBase"), Value(int64_t{1})},
                           {Value("a name longer than the short-string buffer"), Value(2.5)},
                           {Value(), Value(true)},
                           {Value("HBase"), Value(int64_t{-7})}};
  for (int i = 0; i < 12; ++i) {
    const Value& x = i % 5 == 4 ? Value() : Value(int64_t{i * 1000 - 3000});
    const Value inputs[] = {Value(true), x, x, x, x, x};
    p.add_values(keys[i % 4], inputs, i % 3 + 1);
  }
  const Value big[] = {Value(true), Value(INT64_MAX),  Value(1.5),
                       Value("z"),  Value(int64_t{1}), Value(int64_t{9})};
  p.add_values(keys[0], big);  // the SUM overflows into a double
  p.mark_incomplete();
  p.add_dropped(4);
  return p;
}

Partial decoded(const Json& j) {
  Partial out(&kShape);
  Status s = partial_from_json(j, out);
  EXPECT_TRUE(s) << s.error().message();
  return out;
}

std::string decode_error(const Json& j) {
  Partial out(&kShape);
  Status s = partial_from_json(j, out);
  return s ? std::string("(no error)") : s.error().message();
}

Json bin_of(std::string_view bytes) {
  return Json::binary(Json::binary_t::container_type(bytes.begin(), bytes.end()));
}

TEST(Reports, BinaryAndJsonCarryTheSame) {
  const Partial p = sample();
  ASSERT_TRUE(p.overflow());
  const Json text = to_json(p, ReportFormat::kJson);
  const Json bin = to_json(p, ReportFormat::kBinary);
  ASSERT_TRUE(bin.contains("bin"));
  ASSERT_FALSE(bin.contains("groups"));
  const Partial a = decoded(text), b = decoded(bin);
  EXPECT_EQ(a.rows(), p.rows());
  EXPECT_EQ(b.rows(), p.rows());
  ASSERT_EQ(b.groups().size(), p.groups().size());
  for (size_t i = 0; i < p.groups().size(); ++i) {
    EXPECT_EQ(b.groups()[i].events, p.groups()[i].events);
    EXPECT_EQ(b.groups()[i].hash, p.groups()[i].hash);
  }
  EXPECT_TRUE(b.incomplete());
  EXPECT_TRUE(b.overflow());
  EXPECT_EQ(b.dropped(), 4u);
  // Merged twice, as the frontend merges a report into the interval and the total.
  Partial twice(&kShape);
  twice.merge(b);
  twice.merge(b);
  Partial want(&kShape);
  want.merge(p);
  want.merge(p);
  EXPECT_EQ(twice.rows(), want.rows());
  EXPECT_EQ(twice.dropped(), 8u);
}

TEST(Reports, BinaryBytesAreTheDocumentedLayout) {
  const EmitShape shape{.keys = 1, .aggs = {AggFn::kSum}};
  Partial p(&shape);
  const Value key(int64_t{5}), in(int64_t{7});
  p.add_values(&key, &in);
  // format 1, 1 key, 1 aggregate, 1 group; events 1, key int 5 (zigzag 10);
  // count 1 (zigzag 2), value int 7 (zigzag 14), no extra.
  const std::string want("\x01\x01\x01\x01\x01\x03\x0a\x02\x03\x0e\x00", 11);
  Json part = to_json(p, ReportFormat::kBinary);
  EXPECT_EQ(part, (Json{{"bin", bin_of(want)}, {"incomplete", false}, {"dropped", 0}}));
  // On the wire: the text, a NUL, then each part's bytes; "bin" points at them.
  Json m = message("report");
  m["queries"] = Json::array({part, to_json(p), part});
  const std::string frame = encode(m);
  EXPECT_EQ(frame,
            R"({"queries":[{"bin":[0,11],"dropped":0,"incomplete":false},{"dropped":0,"events":[1],)"
            R"("groups":[[[5],[[1,7]]]],"incomplete":false},{"bin":[11,11],"dropped":0,"incomplete":false}],)"
            R"("type":"report","v":1})" +
                std::string(1, '\0') + want + want);
  auto back = parse_message(frame);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, m);
}

TEST(Reports, AttachedBytesMustBeWhatThePartsSay) {
  auto error = [](const std::string& text, const std::string& attached) {
    auto m = parse_message(text + std::string(1, '\0') + attached);
    return m ? std::string("(no error)") : m.error().message();
  };
  const std::string head = R"({"v":1,"type":"report","queries":[)";
  EXPECT_EQ(error(head + R"({"bin":[0,2]}]})", "ab"), "(no error)");
  EXPECT_EQ(error(R"({"v":1,"type":"report"})", "ab"),
            "malformed message: bytes attached to a message without parts");
  const std::string order =
      "malformed message: a part's \"bin\" must be [offset, length] of the attached bytes, in order";
  EXPECT_EQ(error(head + R"({"bin":[0,3]}]})", "ab"), order);
  EXPECT_EQ(error(head + R"({"bin":[1,1]}]})", "ab"), order);
  EXPECT_EQ(error(head + R"({"bin":[0,1]},{"bin":[0,1]}]})", "ab"), order);
  EXPECT_EQ(error(head + R"({"bin":"YWI"}]})", "ab"), order);
  EXPECT_EQ(error(head + R"({"bin":[0,1]}]})", "ab"), "malformed message: 1 attached bytes no part uses");
  // A part whose "bin" is not bytes is refused where it is decoded.
  Partial out(&kShape);
  Status s = partial_from_json(Json{{"bin", "YWI"}}, out);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "partial aggregate: \"bin\" must be bytes attached to the message");
}

TEST(Reports, HostileBinaryIsRefusedWithTheReason) {
  auto with = [](const std::string& bytes) { return Json{{"bin", bin_of(bytes)}}; };
  const std::string group_prefix("\x01\x02\x06", 3);  // format, 2 keys, 6 aggregates
  EXPECT_EQ(decode_error(with(std::string("\x02\x02\x06\x00", 4))),
            "partial aggregate: binary groups of format 2; this pivot reads 1");
  EXPECT_EQ(decode_error(with(std::string("\x01\x01\x06\x00", 4))),
            "partial aggregate: groups have 1 keys and 6 aggregates; the query has 2 and 6");
  EXPECT_EQ(decode_error(with(group_prefix + "\x7f")), "partial aggregate: more groups than bytes");
  EXPECT_EQ(decode_error(with(group_prefix + std::string("\x01\x01\x03", 3))),
            "partial aggregate: bad binary groups: truncated at byte 6");
  EXPECT_EQ(decode_error(with(group_prefix + std::string("\x01\x01\x09", 3))),
            "partial aggregate: bad binary groups: unknown value tag 9 at byte 5");
  // One group of 2 null keys; 5 plain states, then a distribution whose
  // buckets run past HIST's 66.
  std::string group = group_prefix + std::string("\x01\x01\x00\x00", 4);
  for (int i = 0; i < 5; ++i) group += std::string("\x00\x00\x00", 3);
  EXPECT_EQ(decode_error(with(group + std::string("\x02\x03\x02\x01\x40\x03\x01\x01\x01", 9))),
            "partial aggregate: a distribution's buckets are out of range");
  EXPECT_EQ(decode_error(with(group + std::string("\x02\x03\x02\x07", 4))),
            "partial aggregate: unknown state extra 7");
  const std::string ok = group + std::string("\x02\x03\x02\x01\x01\x01\x02", 7);
  EXPECT_EQ(decode_error(with(ok)), "(no error)");
  EXPECT_EQ(decode_error(with(ok + "x")), "partial aggregate: 1 bytes after the groups");
  // A refused report leaves nothing behind in what it was decoded into.
  Partial out(&kShape);
  ASSERT_TRUE(partial_from_json(with(ok), out));
  ASSERT_EQ(out.groups().size(), 1u);
  EXPECT_FALSE(partial_from_json(with(ok + "x"), out));
  EXPECT_TRUE(out.empty());
  Partial total(&kShape);
  EXPECT_FALSE(merge_from_json(with(ok + "x"), total));
  EXPECT_TRUE(total.empty());
}

}  // namespace
}  // namespace pivot::wire
