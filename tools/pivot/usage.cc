#include "usage.h"

#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "core/suggest.h"

#ifndef PIVOT_VERSION
#define PIVOT_VERSION "unknown"
#endif

namespace pivot::cli {
namespace {

CLI::AsNumberWithUnit duration(double ms, double s) {
  return CLI::AsNumberWithUnit(
      std::map<std::string, double>{{"ms", ms}, {"s", s}, {"m", 60 * s}, {"h", 3600 * s}},
      CLI::AsNumberWithUnit::CASE_SENSITIVE, "DURATION");
}

// "--name" and "-n" of every option of `app`.
std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::Option* o : app.get_options()) {
    for (const auto& l : o->get_lnames()) out.push_back("--" + l);
    for (const auto& s : o->get_snames()) out.push_back("-" + s);
  }
  return out;
}

// Whether `app` takes `--name` (or `-n`), with its parents, as options
// fall through to them.
bool takes_option(const CLI::App* app, const std::string& flag) {
  for (; app != nullptr; app = app->get_parent()) {
    for (const auto& name : option_names(*app)) {
      if (name == flag) return true;
    }
  }
  return false;
}

// Whether `--name` of `app` (or its parents) takes a value, so the next
// argument is that value and not a command.
bool takes_value(const CLI::App* app, const std::string& flag) {
  for (; app != nullptr; app = app->get_parent()) {
    for (const CLI::Option* o : app->get_options()) {
      for (const auto& l : o->get_lnames()) {
        if ("--" + l == flag) return o->get_type_size() != 0;
      }
    }
  }
  return false;
}

// The unknown command or option of a command line, with the closest known
// names; "" when there is none.
std::string misspelling(const CLI::App& app, int argc, const char* const* argv) {
  const CLI::App* command = &app;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() > 1 && arg[0] == '-') {
      std::string flag = arg.substr(0, arg.find('='));
      if (!takes_option(command, flag)) {
        std::vector<std::string> known;
        for (const CLI::App* a = command; a != nullptr; a = a->get_parent()) {
          for (auto& n : option_names(*a)) known.push_back(n);
        }
        std::string hint = internal::did_you_mean(flag, known);
        return "unknown option '" + flag + "'" +
               (command == &app ? "" : " for '" + command->get_name() + "'") +
               (hint.empty() ? "" : "; " + hint);
      }
      if (flag == arg && takes_value(command, flag)) ++i;  // its value
      continue;
    }
    if (command != &app) continue;  // a positional argument of the command
    std::vector<std::string> commands;
    for (const CLI::App* sub : app.get_subcommands({})) commands.push_back(sub->get_name());
    const CLI::App* sub = nullptr;
    for (const CLI::App* s : app.get_subcommands({})) {
      if (s->get_name() == arg) sub = s;
    }
    if (sub == nullptr) {
      std::string hint = internal::did_you_mean(arg, commands);
      return "unknown command '" + arg + "'" + (hint.empty() ? "" : "; " + hint);
    }
    command = sub;
  }
  return "";
}

}  // namespace

CLI::AsNumberWithUnit duration_ms() { return duration(1, 1000); }
CLI::AsNumberWithUnit duration_s() { return duration(0.001, 1); }

void follow_conventions(CLI::App& app) {
  app.set_version_flag("--version", "pivot " PIVOT_VERSION);
  for (CLI::App* sub : app.get_subcommands({})) sub->fallthrough();
  app.footer(
      "Durations take a unit: 500ms, 8s, 2m, 1h (a bare number is in the unit the flag names).\n"
      "Global options may come before or after the command.\n"
      "Exit status: 0 ok; 1 a query or runtime error (no agents found, a bad query, serve refused);\n"
      "2 a usage error (an unknown command or option, a bad flag value).\n"
      "Run 'pivot COMMAND --help' for a command's options; docs/cli.md has the rest.");
}

int usage_error(const CLI::App& app, const CLI::ParseError& e, int argc, const char* const* argv) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    return app.exit(e);  // --help, --version: printed, status 0
  }
  if (argc <= 1) {  // no command at all: the usage is the answer
    std::cerr << app.help();
    return kExitUsage;
  }
  std::string what = misspelling(app, argc, argv);
  std::cerr << "pivot: " << (what.empty() ? std::string(e.what()) : what) << "\n"
            << "Run 'pivot --help' for usage.\n";
  return kExitUsage;
}

}  // namespace pivot::cli
