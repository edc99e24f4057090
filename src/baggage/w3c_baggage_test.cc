// pivot's member of the W3C `baggage` header: inject/extract over carriers,
// other members kept byte for byte, bad members, and the W3C limits.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <unordered_map>

#include "baggage/test_util.h"
#include "baggage/w3c_header.h"
#include "pivot/baggage.h"

namespace pivot::internal {
namespace {

using testing::BaggageTest;
using testing::pack;
using testing::spec;
using testing::unpacked;

using W3cBaggageTest = BaggageTest;

// The baggage of docs/baggage.md's annotated example (WireTest pins it).
constexpr std::string_view kText = "AgACBQEDufPd8QkArAICARECAwUFAmFiAiIEAAECBAAAAAAAAOA_";

// Makes the example baggage current for the test's scope.
class WithExample : public W3cBaggageTest {
 protected:
  void SetUp() override {
    W3cBaggageTest::SetUp();
    (void)baggage::exchange(baggage::decode(kText));
  }
};

std::string member() { return "pivot=" + std::string(kText); }

TEST_F(WithExample, InjectAppendsAfterTheOtherMembersKeptByteForByte) {
  std::map<std::string, std::string> headers = {
      {"baggage", "userId=alice , serverNode=DF%2028;prop1=x ;flag,isProduction=false"}};
  EXPECT_TRUE(baggage::inject(headers));
  EXPECT_EQ(headers.at("baggage"),
            "userId=alice,serverNode=DF%2028;prop1=x ;flag,isProduction=false," + member());
}

TEST_F(WithExample, InjectIntoNoHeaderWritesPivotsMemberAlone) {
  std::unordered_map<std::string, std::string> headers;
  EXPECT_TRUE(baggage::inject(headers));
  EXPECT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers.at("baggage"), member());
}

TEST_F(WithExample, InjectReplacesPivotsMemberWhereItWasAndDropsRepeats) {
  EXPECT_EQ(baggage::inject_header("a=1, pivot = old ;p=1 ,b=2,pivot=older"), "a=1," + member() + ",b=2");
  EXPECT_EQ(baggage::inject_header("pivot=x"), member());
}

TEST_F(WithExample, InjectKeepsMembersItCannotParse) {
  // Not valid W3C members, but someone else's: passed on as they were.
  EXPECT_EQ(baggage::inject_header("garbage,,=x, a=b=c;;,"), "garbage,=x,a=b=c;;," + member());
}

TEST_F(W3cBaggageTest, EmptyBaggageLeavesTheCarrierUntouched) {
  std::map<std::string, std::string> none;
  EXPECT_TRUE(baggage::inject(none));
  EXPECT_TRUE(none.empty());  // zero bytes on the wire

  std::map<std::string, std::string> others = {{"baggage", " a=1 ,b=2"}};
  EXPECT_TRUE(baggage::inject(others));
  EXPECT_EQ(others.at("baggage"), " a=1 ,b=2");  // not even its spaces change
}

TEST_F(W3cBaggageTest, EmptyBaggageRemovesAStalePivotMember) {
  EXPECT_EQ(baggage::inject_header("a=1, pivot=AQEA"), "a=1");
  std::map<std::string, std::string> headers = {{"baggage", "pivot=AQEA"}};
  EXPECT_TRUE(baggage::inject(headers));
  EXPECT_EQ(headers.at("baggage"), "");
}

TEST_F(W3cBaggageTest, InjectMarksTheSentTuplesSharedLikeEncode) {
  BagSpec s = testing::aggregate_spec(1, 1, {Combine::kSum});
  pack(s, {"k", 1});
  std::map<std::string, std::string> request;
  ASSERT_TRUE(baggage::inject(request));
  pack(s, {"k", 10});  // a new entry: the sent one is shared now
  std::map<std::string, std::string> response;
  {
    baggage::Scope scope(baggage::extract(request));
    pack(s, {"k", 100});
    ASSERT_TRUE(baggage::inject(response));
  }
  baggage::join(baggage::extract(response));
  EXPECT_EQ(unpacked(s), R"(["k",111])");
}

TEST_F(W3cBaggageTest, ExtractReadsPivotsMemberAndIgnoresTheRest) {
  const std::string header = "garbage,,=,a=b=c;;, pivot = " + std::string(kText) + " ;prop=1 ;flag, z=%zz";
  Baggage b = baggage::extract_header(header);
  EXPECT_EQ(baggage::encode(b), kText);
  Result<Baggage> r = baggage::try_extract_header(header);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(baggage::encode(*r), kText);
}

TEST_F(W3cBaggageTest, ExtractPercentDecodesTheValue) {
  // "%41" is 'A' and "%5F" is '_', the example's first and last characters.
  ASSERT_EQ(kText.front(), 'A');
  ASSERT_EQ(kText.back(), '_');
  std::string header = "pivot=%41" + std::string(kText.substr(1, kText.size() - 2)) + "%5F";
  Result<Baggage> r = baggage::try_extract_header(header);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(baggage::encode(*r), kText);
}

TEST_F(W3cBaggageTest, ExtractWithoutPivotsMemberIsEmptyAndNoError) {
  uint64_t errors = baggage::decode_errors();
  std::map<std::string, std::string> headers = {{"baggage", "userId=alice"}};
  EXPECT_TRUE(baggage::extract(headers).empty());
  std::map<std::string, std::string> none;
  EXPECT_TRUE(baggage::extract(none).empty());
  EXPECT_TRUE(baggage::extract_header("").empty());
  EXPECT_TRUE(baggage::extract_header("pivot=").empty());  // the empty baggage is ""
  EXPECT_EQ(baggage::decode_errors(), errors);
}

TEST_F(W3cBaggageTest, BadPivotMembersGiveEmptyBaggageAndAClearError) {
  struct Case {
    std::string header, message;
  };
  const Case cases[] = {
      {"a=1, pivot ;p", "baggage header: member 'pivot' has no '='"},
      {"pivot=AQ%4", "baggage header: bad percent-encoding at offset 2 of pivot's value"},
      {"pivot=%g0", "baggage header: bad percent-encoding at offset 0 of pivot's value"},
      {"pivot=!!", "baggage: invalid base64url character '!' at offset 0"},
      {"pivot=CQ", "baggage: unknown version 9"},
  };
  for (const Case& c : cases) {
    Result<Baggage> r = baggage::try_extract_header(c.header);
    ASSERT_FALSE(r) << c.header;
    EXPECT_EQ(r.error().message(), c.message) << c.header;
    uint64_t errors = baggage::decode_errors();
    EXPECT_TRUE(baggage::extract_header(c.header).empty()) << c.header;
    EXPECT_EQ(baggage::decode_errors(), errors + 1) << c.header;
  }
}

TEST_F(W3cBaggageTest, TheFirstPivotMemberIsTheOneRead) {
  Baggage b = baggage::extract_header("pivot=" + std::string(kText) + ",pivot=!!");
  EXPECT_EQ(baggage::encode(b), kText);
}

TEST_F(W3cBaggageTest, CarriersFromCallablesAndOpenTelemetryShapedClasses) {
  std::map<std::string, std::string> store = {{"baggage", "a=1"}};
  auto carrier = header_carrier(
      [&](std::string_view k) -> std::string {  // a temporary, as some frameworks return
        auto it = store.find(std::string(k));
        return it == store.end() ? "" : it->second;
      },
      [&](std::string_view k, std::string_view v) { store[std::string(k)] = std::string(v); });
  (void)baggage::exchange(baggage::decode(kText));
  EXPECT_TRUE(baggage::inject(carrier));
  EXPECT_EQ(store.at("baggage"), "a=1," + member());

  struct OtelStyle {  // Get/Set as opentelemetry::context::propagation::TextMapCarrier
    std::string value;
    std::string_view Get(std::string_view) const noexcept { return value; }
    void Set(std::string_view, std::string_view v) noexcept { value = std::string(v); }
  };
  const OtelStyle incoming{"x=y," + member()};
  EXPECT_EQ(baggage::encode(baggage::extract(incoming)), kText);
  EXPECT_EQ(
      baggage::encode(baggage::extract(header_getter([&](std::string_view) { return incoming.value; }))),
      kText);
}

// docs/baggage.md's table of what inject does, row by row (B is kText).
TEST_F(W3cBaggageTest, DocsInteropTable) {
  struct Row {
    bool has_header;
    std::string before;
    bool has_baggage;
    bool has_header_after;
    std::string after;
  };
  const std::string b(kText);
  const Row rows[] = {
      {false, "", false, false, ""},
      {true, "userId=alice", false, true, "userId=alice"},
      {false, "", true, true, "pivot=" + b},
      {true, "userId=alice ,isProduction=false", true, true, "userId=alice,isProduction=false,pivot=" + b},
      {true, "a=1, pivot=old;p=1 ,b=2", true, true, "a=1,pivot=" + b + ",b=2"},
      {true, "a=1, pivot=old", false, true, "a=1"},
  };
  for (const Row& r : rows) {
    baggage::Scope scope(r.has_baggage ? baggage::decode(kText) : Baggage());
    std::map<std::string, std::string> headers;
    if (r.has_header) headers["baggage"] = r.before;
    EXPECT_TRUE(baggage::inject(headers));
    EXPECT_EQ(headers.count("baggage"), r.has_header_after ? 1u : 0u) << r.before;
    if (r.has_header_after) EXPECT_EQ(headers["baggage"], r.after) << r.before;
  }
}

// ---------------------------------------------------------------------------
// Limits.

TEST_F(W3cBaggageTest, TheDefaultCapKeepsPivotsMemberWithin4096Bytes) {
  EXPECT_EQ(baggage::byte_cap(), 3067u);
  // One string of 3052 bytes fills the cap exactly: 2 header bytes, 1 bag
  // count, bag id and entry count 1 each, seq 1, entry id 5, value count 1,
  // and the string's tag and 2-byte length.
  pack(spec(1), {std::string(3052, 's')});
  Baggage full = baggage::fork();
  ASSERT_EQ(full.byte_size(), 3067u);
  EXPECT_FALSE(full.overflowed());
  bool complete = false;
  std::string header = baggage::inject_header("", &complete);
  EXPECT_TRUE(complete);
  EXPECT_EQ(header.size(), 4096u);
  EXPECT_EQ(header.substr(0, 10), "pivot=AgAB");

  pack(spec(1), {"one more"});  // past the cap: dropped and marked, as ever
  EXPECT_TRUE(baggage::fork().overflowed());
  EXPECT_EQ(baggage::inject_header("").size(), 4096u);
}

TEST_F(W3cBaggageTest, AMemberTooBigForTheHeaderDropsTheLatestTuplesAndIsMarked) {
  const std::string others = "k=" + std::string(8000, 'v');  // leaves 8192 - 8001 bytes
  for (int i = 0; i < 5; ++i) pack(spec(1), {std::string(40, static_cast<char>('a' + i))});
  bool complete = true;
  std::string header = baggage::inject_header(others, &complete);
  EXPECT_FALSE(complete);
  EXPECT_LE(header.size(), kW3cMaxHeaderBytes);
  ASSERT_EQ(header.substr(0, others.size() + 1), others + ",");
  // 183 characters hold 137 bytes: the 5-byte header and two 49-byte tuples.
  Baggage sent = baggage::extract_header(header);
  EXPECT_TRUE(sent.overflowed());
  EXPECT_EQ(sent.byte_size(), 5u + 2 * 49);
  baggage::Scope scope(std::move(sent));
  EXPECT_EQ(unpacked(spec(1)), "[\"" + std::string(40, 'a') + "\"] [\"" + std::string(40, 'b') + "\"]");
}

TEST_F(W3cBaggageTest, NoRoomForEvenTheOverflowMarkLeavesPivotOut) {
  pack(spec(1), {"x"});
  const std::string full = "k=" + std::string(8186, 'v');  // 8188 bytes: "," + "pivot=" does not fit
  bool complete = true;
  EXPECT_EQ(baggage::inject_header(full + ",pivot=old", &complete), full);
  EXPECT_FALSE(complete);
}

TEST_F(W3cBaggageTest, The180thMemberIsTheLastThatFits) {
  pack(spec(1), {"x"});
  std::string members;
  for (int i = 0; i < 179; ++i) members += (i ? "," : "") + ("k" + std::to_string(i) + "=1");
  bool complete = false;
  std::string header = baggage::inject_header(members, &complete);
  EXPECT_TRUE(complete);
  EXPECT_EQ(header.substr(0, members.size() + 7), members + ",pivot=");

  members += ",k179=1";
  EXPECT_EQ(baggage::inject_header(members, &complete), members);
  EXPECT_FALSE(complete);
}

// ---------------------------------------------------------------------------
// The scanner itself.

TEST(W3cHeaderTest, MembersKeysValuesAndProperties) {
  std::string_view h = " a = 1 ;p=2, ,b,\tc=;x , d=%20 ";
  size_t pos = 0;
  HeaderMember m;
  std::string seen;
  while (next_member(h, pos, m)) {
    seen += "[" + std::string(m.text) + "|" + std::string(m.key) + "|" + std::string(m.value) + "|" +
            (m.has_value ? "=" : "-") + "]";
  }
  EXPECT_EQ(seen, "[a = 1 ;p=2|a|1|=][b|b||-][c=;x|c||=][d=%20|d|%20|=]");
}

TEST(W3cHeaderTest, PercentDecoding) {
  std::string out;
  size_t bad = 99;
  EXPECT_TRUE(percent_decode("a%20b%2c%2C", out, &bad));
  EXPECT_EQ(out, "a b,,");
  EXPECT_FALSE(percent_decode("ab%2", out, &bad));
  EXPECT_EQ(bad, 2u);
  EXPECT_FALSE(percent_decode("%", out, &bad));
  EXPECT_EQ(bad, 0u);
}

}  // namespace
}  // namespace pivot::internal
