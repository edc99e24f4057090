#define IPARA_NS ipara_o2
#include "ipara.inc"
