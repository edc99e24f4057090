// debuginfo_subject.inc as the service program's code (debuginfo_service.cc).
#define DEBUGINFO_NS svc
#include "debuginfo_subject.inc"
