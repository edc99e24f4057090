// The binary and text (base64url) forms of a baggage; docs/baggage.md
// describes the bytes. Errors read "baggage: <what> at byte <offset>", the
// offset counting bytes of the binary form.
//
// Thread safety: pure functions.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "baggage/bag_data.h"
#include "pivot/result.h"

namespace pivot::internal {

// Appends d's binary encoding (exactly d.bytes() bytes) to `out`. Entries
// are written as shared: whoever decodes them holds a copy.
void write_binary(const BagData& d, std::string& out);
// The same into a buffer of at least d.bytes() bytes; returns the end.
char* write_binary_to(const BagData& d, char* out) noexcept;
// base64url of the binary encoding, without padding, replacing `out`'s
// contents and reusing its capacity.
void write_text(const BagData& d, std::string& out);
// d's kept binary encoding, made now if it is not and the caller is the
// sole holder (others may be reading d); null when it does not fit
// (KeptEncoding) or others hold d. In debug builds, asserts that a kept
// encoding is d's encoding: every change of a BagData must go through
// own(), which forgets it.
const KeptEncoding* kept_encoding(const BagData& d) noexcept;

// Parses a binary encoding, version 2 or 1, into `out` (null for the empty
// baggage); a version 1 baggage is sized as the version 2 it re-encodes to.
// A valid baggage larger than `cap` loses its latest entries and is marked
// overflowed. On bad input returns false, leaving `out` null, and sets
// *error if `error` is not null (building no message otherwise).
bool read_binary(std::string_view bytes, size_t cap, BagPtr& out, Error* error);
// The same for text; surrounding whitespace is ignored.
bool read_text(std::string_view text, size_t cap, BagPtr& out, Error* error);

}  // namespace pivot::internal
