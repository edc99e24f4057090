#include "serve/query_spec.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

namespace pivot::serve {
namespace {

TEST(QuerySpec, FromJsonTakesDefaultsAndRefusesBadFields) {
  auto s = spec_from_json(wire::Json::parse(R"({"name":"seed","text":"From r In A Select COUNT"})"));
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->interval_ms, 1000);
  EXPECT_EQ(s->max_groups, aggregate::kDefaultMaxGroups);
  EXPECT_FALSE(s->paused);
  EXPECT_EQ(spec_from_json(wire::Json::parse(R"({"name":3,"text":"x"})")).error().message(),
            "\"name\" must be a string");
  EXPECT_EQ(spec_from_json(wire::Json::parse(R"({"name":"a/b","text":"x"})")).error().message(),
            "a query name is 1 to 64 letters, digits, '_', '.' or '-', starting with a letter, digit or '_'");
  EXPECT_EQ(spec_from_json(wire::Json::parse(R"({"name":"a","text":""})")).error().message(),
            "the query text is empty");
  EXPECT_EQ(spec_from_json(wire::Json::parse(R"({"name":"a","text":"x","interval_ms":5})")).error().message(),
            "interval_ms must be 10 to 3600000");
  EXPECT_EQ(spec_from_json(wire::Json::parse(R"({"name":"a","text":"x","max_groups":-1})")).error().message(),
            "max_groups must be 1 to 10000000");
  EXPECT_EQ(spec_from_json(wire::Json::parse(R"([1])")).error().message(), "a query is a JSON object");
}

TEST(QuerySpec, StateFileRoundTripsPrivately) {
  std::string path = ::testing::TempDir() + "/pivot-state-" + std::to_string(getpid()) + ".json";
  std::remove(path.c_str());
  auto none = load_state(path);
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_TRUE(none->empty());
  QuerySpec a{"a", "From r In A\nSelect COUNT", 200, 50, "", true};
  QuerySpec b{"b.2", "x = From r In A Select r.v\nFrom y In x Select COUNT", 1000, 10000, "x", false};
  ASSERT_TRUE(save_state(path, {a, b}));
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = load_state(path);
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ(to_json((*back)[0]), to_json(a));
  EXPECT_EQ(to_json((*back)[1]), to_json(b));
  std::ofstream(path) << "{\"queries\":[{\"name\":\"\"}]}";
  EXPECT_FALSE(load_state(path));
  std::ofstream(path) << "not json";
  EXPECT_EQ(load_state(path).error().message(),
            "the state file " + path + " is not a pivot serve state file");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace pivot::serve
