// The conventions every pivot command follows: exit status 0 (ok), 1 (a
// query or runtime error) or 2 (a usage error); global options before or
// after the command; --version; durations with units; "did you mean" for a
// misspelt command or option.
#pragma once

#include <CLI/CLI.hpp>

namespace pivot::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // the query, an agent, the transport, serve
inline constexpr int kExitUsage = 2;  // the command line

// A duration flag: "500ms", "8s", "2m", "1h", or a bare number in the
// flag's own unit (milliseconds for duration_ms, seconds for duration_s).
CLI::AsNumberWithUnit duration_ms();
CLI::AsNumberWithUnit duration_s();

// Once every command and option is added: --version, global options
// accepted after the command, and the help's footer on exit codes.
void follow_conventions(CLI::App& app);

// What a failed parse prints and returns: help and --version print and
// give 0; anything else is said on stderr, with "did you mean" for an
// unknown command or option, and gives kExitUsage.
int usage_error(const CLI::App& app, const CLI::ParseError& e, int argc, const char* const* argv);

}  // namespace pivot::cli
