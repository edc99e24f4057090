#include "serve/auth.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace pivot::serve {
namespace {

TEST(Auth, LoopbackAddresses) {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"})
    EXPECT_TRUE(is_loopback(h)) << h;
  for (const char* h : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "example.com", ""}) {
    EXPECT_FALSE(is_loopback(h)) << h;
  }
}

TEST(Auth, BearerTokenMatchesExactly) {
  EXPECT_TRUE(token_matches("Bearer s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("Bearer s3cre", "s3cret"));
  EXPECT_FALSE(token_matches("Bearer s3cret2", "s3cret"));
  EXPECT_FALSE(token_matches("Bearer S3cret", "s3cret"));
  EXPECT_FALSE(token_matches("s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("Basic s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("", "s3cret"));
  EXPECT_FALSE(token_matches("Bearer ", ""));  // no token set: nothing matches
}

TEST(Auth, TokenFromFileOrEnvironment) {
  std::string path = ::testing::TempDir() + "/pivot-token-" + std::to_string(getpid());
  std::ofstream(path) << "  t0ken\n";
  auto from_file = load_token(path);
  ASSERT_TRUE(from_file) << from_file.error().message();
  EXPECT_EQ(*from_file, "t0ken");
  std::ofstream(path) << "\n";
  EXPECT_FALSE(load_token(path));
  EXPECT_FALSE(load_token(path + ".missing"));
  setenv("PIVOT_TOKEN", "envtoken", 1);
  EXPECT_EQ(*load_token(""), "envtoken");
  unsetenv("PIVOT_TOKEN");
  EXPECT_EQ(*load_token(""), "");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace pivot::serve
