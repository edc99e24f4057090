// Ground truth: a hand-written run and the exact table every paper query
// must give for it, worked out by hand in the comments.
#include "truth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pivot/session.h"

namespace minidfs::truth {
namespace {

namespace fs = std::filesystem;

// Four clients. client3 did nothing; client4 is a second MapReduce.
//   client1 MapReduce  op0 read  /f1 offered [dn2,dn1,dn3]: dn2 100 bytes, dn1 50
//                      op1 pread /f2 offered [dn3,dn1]:     dn3 10
//   client2 HBase      op0 read  /f1 offered [dn1,dn2,dn3]: dn1 100, dn1 50
//   client3 FSread     (no ops)
//   client4 MapReduce  op0 pread /f2 offered [dn1,dn3]:     dn1 7
const char* kRecords[] = {
    R"j({"format":"minidfs-truth/1","index":1,"host":"client1","procName":"MapReduce","seed":9,"complete":true,
        "error":"","ops":[
        {"seq":0,"op":"read","src":"/f1","replicas":["dn2","dn1","dn3"],"reads":[
          {"block":11,"datanode":"dn2","offset":0,"length":100,"bytes":100},
          {"block":12,"datanode":"dn1","offset":0,"length":50,"bytes":50}]},
        {"seq":1,"op":"pread","src":"/f2","replicas":["dn3","dn1"],"reads":[
          {"block":21,"datanode":"dn3","offset":5,"length":10,"bytes":10}]}]})j",
    R"j({"format":"minidfs-truth/1","index":2,"host":"client2","procName":"HBase","seed":9,"complete":true,
        "error":"","ops":[
        {"seq":0,"op":"read","src":"/f1","replicas":["dn1","dn2","dn3"],"reads":[
          {"block":11,"datanode":"dn1","offset":0,"length":100,"bytes":100},
          {"block":12,"datanode":"dn1","offset":0,"length":50,"bytes":50}]}]})j",
    R"j({"format":"minidfs-truth/1","index":3,"host":"client3","procName":"FSread","seed":9,"complete":true,
        "error":"","ops":[]})j",
    R"j({"format":"minidfs-truth/1","index":4,"host":"client4","procName":"MapReduce","seed":9,"complete":true,
        "error":"","ops":[
        {"seq":0,"op":"pread","src":"/f2","replicas":["dn1","dn3"],"reads":[
          {"block":21,"datanode":"dn1","offset":0,"length":7,"bytes":7}]}]})j",
};

class TruthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("minidfs-truth-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Written in an order unlike the index order, with a stray temp file.
    for (int i : {2, 0, 3, 1}) write("client" + std::to_string(i + 1) + ".json", kRecords[i]);
    write(".client9.json.tmp", "garbage");
    auto r = load_dir(dir_.string());
    ASSERT_TRUE(r) << r.error().message();
    records_ = std::move(*r);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }

  std::string answer(const std::string& id) {
    auto t = expected(records_, id);
    EXPECT_TRUE(t) << t.error().message();
    return t ? t->to_json() : "";
  }

  fs::path dir_;
  std::vector<ClientRecord> records_;
};

TEST_F(TruthTest, LoadsEveryClientInIndexOrder) {
  ASSERT_EQ(records_.size(), 4u);
  EXPECT_EQ(records_[0].host, "client1");
  EXPECT_EQ(records_[3].proc_name, "MapReduce");
  EXPECT_EQ(records_[0].ops[0].replicas, (std::vector<std::string>{"dn2", "dn1", "dn3"}));
  EXPECT_EQ(records_[0].ops[1].reads[0].offset, 5);
}

// Bytes per datanode: dn1 50+100+50+7, dn2 100, dn3 10.
TEST_F(TruthTest, Q1) {
  EXPECT_EQ(answer("Q1"),
            R"j({"columns":["incr.host","SUM(incr.delta)"],"rows":[["dn1",207],["dn2",100],["dn3",10]]})j");
}

// Bytes per client application: MapReduce 100+50+10+7, HBase 100+50. FSread
// read nothing, so it has no row.
TEST_F(TruthTest, Q2) {
  EXPECT_EQ(answer("Q2"),
            R"j({"columns":["cl.procName","SUM(incr.delta)"],"rows":[["HBase",150],["MapReduce",167]]})j");
}

TEST_F(TruthTest, Q3) {
  EXPECT_EQ(answer("Q3"), R"j({"columns":["dnop.host","COUNT"],"rows":[["dn1",4],["dn2",1],["dn3",1]]})j");
}

TEST_F(TruthTest, Q4) {
  EXPECT_EQ(
      answer("Q4"),
      R"j({"columns":["st.host","getloc.src","COUNT"],"rows":[["client1","/f1",1],["client1","/f2",1],)j"
      R"j(["client2","/f1",1],["client4","/f2",1]]})j");
}

// One row per (client, replica offered): client1 was offered dn1 twice, dn2
// once, dn3 twice.
TEST_F(TruthTest, Q5) {
  EXPECT_EQ(
      answer("Q5"),
      R"j({"columns":["st.host","getloc.replicas","COUNT"],"rows":[["client1","dn1",2],["client1","dn2",1],)j"
      R"j(["client1","dn3",2],["client2","dn1",1],["client2","dn2",1],["client2","dn3",1],)j"
      R"j(["client4","dn1",1],["client4","dn3",1]]})j");
}

TEST_F(TruthTest, Q6) {
  EXPECT_EQ(answer("Q6"),
            R"j({"columns":["st.host","DNop.host","COUNT"],"rows":[["client1","dn1",1],["client1","dn2",1],)j"
            R"j(["client1","dn3",1],["client2","dn1",2],["client4","dn1",1]]})j");
}

// Each read counts once per replica its op was offered:
//   (dn1,dn1) 1 (client1) + 2 (client2) + 1 (client4)   (dn1,dn2) 1 + 2
//   (dn1,dn3) 1 + 2 + 1   (dn2,*) 1 each for dn1 dn2 dn3   (dn3,dn1) 1  (dn3,dn3) 1
TEST_F(TruthTest, Q7) {
  EXPECT_EQ(
      answer("Q7"),
      R"j({"columns":["DNop.host","getloc.replicas","COUNT"],"rows":[["dn1","dn1",4],["dn1","dn2",3],)j"
      R"j(["dn1","dn3",4],["dn2","dn1",1],["dn2","dn2",1],["dn2","dn3",1],["dn3","dn1",1],["dn3","dn3",1]]})j");
}

TEST_F(TruthTest, Q8) {
  EXPECT_EQ(
      answer("Q8"),
      R"j({"columns":["incr.host","getloc.src","SUM(incr.delta)"],"rows":[["dn1","/f1",200],["dn1","/f2",7],)j"
      R"j(["dn2","/f1",100],["dn3","/f2",10]]})j");
}

TEST_F(TruthTest, ReceiveRequestAndLatencyRows) {
  EXPECT_EQ(answer("rr"),
            R"j({"columns":["r.host","r.op","COUNT"],"rows":[["dn1","ReadBlock",4],["dn2","ReadBlock",1],)j"
            R"j(["dn3","ReadBlock",1],["nn","GetBlockLocations",4]]})j");
  EXPECT_EQ(rpc_count(records_), 4 + 6);
}

// Q7's filter: a read from a datanode on the client's own host is local.
TEST(TruthQ7, LocalReadsAreFilteredOut) {
  ClientRecord c{.index = 1, .host = "dn1", .proc_name = "HBase"};
  c.ops.push_back({0, "read", "/f", {"dn1", "dn2"}, {{1, "dn1", 0, 5, 5}, {2, "dn2", 0, 5, 5}}});
  auto t = expected({c}, "Q7");
  ASSERT_TRUE(t);
  EXPECT_EQ(
      t->to_json(),
      R"j({"columns":["DNop.host","getloc.replicas","COUNT"],"rows":[["dn2","dn1",1],["dn2","dn2",1]]})j");
}

TEST_F(TruthTest, Summary) {
  nlohmann::json s = summary(records_);
  EXPECT_EQ(s["ops"], 4);
  EXPECT_EQ(s["reads"], 6);
  EXPECT_EQ(s["bytes"], 317);
  EXPECT_EQ(s["datanodes"]["dn1"]["bytes"], 207);
  EXPECT_EQ(s["datanodes"]["dn1"]["bytes_by_src"]["/f2"], 7);
  EXPECT_EQ(s["clients"]["client3"]["ops"], 0);
}

TEST_F(TruthTest, FileRoundTrip) {
  std::string path = (dir_ / "copy.json").string();
  ASSERT_TRUE(write_file(records_[0], path).ok());
  auto back = read_file(path);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(to_json(*back), to_json(records_[0]));
}

TEST_F(TruthTest, BadFilesAreErrors) {
  write("client5.json", R"j({"format":"minidfs-truth/1","index":5})j");
  auto r = load_dir(dir_.string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("missing \"host\""), std::string::npos) << r.error().message();
  write("client5.json", "{not json");
  EXPECT_FALSE(load_dir(dir_.string()));
  write("client5.json", R"j({"format":"minidfs-truth/1","index":"five","host":"c","procName":"p","seed":1,
                            "complete":true,"error":"","ops":[]})j");
  EXPECT_FALSE(load_dir(dir_.string()));
  EXPECT_FALSE(load_dir((dir_ / "missing").string()));
}

TEST_F(TruthTest, IncompleteRecordsNeedConsent) {
  ClientRecord c = records_[1];
  c.index = 5;
  c.complete = false;
  c.error = "op 1: connection refused";
  ASSERT_TRUE(write_file(c, (dir_ / "client5.json").string()).ok());
  auto strict = load_dir(dir_.string());
  ASSERT_FALSE(strict);
  EXPECT_NE(strict.error().message().find("connection refused"), std::string::npos);
  auto lenient = load_dir(dir_.string(), /*allow_incomplete=*/true);
  ASSERT_TRUE(lenient);
  EXPECT_EQ(lenient->size(), 5u);
}

TEST(TruthQueries, UnknownIdsAndTexts) {
  EXPECT_FALSE(expected({}, "Q9"));
  EXPECT_NE(query_text("Q0").error().message().find("known: Q1, Q2"), std::string::npos);
  EXPECT_EQ(*query_text("q1"),
            "From incr In DataNodeMetrics.incrBytesRead GroupBy incr.host Select incr.host, SUM(incr.delta)");
  auto empty = expected({}, "Q2");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->to_json(), R"j({"columns":["cl.procName","SUM(incr.delta)"],"rows":[]})j");
}

// The examples of docs/minidfs.md: ```json truth-record blocks are
// records, and ```json Qn blocks are the answers for the record before them.
TEST(TruthDocs, ExamplesOfTheMinidfsPageHold) {
  std::ifstream in(std::string(PIVOT_SOURCE_DIR) + "/docs/minidfs.md");
  ASSERT_TRUE(in.good());
  std::vector<std::pair<std::string, std::string>> blocks;  // (info, text)
  bool open = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("```", 0) == 0) {
      if (!open) blocks.emplace_back(line.substr(3), "");
      open = !open;
    } else if (open) {
      blocks.back().second += line + "\n";
    }
  }
  std::vector<ClientRecord> records;
  int answers = 0;
  for (const auto& [info, text] : blocks) {
    if (info == "json truth-record") {
      auto r = from_json(nlohmann::json::parse(text));
      ASSERT_TRUE(r) << r.error().message();
      records = {*r};
    } else if (info.rfind("json Q", 0) == 0) {
      auto t = expected(records, info.substr(5));
      ASSERT_TRUE(t) << info;
      EXPECT_EQ(t->to_json() + "\n", text) << info;
      ++answers;
    }
  }
  EXPECT_FALSE(records.empty());
  EXPECT_GE(answers, 2);
}

// The column names are the ones pivot itself gives each query: install every
// query in an in-process session (this binary contains minidfs's sites).
TEST(TruthQueries, ColumnsMatchPivot) {
  pivot::Session session;
  for (const std::string& id : query_ids()) {
    auto q = session.install(*query_text(id));
    ASSERT_TRUE(q) << id << ": " << q.error().message();
    EXPECT_EQ(session.results(*q).columns, expected({}, id)->columns) << id;
    EXPECT_TRUE(session.uninstall(*q).ok());
  }
}

}  // namespace
}  // namespace minidfs::truth
