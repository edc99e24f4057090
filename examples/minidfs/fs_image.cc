#include "fs_image.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace minidfs {
namespace {

constexpr int64_t kFirstBlockId = 1073741825;  // HDFS's first block id

uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t Rng::next() { return splitmix(state_); }

uint64_t mix_seed(uint64_t seed, std::string_view text, uint64_t number) {
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;  // FNV-1a over the text, then splitmix
  for (char c : text) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  uint64_t state = h ^ (number * 0x9e3779b97f4a7c15ULL);
  return splitmix(state);
}

FsImage FsImage::generate(const FsImageOptions& options) {
  FsImage image;
  image.options_ = options;
  Rng rng(mix_seed(options.seed, "fsimage"));
  int replication = std::max(1, std::min(options.replication, options.datanodes));
  int64_t next_id = kFirstBlockId;
  for (int i = 0; i < options.files; ++i) {
    FileInfo f;
    char path[32];
    std::snprintf(path, sizeof path, "/data/file-%02d", i);
    f.path = path;
    int blocks = 1 + static_cast<int>(rng.below(static_cast<uint64_t>(std::max(1, options.max_blocks))));
    for (int b = 0; b < blocks; ++b) {
      int64_t length = options.block_size;
      if (b + 1 == blocks)
        length = 1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(options.block_size)));
      image.block_file_[next_id] = image.files_.size();
      f.blocks.push_back({next_id++, length});
    }
    std::vector<int> dns(static_cast<size_t>(options.datanodes));
    for (int d = 0; d < options.datanodes; ++d) dns[d] = d + 1;
    for (size_t k = dns.size(); k > 1; --k) std::swap(dns[k - 1], dns[rng.below(k)]);
    for (int r = 0; r < replication; ++r) f.replicas.push_back(datanode_host(dns[r]));
    image.files_.push_back(std::move(f));
  }
  return image;
}

const FileInfo* FsImage::find(std::string_view path) const {
  for (const FileInfo& f : files_) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

const FileInfo* FsImage::file_of_block(int64_t block) const {
  auto it = block_file_.find(block);
  return it == block_file_.end() ? nullptr : &files_[it->second];
}

std::string datanode_host(int index) { return "dn" + std::to_string(index); }

int datanode_index(std::string_view host) {
  if (host.size() < 3 || host.substr(0, 2) != "dn") return 0;
  int index = 0;
  auto [end, ec] = std::from_chars(host.data() + 2, host.data() + host.size(), index);
  if (ec != std::errc() || end != host.data() + host.size() || index <= 0 || host[2] == '0') return 0;
  return index;
}

void block_bytes(int64_t block, int64_t offset, char* out, size_t n) {
  // Byte k of a block is byte (k % 8) of splitmix(block, k / 8).
  for (size_t i = 0; i < n;) {
    uint64_t word_index = static_cast<uint64_t>(offset + static_cast<int64_t>(i)) / 8;
    uint64_t state = static_cast<uint64_t>(block) * 0x2545f4914f6cdd1dULL + word_index;
    uint64_t word = splitmix(state);
    for (size_t b = static_cast<size_t>(offset + static_cast<int64_t>(i)) % 8; b < 8 && i < n; ++b, ++i) {
      out[i] = static_cast<char>((word >> (8 * b)) & 0xff);
    }
  }
}

}  // namespace minidfs
