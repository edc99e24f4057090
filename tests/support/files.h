// Files that processes under test leave as signals (a cluster's ready and
// done files), for integration tests.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace pivot::testing {

inline bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Whether `path` exists within timeout_ms.
inline bool wait_for_file(const std::string& path, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (exists(path)) return true;
    usleep(50'000);
  }
  return false;
}

}  // namespace pivot::testing
