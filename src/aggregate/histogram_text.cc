#include "aggregate/histogram_text.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

namespace pivot::aggregate {
namespace {

struct Bucket {
  std::optional<int64_t> lo, hi;
  int64_t count = 0;
};

// Reads `"name":` then an integer or null at p; advances p.
bool read_field(const char*& p, const char* name, std::optional<int64_t>& out) {
  size_t n = std::strlen(name);
  if (*p != '"' || std::strncmp(p + 1, name, n) != 0 || p[n + 1] != '"' || p[n + 2] != ':') return false;
  p += n + 3;
  if (std::strncmp(p, "null", 4) == 0) {
    p += 4;
    out.reset();
    return true;
  }
  char* end = nullptr;
  long long v = std::strtoll(p, &end, 10);
  if (end == p) return false;
  out = v;
  p = end;
  return true;
}

std::optional<std::vector<Bucket>> parse(const std::string& text) {
  std::vector<Bucket> out;
  const char* p = text.c_str();
  if (*p++ != '[') return std::nullopt;
  while (*p == '{') {
    ++p;
    Bucket b;
    std::optional<int64_t> count;
    if (!read_field(p, "lo", b.lo) || *p++ != ',' || !read_field(p, "hi", b.hi) || *p++ != ',' ||
        !read_field(p, "count", count) || !count || *p++ != '}') {
      return std::nullopt;
    }
    b.count = *count;
    out.push_back(b);
    if (*p == ',') ++p;
  }
  if (*p != ']') return std::nullopt;
  return out;
}

// 1024 -> "1K", 3145728 -> "3M"; other numbers in decimal.
std::string bound(int64_t v) {
  static const char kSuffix[] = "KMGTPE";
  int power = 0;
  while (v != 0 && v % 1024 == 0 && power < 6) {
    v /= 1024;
    ++power;
  }
  std::string s = std::to_string(v);
  if (power > 0) s += kSuffix[power - 1];
  return s;
}

std::string label(const Bucket& b) {
  if (!b.lo) return "(..., " + (b.hi ? bound(*b.hi) : std::string("...")) + ")";
  if (!b.hi) return "[" + bound(*b.lo) + ", ...)";
  if (*b.hi - *b.lo == 1) return "[" + bound(*b.lo) + "]";
  return "[" + bound(*b.lo) + ", " + bound(*b.hi) + ")";
}

}  // namespace

std::string draw_histogram(const std::string& cell_json, const std::string& indent) {
  auto buckets = parse(cell_json);
  if (!buckets) return indent + cell_json + "\n";
  constexpr int kBarWidth = 52;
  int64_t max = 1;
  size_t label_width = 16;  // bpftrace's, wider when a label needs it
  for (const Bucket& b : *buckets) {
    max = std::max(max, b.count);
    label_width = std::max(label_width, label(b).size() + 1);
  }
  std::string out;
  for (const Bucket& b : *buckets) {
    std::string l = label(b);
    std::string count = std::to_string(b.count);
    auto bar = static_cast<size_t>(static_cast<double>(b.count) / static_cast<double>(max) * kBarWidth);
    out += indent + l + std::string(label_width - l.size(), ' ');
    out += std::string(count.size() < 8 ? 8 - count.size() : 0, ' ') + count;
    out += " |" + std::string(bar, '@') + std::string(kBarWidth - bar, ' ') + "|\n";
  }
  return out;
}

}  // namespace pivot::aggregate
