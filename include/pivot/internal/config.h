// What every public header needs first: the language check. Not public API.
//
// pivot's headers use C++20 (concepts, __VA_OPT__, constinit,
// [[likely]]). The build of pivot itself and its CMake package ask for at
// least C++20 (a consumer may pick a later standard); the pkg-config file
// leaves the flag to the consumer, so an earlier standard is reported here
// rather than as a page of unrelated errors.
#pragma once

#if __cplusplus < 202002L
#error "pivot's headers need C++20 or later: compile with -std=c++20 (or -std=gnu++20, c++23, ...)"
#endif
