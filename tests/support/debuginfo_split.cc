// debuginfo_subject.inc as the split build (tests/CMakeLists.txt says how it is compiled).
#define DEBUGINFO_NS dbg_split
#include "debuginfo_subject.inc"
