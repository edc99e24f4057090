#define IPARA_NS ipara_o3
#include "ipara.inc"
