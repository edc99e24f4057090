// `pivot functions` on the demo: what a user types before defining a
// tracepoint on a datanode, answered from the running cluster's debug
// information (the examples are built with -g): every function of
// minidfs::DataNode with its parameters' names, types and registers, and
// whether it can be hooked.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/subprocess.h"

namespace {

using Json = nlohmann::json;
using pivot::testing::Subprocess;

bool wait_for_file(const std::string& path, int timeout_ms) {
  struct stat st;
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (stat(path.c_str(), &st) == 0) return true;
    usleep(50'000);
  }
  return false;
}

const Json* find_function(const Json& functions, const std::string& prefix) {
  for (const Json& f : functions) {
    if (f["signature"].get<std::string>().starts_with(prefix)) return &f;
  }
  return nullptr;
}

Json param(const char* name, const char* type, const char* where) {
  return {{"name", name}, {"type", type}, {"where", where}, {"readable", true}};
}

TEST(MinidfsFunctions, ListsTheDataNodesFunctionsWithParameterNames) {
  std::string dir = "/tmp/pivot-minidfs-functions-" + std::to_string(getpid());
  ASSERT_EQ(system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()), 0);
  std::string runtime = dir + "/agents";
  Subprocess cluster({MINIDFS_BIN, "cluster", "--datanodes", "1", "--clients", "0", "--stay", "--runtime-dir",
                      runtime, "--ready-file", dir + "/ready", "--run-dir", dir + "/run"});
  ASSERT_TRUE(wait_for_file(dir + "/ready", 30'000)) << "the cluster did not start";

  Subprocess cli(
      {PIVOT_CLI, "--runtime-dir", runtime, "functions", "--format", "json", "minidfs::DataNode::*"});
  std::string out;
  for (const std::string& l : cli.rest(60'000)) out += l;
  ASSERT_EQ(cli.wait(), 0) << out;
  Json listing = Json::parse(out);
  ASSERT_EQ(listing["errors"], Json::array()) << out;
  // The namenode and the datanode are one program: one listing for both.
  ASSERT_EQ(listing["programs"].size(), 1u) << out;
  const Json& program = listing["programs"][0];
  EXPECT_EQ(program["program"], MINIDFS_BIN);
  EXPECT_EQ(program["processes"].size(), 2u);
  const Json& functions = program["functions"];

  const Json* send = find_function(functions, "minidfs::DataNode::send_block(");
  ASSERT_NE(send, nullptr) << out;
  EXPECT_EQ((*send)["signature"], "minidfs::DataNode::send_block(minidfs::Connection&, long, long, long)");
  EXPECT_EQ((*send)["debug_info"], true);
  EXPECT_EQ((*send)["member"], true);
  EXPECT_EQ((*send)["hookable"], true) << (*send)["why_not"];
  EXPECT_EQ(
      (*send)["params"],
      (Json{param("this", "minidfs::DataNode*", "rdi"), param("conn", "minidfs::Connection&", "rsi"),
            param("block", "long", "rdx"), param("offset", "long", "rcx"), param("length", "long", "r8")}));
  EXPECT_EQ((*send)["returns"], "int64_t, from rax");

  // A const member returning a std::string: `this` after the hidden pointer.
  const Json* check = find_function(functions, "minidfs::DataNode::check_read[abi:cxx11](");
  ASSERT_NE(check, nullptr) << out;
  EXPECT_EQ((*check)["params"],
            (Json{param("this", "minidfs::DataNode const*", "rsi"),
                  param("request", "minidfs::Frame const&", "rdx"), param("block", "long&", "rcx"),
                  param("offset", "long&", "r8"), param("length", "long&", "r9")}));
  EXPECT_EQ((*check)["returns"], "std::string, through rax");

  for (const char* name :
       {"minidfs::DataNode::handle(", "minidfs::DataNode::read_block(", "minidfs::DataNode::start(",
        "minidfs::DataNode::stop(", "minidfs::DataNode::stats("}) {
    const Json* f = find_function(functions, name);
    ASSERT_NE(f, nullptr) << name << " is not listed: " << out;
    EXPECT_EQ((*f)["params"][0]["name"], "this") << name;
  }
  EXPECT_EQ(find_function(functions, "minidfs::DataNode::handle(")->at("params")[1]["name"], "conn");
  EXPECT_EQ(find_function(functions, "minidfs::DataNode::handle(")->at("params")[2]["name"], "request");

  cluster.signal(SIGTERM);
  EXPECT_EQ(cluster.wait(), 0);
  (void)!system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
