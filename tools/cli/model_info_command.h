// ModelInfoCommand: `specd-cli model-info`: Admin.GetModelInfo, one "key: value" line per field.
#pragma once

#include "tools/cli/cli_command.h"

namespace specd::cli {

class ModelInfoCommand : public CliCommand {
 public:
  std::set<std::string> ValueFlags() const override { return {}; }
  Status Configure(const FlagParser&) override { return OkStatus(); }
  Status Run(ServerConnection& server, std::ostream& out) override;
};

}  // namespace specd::cli
