// JSON text helpers shared by pivot's parts (results, span sinks, the CLI
// and pivot serve). Not public API: a program that needs JSON has a JSON
// library; pivot::Value::to_json() and ResultTable::to_json() are the API.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pivot::internal {

// Appends s to out as a JSON string literal (quotes included). Bytes that
// are not valid UTF-8 become U+FFFD, so the output is always valid JSON;
// with kKeepBytes they are copied as they are (for text that must read back
// byte for byte, like a query's canonical form).
enum class Utf8 : uint8_t { kReplaceInvalid, kKeepBytes };
void append_json_string(std::string& out, std::string_view s, Utf8 mode = Utf8::kReplaceInvalid);

}  // namespace pivot::internal
