// specd-bench: load testing a running `specd serve`, and the benchmark-pair harness.
//
//   specd-bench load --workload FILE [--target HOST:PORT] [flags]   (see load/load_command.h)
//   specd-bench --workload FILE ...                                 the same: load is the default
//   specd-bench list                                                (see harness/harness_command.h)
//   specd-bench run --targets NAME,...|all [flags]
//
// Subcommands are looked up by name. Exit codes: 0 done; 1 the run failed; 2 a usage or preset error.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "bench/harness/harness_command.h"
#include "bench/load/load_command.h"
#include "bench/pairs/harness_environment.h"

namespace specd::bench {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr char kUsage[] =
    "usage: specd-bench [load] --workload FILE [flags]\n"
    "  load   send a workload preset's requests to a server and report latency and throughput\n";

int Load(const std::vector<std::string>& args) {
  if (std::find(args.begin(), args.end(), "--help") != args.end()) {
    std::cout << kUsage << "\n" << kLoadUsage;
    return 0;
  }
  auto options = ParseLoadOptions(args);
  if (!options.ok()) {
    std::cerr << "specd-bench load: " << options.status().message() << "\n\n" << kUsage << "\n" << kLoadUsage;
    return kExitUsage;
  }
  const Status status = RunLoad(*options);
  if (status.ok()) return 0;
  std::cerr << "specd-bench load: " << status.ToString() << "\n";
  return kExitFailure;
}

int Main(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << kUsage << kHarnessUsage << "\n" << kLoadUsage;
    return kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage << kHarnessUsage << "\n" << kLoadUsage;
    return 0;
  }
  if (args[0].rfind("--", 0) == 0) return Load(args);  // no subcommand: load
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "load") return Load(rest);
  if (args[0] == "list") return ListPairs(HarnessEnvironmentHere(), std::cout);
  if (args[0] == "run") return RunPairs(HarnessEnvironmentHere(), rest, std::cout, std::cerr);
  std::cerr << "specd-bench: unknown command '" << args[0] << "'\n\n" << kUsage << kHarnessUsage << "\n" << kLoadUsage;
  return kExitUsage;
}

}  // namespace
}  // namespace specd::bench

int main(int argc, char** argv) { return specd::bench::Main(std::vector<std::string>(argv + 1, argv + argc)); }
