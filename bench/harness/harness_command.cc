#include "bench/harness/harness_command.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "bench/harness/expectations.h"
#include "bench/harness/hardware_key.h"
#include "bench/harness/harness_report.h"
#include "engine/base/flag_parser.h"

namespace specd::bench {

const char kHarnessUsage[] =
    "usage: specd-bench list\n"
    "       specd-bench run --targets NAME[,NAME...]|all [--repeats N] [--quick] [--update-expectations]\n"
    "                       [--expectations FILE] [--out FILE]\n"
    "  list   the benchmark pairs (baseline against optimized variant), and which need a GPU\n"
    "  run    runs pairs, checks their outputs agree, compares speedups with FILE\n"
    "         (default bench/expectations_<hardware key>.json); exit 1 when a pair's speedup is\n"
    "         below 0.75 x its stored figure or its outputs differ\n";

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int64_t kDefaultRepeats = 10;
constexpr int64_t kMaxRepeats = 100000;
constexpr char kAllTargets[] = "all";

struct RunOptions {
  std::vector<const PairEntry*> targets;
  RunSettings settings;
  bool update = false;
  std::string expectations_path;
  std::string out_path;
};

const PairEntry* FindPair(const HarnessEnvironment& environment, const std::string& name) {
  for (const PairEntry& entry : environment.pairs) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

std::string PairNames(const HarnessEnvironment& environment) {
  std::string names;
  for (const PairEntry& entry : environment.pairs) names += (names.empty() ? "" : ", ") + entry.name;
  return names;
}

StatusOr<std::vector<const PairEntry*>> ParseTargets(const HarnessEnvironment& environment, const std::string& text) {
  std::vector<const PairEntry*> targets;
  if (text == kAllTargets) {
    for (const PairEntry& entry : environment.pairs) targets.push_back(&entry);
    return targets;
  }
  std::stringstream in(text);
  for (std::string name; std::getline(in, name, ',');) {
    const PairEntry* entry = FindPair(environment, name);
    if (entry == nullptr) {
      return InvalidArgumentError("--targets: unknown pair '" + name + "' (pairs: " + PairNames(environment) + ", or all)");
    }
    if (std::find(targets.begin(), targets.end(), entry) != targets.end()) {
      return InvalidArgumentError("--targets names '" + name + "' twice");
    }
    targets.push_back(entry);
  }
  if (targets.empty()) return InvalidArgumentError("--targets is empty");
  return targets;
}

StatusOr<RunOptions> ParseRunOptions(const HarnessEnvironment& environment, const std::vector<std::string>& args) {
  FlagParser flags({"targets", "repeats", "expectations", "out"}, {"update-expectations", "quick"});
  SPECD_RETURN_IF_ERROR(flags.Parse(args));
  if (!flags.Has("targets")) return InvalidArgumentError("--targets is required (pair names, or all)");
  RunOptions options;
  SPECD_ASSIGN_OR_RETURN(options.targets, ParseTargets(environment, flags.GetString("targets", "")));
  SPECD_ASSIGN_OR_RETURN(const int64_t repeats, flags.GetInt("repeats", kDefaultRepeats));
  if (repeats < 1 || repeats > kMaxRepeats) {
    return InvalidArgumentError("--repeats must be in [1, " + std::to_string(kMaxRepeats) + "], got " +
                                std::to_string(repeats));
  }
  options.settings = {.repeats = static_cast<int>(repeats), .quick = flags.GetSwitch("quick")};
  options.update = flags.GetSwitch("update-expectations");
  options.expectations_path = flags.GetString(
      "expectations", "bench/expectations_" + HardwareKey(environment.device) + ".json");
  options.out_path = flags.GetString("out", "");
  return options;
}

// Both variants of one pair; what stopped it, if anything, goes into the result.
PairResult Measure(const HarnessEnvironment& environment, const PairEntry& entry, const RunSettings& settings,
                   std::ostream& out, OutputRule& rule) {
  PairResult result;
  result.name = entry.name;
  if (!entry.make) {
    result.skipped = entry.unavailable;
    return result;
  }
  if (entry.needs_gpu && !environment.has_gpu) {
    result.skipped = "needs a GPU, and this machine has none";
    return result;
  }
  const std::unique_ptr<BenchmarkPair> pair = entry.make();
  rule = pair->output_rule();
  std::optional<VariantRun> runs[2];
  for (const Variant variant : {Variant::kBaseline, Variant::kOptimized}) {
    out << "[" << entry.name << "] " << VariantName(variant) << " ..." << std::endl;
    StatusOr<VariantRun> run = pair->Run(variant, settings);
    if (run.ok() && run->samples_ms.empty()) run = InternalError("no timed iterations");
    if (!run.ok()) {
      result.error = std::string(VariantName(variant)) + ": " + run.status().ToString();
      return result;
    }
    runs[static_cast<int>(variant)] = std::move(run).value();
  }
  result.baseline = VariantSummary::Of(*runs[0]);
  result.optimized = VariantSummary::Of(*runs[1]);
  result.outputs = CheckOutputs(rule, runs[0]->outputs, runs[1]->outputs);
  return result;
}

ReportRow Judged(PairResult result, const OutputRule& rule, Expectations& expectations, bool update,
                 const HarnessEnvironment& environment) {
  ReportRow row;
  const ExpectedFigures* expected = expectations.Find(result.name);
  if (expected != nullptr) row.expected_speedup = expected->speedup;
  row.verdict = Judge(result, expected, update);
  if (result.ran()) row.output_rule = rule.Describe();
  if (row.verdict.status == PairStatus::kUpdated) {
    expectations.Set(result.name, FiguresOf(result, environment.commit, environment.date));
  }
  row.result = std::move(result);
  return row;
}

Status WriteReport(const std::string& path, const nlohmann::json& report) {
  std::ofstream file(path);
  file << report.dump(2) << "\n";
  file.close();
  if (!file) return FailedPreconditionError("cannot write the report " + path);
  return OkStatus();
}

}  // namespace

int ListPairs(const HarnessEnvironment& environment, std::ostream& out) {
  for (const PairEntry& entry : environment.pairs) {
    out << entry.name << std::string(entry.name.size() < 20 ? 20 - entry.name.size() : 1, ' ')
        << (entry.needs_gpu ? "gpu  " : "any  ") << entry.description;
    if (!entry.make) out << " [unavailable: " << entry.unavailable << "]";
    out << "\n";
  }
  return 0;
}

int RunPairs(const HarnessEnvironment& environment, const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err) {
  const StatusOr<RunOptions> options = ParseRunOptions(environment, args);
  if (!options.ok()) {
    err << "specd-bench run: " << options.status().message() << "\n\n" << kHarnessUsage;
    return kExitUsage;
  }
  const std::string hardware_key = HardwareKey(environment.device);
  StatusOr<Expectations> expectations = Expectations::Load(options->expectations_path, hardware_key, environment.device);
  if (!expectations.ok()) {
    err << "specd-bench run: " << expectations.status().message() << "\n";
    return kExitUsage;
  }
  out << "benchmark pairs on " << environment.device << " (" << hardware_key << "), " << options->settings.repeats
      << " timed iterations per variant" << (options->settings.quick ? ", quick workloads" : "") << std::endl;
  std::vector<ReportRow> rows;
  for (const PairEntry* entry : options->targets) {
    OutputRule rule;
    PairResult result = Measure(environment, *entry, options->settings, out, rule);
    rows.push_back(Judged(std::move(result), rule, *expectations, options->update, environment));
  }
  out << ReportTable(rows);
  bool failed = std::any_of(rows.begin(), rows.end(), [](const ReportRow& row) { return row.verdict.failed(); });
  const RunContext context{environment.device, hardware_key, environment.commit, environment.date, options->settings};
  std::vector<Status> writes;
  if (!options->out_path.empty()) writes.push_back(WriteReport(options->out_path, ReportJson(context, rows)));
  if (options->update) writes.push_back(expectations->Save(options->expectations_path));
  for (const Status& status : writes) {
    if (status.ok()) continue;
    err << "specd-bench run: " << status.message() << "\n";
    failed = true;
  }
  if (options->update && writes.back().ok()) out << "wrote " << options->expectations_path << "\n";
  return failed ? kExitFailure : 0;
}

}  // namespace specd::bench
