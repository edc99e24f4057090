// How serve reaches the agents: a new Link (frontend/link.h) for each user
// of one, since a Link belongs to one thread (each managed query's worker,
// the agent discovery).
#pragma once

#include <functional>
#include <memory>

#include "frontend/link.h"
#include "pivot/result.h"

namespace pivot::serve {

using LinkFactory = std::function<Result<std::unique_ptr<frontend::Link>>()>;

}  // namespace pivot::serve
