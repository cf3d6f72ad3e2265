// Splitting specd-cli's command line (see cli_args.h).
#include "tools/cli/cli_args.h"

namespace specd::cli {
namespace {

// "--name" or "--name=value" -> "name".
std::string FlagName(const std::string& arg) { return arg.substr(2, arg.find('=') - 2); }

}  // namespace

const std::set<std::string>& GlobalValueFlags() {
  static const std::set<std::string> flags = {"server", "timeout-s"};
  return flags;
}

StatusOr<CliArgs> SplitCliArgs(const std::vector<std::string>& args) {
  CliArgs out;
  size_t i = 0;
  for (; i < args.size() && args[i].rfind("-", 0) == 0; ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      return out;
    }
    if (arg.rfind("--", 0) != 0 || GlobalValueFlags().count(FlagName(arg)) == 0) {
      return InvalidArgumentError("unknown global flag '" + arg + "' (expected before the command: "
                                  "--server HOST:PORT, --timeout-s X)");
    }
    out.flags.push_back(arg);
    if (arg.find('=') != std::string::npos) continue;
    if (++i >= args.size()) return InvalidArgumentError(arg + " needs a value");
    out.flags.push_back(args[i]);
  }
  if (i == args.size()) return InvalidArgumentError("no command given");
  out.command = args[i];
  out.flags.insert(out.flags.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  return out;
}

}  // namespace specd::cli
