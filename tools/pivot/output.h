// How `pivot query` prints each interval: a live table on a terminal, one
// JSON object per line, or CSV.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "frontend/columns.h"
#include "frontend/frontend.h"

namespace pivot::cli {

enum class Format { kTable, kJson, kCsv };

// {"time":..., "agents":N, "incomplete":B, "dropped":N, "interval":TABLE,
//  "total":TABLE, "lost":N, "events":[...], "final":BOOL}: incomplete and
// dropped are the total's, on every line; `lost` counts the agents' reports
// known to be missing since the previous line (the results have a gap),
// `events` says what happened to agents and the transport (also on stderr),
// and only the last line, the final answer, has "final":true.
std::string json_line(const frontend::Snapshot& s);
// The total as a table, with a header saying when and from how many agents.
std::string table_view(const frontend::Snapshot& s, const std::string& query_label, bool final);
// The live view on a terminal: table_view with, until the final answer,
// each COUNT and SUM column followed by its rate per second over the last
// interval; then the latest warnings, so that redrawing does not wipe them.
std::string live_view(const frontend::Snapshot& s, const std::vector<frontend::Column>& columns,
                      int64_t interval_ms, const std::deque<std::string>& warnings);
// CSV that streams: the header with a leading `time` column, then each
// interval's own rows with its time (ms since the epoch).
std::string csv_header(const ResultTable& t);
std::string csv_rows(const frontend::Snapshot& s);

// `pivot functions`: the agents' answers grouped by program (processes of
// one program that listed the same functions are one group). As JSON:
// {"programs": [{"program", "processes": [{pid, procName, host}], "functions",
// "more", "note"?}], "errors": ["agent 12 (x): why", ...]}; as text, one
// block per function with its parameters, what `ret` reads, whether it can
// be hooked, and its clones.
wire::Json functions_json(const std::vector<frontend::Link::Answer>& answers);
std::string functions_text(const wire::Json& grouped);

}  // namespace pivot::cli
