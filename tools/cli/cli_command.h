// CliCommand: one specd-cli subcommand (generate, tokenize, model-info, health).
//
// main() runs every subcommand the same way, on its one thread:
//   1. FlagParser over ValueFlags() + SwitchFlags() + the global flags (--server, --timeout-s)
//   2. Configure(flags)  a usage error here (INVALID_ARGUMENT) exits 2 before any RPC
//   3. Run(server, out)  an error here is the server's (or the transport's) status: exit 1
#pragma once

#include <ostream>
#include <set>
#include <string>

#include "engine/base/flag_parser.h"
#include "engine/base/status.h"
#include "tools/cli/server_connection.h"

namespace specd::cli {

class CliCommand {
 public:
  virtual ~CliCommand() = default;

  // Flag names (without "--") that take a value / that are bare switches.
  virtual std::set<std::string> ValueFlags() const = 0;
  virtual std::set<std::string> SwitchFlags() const { return {}; }

  // Reads the parsed flags. INVALID_ARGUMENT names the flag that is missing or malformed.
  virtual Status Configure(const FlagParser& flags) = 0;

  // Talks to the server and writes the result to `out`.
  virtual Status Run(ServerConnection& server, std::ostream& out) = 0;
};

}  // namespace specd::cli
