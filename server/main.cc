// specd: the command-line entry point.
//   specd generate ...   greedy generation on the CPU reference runner (see generate_command.h)
#include <iostream>
#include <string>
#include <vector>

#include "server/generate_command.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] != "generate") {
    std::cerr << "usage: specd generate ...\n\n" << specd::kGenerateUsage;
    return 2;
  }
  const specd::Status status = specd::RunGenerateCommand({args.begin() + 1, args.end()}, std::cout);
  if (!status.ok()) {
    std::cerr << "specd generate: error: " << status.message() << "\n";
    return status.code() == specd::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
