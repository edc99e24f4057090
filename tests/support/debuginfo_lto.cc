// debuginfo_subject.inc as the lto build (tests/CMakeLists.txt says how it is compiled).
#define DEBUGINFO_NS dbg_lto
#include "debuginfo_subject.inc"
