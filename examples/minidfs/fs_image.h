// The minidfs file system image: which files exist, their blocks, and which
// datanodes hold each file's replicas. It is a pure function of the options
// (seed and sizes), so the namenode, every datanode and the tests compute
// the same image without talking to each other.
//
//   minidfs::FsImage image = minidfs::FsImage::generate({.seed = 42, .datanodes = 3});
//   const minidfs::FileInfo* f = image.find("/data/file-03");
//   f->blocks[0].id, f->blocks[0].length, f->replicas;   // replicas: "dn2", "dn1", ...
//
// Simplification against HDFS: all blocks of a file live on the same
// replica set, so GetBlockLocations returns one replica list per file.
// Block contents are generated from (block id, offset) by block_bytes(), so
// datanodes can serve and clients can verify any byte range.
//
// Thread safety: an FsImage is immutable after generate().
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace minidfs {

// The namenode's host export (PIVOT_HOST); datanodes are datanode_host(i).
inline constexpr std::string_view kNameNodeHost = "nn";

// splitmix64: a tiny, portable, seeded generator (the standard library's
// distributions differ between implementations; these numbers do not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform in [0, n); n > 0.
  uint64_t below(uint64_t n) { return next() % n; }

 private:
  uint64_t state_;
};

// Mixes values into a seed (for per-client or per-request generators).
uint64_t mix_seed(uint64_t seed, std::string_view text, uint64_t number = 0);

struct BlockInfo {
  int64_t id = 0;
  int64_t length = 0;
};

struct FileInfo {
  std::string path;
  std::vector<BlockInfo> blocks;
  std::vector<std::string> replicas;  // datanode hosts, in placement order
};

struct FsImageOptions {
  uint64_t seed = 1;
  int files = 12;
  int datanodes = 3;
  int replication = 3;  // capped at datanodes
  int64_t block_size = 64 * 1024;
  int max_blocks = 4;
};

class FsImage {
 public:
  static FsImage generate(const FsImageOptions& options);

  const std::vector<FileInfo>& files() const { return files_; }
  const FileInfo* find(std::string_view path) const;
  // The file a block belongs to, or null.
  const FileInfo* file_of_block(int64_t block) const;
  const FsImageOptions& options() const { return options_; }

 private:
  FsImageOptions options_;
  std::vector<FileInfo> files_;
  std::map<int64_t, size_t> block_file_;
};

// "dn1", "dn2", ...: the host of the datanode with 1-based index i.
std::string datanode_host(int index);
// The 1-based index of a datanode host, or 0 when it is not one.
int datanode_index(std::string_view host);

// Writes n bytes of block `block` starting at `offset` into out.
void block_bytes(int64_t block, int64_t offset, char* out, size_t n);

}  // namespace minidfs
