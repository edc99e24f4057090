// debuginfo_subject.inc as the plain build (tests/CMakeLists.txt says how it is compiled).
#define DEBUGINFO_NS dbg_plain
#include "debuginfo_subject.inc"
