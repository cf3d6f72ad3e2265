// GenerateCommand: `specd-cli generate --prompt TEXT [--max-tokens N] [--temperature X]
// [--seed N] [--stop S] [--json]`: one Generation.Generate stream.
//
// Without --json the text is written as it arrives (flushed per message), then a newline.
// With --json nothing is written until the stream ends; then one line, the GenerationSummary.
// Unset options are left unset in the request, so the server's defaults apply.
#pragma once

#include "tools/cli/cli_command.h"

namespace specd::cli {

class GenerateCommand : public CliCommand {
 public:
  std::set<std::string> ValueFlags() const override;
  std::set<std::string> SwitchFlags() const override { return {"json"}; }
  Status Configure(const FlagParser& flags) override;
  Status Run(ServerConnection& server, std::ostream& out) override;

 private:
  Status ConfigureSampling(const FlagParser& flags);
  Status ConfigureStopping(const FlagParser& flags);

  v1::GenerateRequest request_;
  bool json_ = false;
};

}  // namespace specd::cli
