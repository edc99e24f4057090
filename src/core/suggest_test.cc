#include "suggest.h"

#include <gtest/gtest.h>

namespace pivot::internal {
namespace {

TEST(SuggestTest, ACaseOnlyDifferenceIsNamedFirstAndAlone) {
  EXPECT_EQ(did_you_mean("procname", {"host", "procId", "procName"}),
            "did you mean 'procName'? (only the case differs)");
  EXPECT_EQ(closest_names("SUM", {"sum", "Sum", "SUMM"}), (std::vector<std::string>{"sum"}));
}

TEST(SuggestTest, TyposWithinTheDistanceForTheLength) {
  EXPECT_EQ(did_you_mean("App.requets", {"App.client", "App.request"}), "did you mean 'App.request'?");
  EXPECT_EQ(did_you_mean("qeury", {"ps", "query", "queries", "explain"}), "did you mean 'query'?");
  EXPECT_EQ(did_you_mean("--fromat", {"--format", "--interval", "--show"}), "did you mean '--format'?");
  EXPECT_EQ(did_you_mean("SUMM", {"COUNT", "SUM", "MIN", "MAX", "AVG"}), "did you mean 'SUM'?");
}

TEST(SuggestTest, TiesAreAllNamedUpToThree) {
  EXPECT_EQ(did_you_mean("pz", {"ps", "pa", "pb", "pc"}), "did you mean 'ps', 'pa' or 'pb'?");
  EXPECT_EQ(did_you_mean("MIX", {"MIN", "MAX"}), "did you mean 'MIN' or 'MAX'?");
}

TEST(SuggestTest, NothingCloseMeansNoSuggestion) {
  EXPECT_EQ(did_you_mean("zzz", {"App.request"}), "");
  EXPECT_EQ(did_you_mean("ab", {"xy"}), "");        // 2 edits in 2 characters is another word
  EXPECT_EQ(did_you_mean("abcd", {"abxy"}), "");    // 2 edits, the limit for 4 characters is 1
  EXPECT_EQ(did_you_mean("query", {"query"}), "");  // the word itself is not a suggestion
  EXPECT_EQ(did_you_mean("x", {}), "");
}

TEST(SuggestTest, ASwapOfNeighboursIsOneEdit) {
  EXPECT_EQ(closest_names("tarcepoints", {"tracepoints", "functions"}),
            (std::vector<std::string>{"tracepoints"}));
  EXPECT_EQ(closest_names("ab", {"ba"}), (std::vector<std::string>{"ba"}));
}

}  // namespace
}  // namespace pivot::internal
