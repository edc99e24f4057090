// Installs the NATS transport when libpivot_nats is loaded.
//
// Nothing in libpivot refers to this component, so a static libpivot_nats.a
// would contribute nothing to a link. pivot::nats (CMake) and pivot-nats
// (pkg-config) therefore link with --undefined=pivot_nats_transport: the
// linker takes this object for the symbol, and with it the initializer
// below. A shared libpivot_nats.so runs it when loaded; a linker that drops
// unneeded shared libraries (--as-needed) must be told to keep it, which
// they do as well (--no-as-needed).
#include "nats/component.h"

extern "C" {
extern const int pivot_nats_transport;
const int pivot_nats_transport = 1;
}

namespace {

const bool g_registered = [] {
  pivot::agent::set_nats_server_factory(&pivot::agent::make_nats_server);
  pivot::frontend::set_nats_link_factory(&pivot::frontend::make_nats_link);
  return true;
}();

}  // namespace
