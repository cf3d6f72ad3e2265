// TokenizeCommand: `specd-cli tokenize --text T`: Generation.Tokenize with the model's special
// tokens added; writes the token ids on one line, separated by spaces.
#pragma once

#include "tools/cli/cli_command.h"

namespace specd::cli {

class TokenizeCommand : public CliCommand {
 public:
  std::set<std::string> ValueFlags() const override { return {"text"}; }
  Status Configure(const FlagParser& flags) override;
  Status Run(ServerConnection& server, std::ostream& out) override;

 private:
  v1::TokenizeRequest request_;
};

}  // namespace specd::cli
