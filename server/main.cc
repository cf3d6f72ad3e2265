// specd: the command-line entry point.
//   specd serve ...      the gRPC server (see serve_command.h)
//   specd generate ...   one generation through the engine on the CPU runner (generate_command.h)
#include <iostream>
#include <string>
#include <vector>

#include "server/generate_command.h"
#ifdef SPECD_WITH_SERVER
#include "server/serve_command.h"
#endif

namespace {

int Fail(const std::string& command, const specd::Status& status) {
  std::cerr << "specd " << command << ": error: " << status.message() << "\n";
  return status.code() == specd::StatusCode::kInvalidArgument ? 2 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::string command = args.empty() ? "" : args[0];
  const std::vector<std::string> rest = args.empty() ? args : std::vector<std::string>(args.begin() + 1, args.end());
  if (command == "generate") {
    const specd::Status status = specd::RunGenerateCommand(rest, std::cout);
    return status.ok() ? 0 : Fail(command, status);
  }
  if (command == "serve") {
#ifdef SPECD_WITH_SERVER
    const specd::Status status = specd::RunServeCommand(rest);
    return status.ok() ? 0 : Fail(command, status);
#else
    std::cerr << "specd serve: this build has no gRPC server (configured with SPECD_BUILD_SERVER=OFF)\n";
    return 2;
#endif
  }
  std::cerr << "usage: specd serve ... | specd generate ...\n\n" << specd::kGenerateUsage;
#ifdef SPECD_WITH_SERVER
  std::cerr << "\n" << specd::kServeUsage;
#endif
  return 2;
}
