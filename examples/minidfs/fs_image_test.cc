// The file system image is a pure function of its options, and block
// contents are the same however a range is cut.
#include "fs_image.h"

#include <gtest/gtest.h>

#include <set>

#include "namenode.h"

namespace minidfs {
namespace {

TEST(FsImage, DeterministicFromTheSeed) {
  FsImageOptions o{.seed = 42, .files = 20, .datanodes = 5};
  FsImage a = FsImage::generate(o), b = FsImage::generate(o);
  ASSERT_EQ(a.files().size(), 20u);
  for (size_t i = 0; i < a.files().size(); ++i) {
    EXPECT_EQ(a.files()[i].path, b.files()[i].path);
    EXPECT_EQ(a.files()[i].replicas, b.files()[i].replicas);
    ASSERT_EQ(a.files()[i].blocks.size(), b.files()[i].blocks.size());
    for (size_t k = 0; k < a.files()[i].blocks.size(); ++k) {
      EXPECT_EQ(a.files()[i].blocks[k].id, b.files()[i].blocks[k].id);
      EXPECT_EQ(a.files()[i].blocks[k].length, b.files()[i].blocks[k].length);
    }
  }
  o.seed = 43;
  FsImage c = FsImage::generate(o);
  bool differs = false;
  for (size_t i = 0; i < a.files().size(); ++i)
    differs = differs || a.files()[i].replicas != c.files()[i].replicas;
  EXPECT_TRUE(differs);
}

TEST(FsImage, ShapeOfFilesBlocksAndReplicas) {
  FsImage image =
      FsImage::generate({.seed = 7, .files = 30, .datanodes = 4, .replication = 3, .block_size = 1000});
  std::set<int64_t> ids;
  for (const FileInfo& f : image.files()) {
    EXPECT_EQ(image.find(f.path), &f);
    ASSERT_GE(f.blocks.size(), 1u);
    ASSERT_LE(f.blocks.size(), 4u);
    for (size_t k = 0; k < f.blocks.size(); ++k) {
      EXPECT_TRUE(ids.insert(f.blocks[k].id).second);
      EXPECT_EQ(image.file_of_block(f.blocks[k].id), &f);
      if (k + 1 < f.blocks.size()) {
        EXPECT_EQ(f.blocks[k].length, 1000);
      }
      EXPECT_GE(f.blocks[k].length, 1);
      EXPECT_LE(f.blocks[k].length, 1000);
    }
    ASSERT_EQ(f.replicas.size(), 3u);
    EXPECT_EQ(std::set<std::string>(f.replicas.begin(), f.replicas.end()).size(), 3u);
    for (const auto& r : f.replicas) EXPECT_GE(datanode_index(r), 1);
  }
  EXPECT_EQ(image.find("/nope"), nullptr);
  EXPECT_EQ(image.file_of_block(1), nullptr);
  // Replication is capped at the number of datanodes.
  FsImage small = FsImage::generate({.seed = 7, .files = 3, .datanodes = 2, .replication = 3});
  for (const FileInfo& f : small.files()) EXPECT_EQ(f.replicas.size(), 2u);
}

TEST(FsImage, DatanodeHostNames) {
  EXPECT_EQ(datanode_host(1), "dn1");
  EXPECT_EQ(datanode_index("dn12"), 12);
  for (const char* bad : {"", "dn", "dn0", "dn01", "dnx", "nn", "dn1 ", "client1", "dn-1"}) {
    EXPECT_EQ(datanode_index(bad), 0) << bad;
  }
}

TEST(FsImage, BlockBytesDoNotDependOnHowTheRangeIsCut) {
  std::string whole(1000, '\0');
  block_bytes(1073741825, 0, whole.data(), whole.size());
  for (int64_t offset : {0, 1, 7, 8, 9, 333, 999}) {
    for (size_t n : {size_t{1}, size_t{5}, size_t{8}, size_t{13}}) {
      if (offset + static_cast<int64_t>(n) > 1000) continue;
      std::string part(n, '\0');
      block_bytes(1073741825, offset, part.data(), n);
      EXPECT_EQ(part, whole.substr(static_cast<size_t>(offset), n)) << offset << "+" << n;
    }
  }
  std::string other(1000, '\0');
  block_bytes(1073741826, 0, other.data(), other.size());
  EXPECT_NE(whole, other);
}

TEST(FsImage, NamenodeReplicaOrder) {
  NameNodeOptions o{.image = {.seed = 5, .files = 10, .datanodes = 5}};
  NameNode shuffled(o);
  o.fixed_replica_order = true;
  NameNode fixed(o);
  FsImage image = FsImage::generate(o.image);
  bool some_differ = false;
  for (const FileInfo& f : image.files()) {
    auto order = fixed.replica_order(f, "client1", 0);
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return datanode_index(a) < datanode_index(b);
    }));
    EXPECT_EQ(fixed.replica_order(f, "client2", 9), order);
    auto s1 = shuffled.replica_order(f, "client1", 0);
    EXPECT_EQ(shuffled.replica_order(f, "client1", 0), s1);  // reproducible
    EXPECT_EQ(std::multiset<std::string>(s1.begin(), s1.end()),
              std::multiset<std::string>(order.begin(), order.end()));
    for (uint64_t seq = 1; seq < 5; ++seq)
      some_differ = some_differ || shuffled.replica_order(f, "client1", seq) != s1;
  }
  EXPECT_TRUE(some_differ);
}

}  // namespace
}  // namespace minidfs
