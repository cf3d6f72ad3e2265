// `specd-bench load` (see load_command.h). One thread, plus gRPC's callback threads under the
// load runner.
#include "bench/load/load_command.h"

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <random>

#include <fmt/format.h>

#include "bench/load/load_report.h"
#include "bench/load/load_runner.h"
#include "bench/load/prompt_documents.h"
#include "bench/load/served_model.h"
#include "bench/machine_name.h"
#include "engine/base/flag_parser.h"
#include "engine/base/logging.h"

namespace specd::bench {
namespace {

using Json = nlohmann::json;

Status OverrideArrivals(const FlagParser& flags, WorkloadSpec& workload) {
  if (flags.Has("rate") && flags.Has("clients")) return InvalidArgumentError("give --rate or --clients, not both");
  if (flags.Has("rate")) {
    SPECD_ASSIGN_OR_RETURN(const double rate, flags.GetDouble("rate", 0));
    if (!(rate > 0)) return InvalidArgumentError("--rate must be a positive number of requests per second");
    workload.arrival = ArrivalPattern::Poisson(rate);
    workload.sweep.clear();
  }
  if (flags.Has("clients")) {
    SPECD_ASSIGN_OR_RETURN(const int64_t clients, flags.GetInt("clients", 0));
    if (clients < 1 || clients > kMaxClients) return InvalidArgumentError("--clients must be in [1, " + std::to_string(kMaxClients) + "]");
    workload.arrival = ArrivalPattern::Concurrency(clients);
    workload.sweep.clear();
  }
  return OkStatus();
}

Status OverrideLimit(const FlagParser& flags, WorkloadSpec& workload) {
  if (flags.Has("requests") && flags.Has("duration-s")) return InvalidArgumentError("give --requests or --duration-s, not both");
  if (flags.Has("requests")) {
    SPECD_ASSIGN_OR_RETURN(const int64_t requests, flags.GetInt("requests", 0));
    if (requests < 1) return InvalidArgumentError("--requests must be at least 1");
    workload.limit = {.requests = requests, .duration_s = std::nullopt};
  }
  if (flags.Has("duration-s")) {
    SPECD_ASSIGN_OR_RETURN(const double seconds, flags.GetDouble("duration-s", 0));
    if (!(seconds > 0)) return InvalidArgumentError("--duration-s must be a positive number of seconds");
    workload.limit = {.requests = std::nullopt, .duration_s = seconds};
  }
  return OkStatus();
}

Status OverrideRequests(const FlagParser& flags, WorkloadSpec& workload) {
  if (flags.Has("seed")) {
    SPECD_ASSIGN_OR_RETURN(const int64_t seed, flags.GetInt("seed", 0));
    if (seed < 0) return InvalidArgumentError("--seed must be >= 0");
    workload.seed = static_cast<uint64_t>(seed);
  }
  if (flags.Has("speculation")) {
    const std::string value = flags.GetString("speculation", "");
    if (value != "on" && value != "off") return InvalidArgumentError("--speculation must be on or off, got '" + value + "'");
    workload.speculation.enabled = value == "on";
  }
  if (flags.Has("max-draft-tokens")) {
    SPECD_ASSIGN_OR_RETURN(const int64_t k, flags.GetInt("max-draft-tokens", 0));
    if (k < 1 || k > kMaxDraftTokens) return InvalidArgumentError("--max-draft-tokens must be in [1, 16]");
    workload.speculation.max_draft_tokens = k;
  }
  return OkStatus();
}

}  // namespace

StatusOr<LoadOptions> ParseLoadOptions(const std::vector<std::string>& args) {
  FlagParser flags({"workload", "target", "rate", "clients", "requests", "duration-s", "seed", "speculation",
                    "max-draft-tokens", "json-out", "timeout-s", "wait-s"}, {});
  SPECD_RETURN_IF_ERROR(flags.Parse(args));
  if (!flags.Has("workload")) return InvalidArgumentError("--workload FILE is required");
  LoadOptions options;
  options.workload_file = flags.GetString("workload", "");
  SPECD_ASSIGN_OR_RETURN(options.workload, LoadWorkloadSpec(options.workload_file));
  SPECD_RETURN_IF_ERROR(OverrideArrivals(flags, options.workload));
  SPECD_RETURN_IF_ERROR(OverrideLimit(flags, options.workload));
  SPECD_RETURN_IF_ERROR(OverrideRequests(flags, options.workload));
  const PromptSpec& prompt = options.workload.prompt;
  if (prompt.source == PromptSpec::Source::kTextFile) {
    SPECD_ASSIGN_OR_RETURN(options.prompt_documents, ReadDocuments(prompt.path, prompt.separator));
  }
  SPECD_ASSIGN_OR_RETURN(options.connection, cli::ConnectionOptionsFromFlags(flags, "target"));
  options.json_out = flags.GetString("json-out", "");
  SPECD_ASSIGN_OR_RETURN(options.wait_s, flags.GetDouble("wait-s", options.wait_s));
  if (!(options.wait_s > 0)) return InvalidArgumentError("--wait-s must be a positive number of seconds");
  return options;
}

namespace {

std::string UtcNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

Json ReportJson(const LoadOptions& options, const ServedModel& model, const std::vector<RunResult>& runs,
                const std::string& started_at) {
  Json json = {{"benchmark", "specd-bench load"}, {"started_at", started_at}, {"machine", CpuName()},
               {"target", options.connection.address}, {"workload_file", options.workload_file},
               {"workload", options.workload.ToJson()}, {"server", model.ToJson()}, {"runs", Json::array()}};
  for (const RunResult& run : runs) json["runs"].push_back(RunJson(run));
  return json;
}

Status WriteJson(const std::string& path, const Json& json) {
  std::ofstream out(path);
  out << json.dump(1) << "\n";
  out.close();
  if (!out) return FailedPreconditionError(path + ": cannot write the report");
  return OkStatus();
}

void WarnIfLate(const RunResult& run) {
  if (run.summary.late_requests == 0) return;
  GetLogger("bench")->warn("{}: {} of {} requests went out more than {:g} ms after their planned time (max {:.1f} ms): "
                           "the client fell behind the schedule", run.arrival.Describe(), run.summary.late_requests,
                           run.summary.sent, kLateThresholdS * 1000, run.summary.lag_ms.max);
}

// A name no other specd-bench invocation uses (64 random bits).
std::string InvocationId() {
  std::random_device entropy;
  return fmt::format("specd-bench-{:08x}{:08x}", entropy(), entropy());
}

// Every run of the workload, each table printed as soon as its run ends. Each run has its own
// prefix-cache salt, unique to this invocation.
std::vector<RunResult> RunAll(const LoadOptions& options, cli::ServerConnection& server, const RequestPlanner& planner) {
  LoadRunner runner(server, planner, options.workload);
  const std::string invocation = InvocationId();
  std::vector<RunResult> runs;
  for (const ArrivalPattern& arrival : options.workload.Runs()) {
    const std::string salt = invocation + "-run-" + std::to_string(runs.size());
    RunRecords records = runner.Run(arrival, options.workload.limit, salt);
    LoadSummary summary = LoadSummary::Of(records.records, records.duration_s, options.workload.slo);
    runs.push_back({arrival, std::move(records.records), std::move(summary)});
    std::cout << FormatRunTable("specd-bench: " + options.workload.name, runs.back(), options.workload.slo) << std::flush;
    WarnIfLate(runs.back());
  }
  if (runs.size() > 1) std::cout << "\n" << FormatSweepTable(runs);
  return runs;
}

}  // namespace

Status RunLoad(const LoadOptions& options) {
  cli::ServerConnection server(options.connection);
  SPECD_ASSIGN_OR_RETURN(const ServedModel model, DescribeServedModel(server, options.wait_s));
  SPECD_RETURN_IF_ERROR(CheckFitsContext(options.workload, model));
  SPECD_ASSIGN_OR_RETURN(PromptSource prompts,
                         MakePromptSource(options.workload.prompt, options.prompt_documents, model, server));
  const RequestPlanner planner(options.workload.seed, options.workload.prompt, options.workload.output, std::move(prompts));
  const std::string started_at = UtcNow();
  const std::vector<RunResult> runs = RunAll(options, server, planner);
  if (options.json_out.empty()) return OkStatus();
  return WriteJson(options.json_out, ReportJson(options, model, runs, started_at));
}

}  // namespace specd::bench
