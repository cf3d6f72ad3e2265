// CliArgs: specd-cli's command line split into the subcommand and its flags.
//
//   specd-cli [--server HOST:PORT] [--timeout-s X] COMMAND [command flags] [--server ...]
//
// The global flags may come before or after COMMAND; they are handed to the command's
// FlagParser together with its own flags (so "given twice" and typos are still caught).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace specd::cli {

// Global flags (without "--"); every subcommand accepts them.
const std::set<std::string>& GlobalValueFlags();

struct CliArgs {
  std::string command;             // empty with --help
  std::vector<std::string> flags;  // global flags first, then the command's, as given
  bool help = false;               // --help / -h before the command
};

// INVALID_ARGUMENT: no command, an unknown flag before the command, or a global flag without
// a value.
StatusOr<CliArgs> SplitCliArgs(const std::vector<std::string>& args);

}  // namespace specd::cli
