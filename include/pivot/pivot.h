// pivot: Pivot Tracing for C++. The umbrella header.
//
//   #include <pivot/pivot.h>
//
//   PIVOT_TRACEPOINT("DataNodeMetrics.incrBytesRead", delta);   // tracepoint.h
//   pivot::baggage::Scope scope(pivot::baggage::extract(headers)); // baggage.h, carrier.h
//   pivot::trace_context::inject(headers);                       // trace_context.h
//   pivot::Session session;                                      // session.h
//   pivot::Agent::start();                                       // agent.h
//   pivot::Trace<Request> span(request, "serve");                // trace.h
//
// See README.md for a tour and docs/ for the query language and tutorial.
#pragma once

#include "pivot/agent.h"
#include "pivot/baggage.h"
#include "pivot/carrier.h"
#include "pivot/otlp.h"
#include "pivot/result.h"
#include "pivot/result_table.h"
#include "pivot/session.h"
#include "pivot/trace.h"
#include "pivot/trace_context.h"
#include "pivot/tracepoint.h"
#include "pivot/value.h"
