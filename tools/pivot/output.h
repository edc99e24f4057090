// How `pivot query` prints each interval: a live table on a terminal, one
// JSON object per line, or CSV.
#pragma once

#include <string>

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

// `pivot functions`: the agents' answers grouped by program (processes of
// one program that listed the same functions are one group). As JSON:
// {"programs": [{"program", "processes": [{pid, procName, host}], "functions",
// "more", "note"?}], "errors": ["agent 12 (x): why", ...]}; as text, one
// block per function with its parameters, what `ret` reads, whether it can
// be hooked, and its clones.
wire::Json functions_json(const std::vector<frontend::Link::Answer>& answers);
std::string functions_text(const wire::Json& grouped);

}  // namespace pivot::cli
