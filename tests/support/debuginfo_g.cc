// debuginfo_subject.inc as the g build (tests/CMakeLists.txt says how it is compiled).
#define DEBUGINFO_NS dbg_g
#include "debuginfo_subject.inc"
