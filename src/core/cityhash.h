// CityHash64, version 1.0.3 exactly: the hash RTBkit linked to decide which
// trace ids are sampled (design section 7), so pivot::Trace<T> samples the
// same ids RTBkit did.
//
//   uint64_t h = pivot::CityHash64("abc");  // 4220206313085259313
//
// Version matters: CityHash v1.1 changed the algorithm for inputs of 1 to 64
// bytes (and v1.0.2 and earlier differ for inputs over 64 bytes), so a hash
// from a newer or older cityhash library does not match these values. The
// bytes are read little-endian whatever the host order, as on the x86-64
// machines RTBkit ran on. Not a cryptographic hash.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pivot {

uint64_t CityHash64(const char* s, size_t len) noexcept;

inline uint64_t CityHash64(std::string_view s) noexcept { return CityHash64(s.data(), s.size()); }

}  // namespace pivot
