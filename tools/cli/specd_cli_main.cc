// specd-cli: a command-line client for a running `specd serve`.
//
//   specd-cli [--server HOST:PORT] [--timeout-s X] COMMAND [flags]
//     generate --prompt TEXT [--max-tokens N] [--temperature X] [--seed N] [--stop S] [--json]
//     tokenize --text T
//     model-info
//     health [--service NAME]
//
// Exit codes: 0 success; 1 the call failed ("CODE_NAME: message" on stderr, as the server sent
// it); 2 a usage error (nothing was sent).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "tools/cli/cli_args.h"
#include "tools/cli/generate_command.h"
#include "tools/cli/health_command.h"
#include "tools/cli/model_info_command.h"
#include "tools/cli/tokenize_command.h"

namespace specd::cli {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr char kUsage[] =
    "usage: specd-cli [--server HOST:PORT] [--timeout-s X] COMMAND [flags]\n"
    "  generate --prompt TEXT [--max-tokens N] [--temperature X] [--seed N] [--stop S] [--json]\n"
    "  tokenize --text T\n"
    "  model-info\n"
    "  health [--service NAME]      \"\" (default): liveness; specd.v1.Generation: readiness\n"
    "--server defaults to 127.0.0.1:50051; --timeout-s sets a deadline on the call.\n";

std::unique_ptr<CliCommand> MakeCommand(const std::string& name) {
  if (name == "generate") return std::make_unique<GenerateCommand>();
  if (name == "tokenize") return std::make_unique<TokenizeCommand>();
  if (name == "model-info") return std::make_unique<ModelInfoCommand>();
  if (name == "health") return std::make_unique<HealthCommand>();
  return nullptr;
}

int UsageError(const std::string& where, const Status& status) {
  std::cerr << "specd-cli" << where << ": " << status.message() << "\n\n" << kUsage;
  return kExitUsage;
}

int Main(const std::vector<std::string>& args) {
  auto split = SplitCliArgs(args);
  if (!split.ok()) return UsageError("", split.status());
  if (split->help) {
    std::cout << kUsage;
    return 0;
  }
  const std::string where = " " + split->command;
  std::unique_ptr<CliCommand> command = MakeCommand(split->command);
  if (command == nullptr) return UsageError("", InvalidArgumentError("unknown command '" + split->command + "'"));
  std::set<std::string> value_flags = command->ValueFlags();
  value_flags.insert(GlobalValueFlags().begin(), GlobalValueFlags().end());
  FlagParser flags(value_flags, command->SwitchFlags());
  if (Status parsed = flags.Parse(split->flags); !parsed.ok()) return UsageError(where, parsed);
  auto options = ConnectionOptionsFromFlags(flags);
  if (!options.ok()) return UsageError(where, options.status());
  if (Status configured = command->Configure(flags); !configured.ok()) return UsageError(where, configured);
  ServerConnection server(*options);
  const Status status = command->Run(server, std::cout);
  if (status.ok()) return 0;
  std::cerr << "specd-cli" << where << ": " << status.ToString() << " (server " << server.address() << ")\n";
  return kExitFailure;
}

}  // namespace
}  // namespace specd::cli

int main(int argc, char** argv) { return specd::cli::Main(std::vector<std::string>(argv + 1, argv + argc)); }
