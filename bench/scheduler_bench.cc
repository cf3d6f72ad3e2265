// Scheduler + KV cache manager cost per engine step, with a null runner (no model math), at 1,
// 64 and 256 running decode requests. Prints a table and writes bench/results/scheduler_step.json.
// Target (issue 4): under 100 us per step at 256 running requests.
//
// usage: specd_bench_scheduler [--out bench/results/scheduler_step.json] [--steps N]
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/machine_name.h"
#include "engine/base/flag_parser.h"
#include "engine/core/scheduler.h"

namespace specd {
namespace {

constexpr int64_t kPromptTokens = 128;
constexpr int32_t kMaxTokens = 4096;

// The runner's side of a step without the runner: every sequence that asks gets token 7.
ModelOutput NullOutput(const StepPlan& plan) {
  ModelOutput output;
  output.vocab_size = 32000;
  for (const auto& seq : plan.batch.sequences) {
    output.sampled.emplace_back();
    if (!seq.sampling) continue;
    SampledToken token;
    token.token = 7;
    output.sampled.back().push_back(token);
  }
  return output;
}

struct Result {
  int requests;
  double mean_us, p50_us, p99_us;
};

Result Measure(int num_requests, int steps) {
  EngineConfig config;
  config.max_num_seqs = 256;
  config.max_num_batched_tokens = 64 * 1024;
  config.kv_cache = {.num_blocks = 256 * (kPromptTokens + kMaxTokens) / 16 + 16, .block_size = 16,
                     .enable_prefix_caching = true};
  Scheduler scheduler(config, 1 << 20, {2});
  for (int i = 0; i < num_requests; ++i) {
    auto request = std::make_unique<Request>();
    request->request_id = "r" + std::to_string(i);
    request->arrival_index = static_cast<uint64_t>(i);
    for (int64_t t = 0; t < kPromptTokens; ++t) request->prompt_token_ids.push_back(static_cast<int32_t>((i * 131 + t) % 30000 + 3));
    request->all_token_ids = request->prompt_token_ids;
    request->sampling.max_tokens = kMaxTokens;
    request->sampling.ignore_eos = true;
    request->qos = config.FindQosClass("default");
    scheduler.AddRequest(std::move(request));
  }
  const auto step = [&] {
    const auto now = Clock::now();
    StepPlan plan = scheduler.Schedule(now);
    scheduler.Update(plan, NullOutput(plan), now);
  };
  for (int i = 0; i < 20; ++i) step();  // prefill everyone, then decode
  std::vector<double> micros;
  for (int i = 0; i < steps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    step();
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  SPECD_CHECK(scheduler.num_running() == static_cast<size_t>(num_requests));
  std::vector<double> sorted = micros;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double m : micros) sum += m;
  return {num_requests, sum / steps, sorted[sorted.size() / 2], sorted[sorted.size() * 99 / 100]};
}

}  // namespace
}  // namespace specd

int main(int argc, char** argv) {
  specd::FlagParser flags({"out", "steps"}, {});
  const specd::Status parsed = flags.Parse(std::vector<std::string>(argv + 1, argv + argc));
  const auto steps = flags.GetInt("steps", 2000);
  if (!parsed.ok() || !steps.ok() || *steps < 10) {
    std::cerr << "usage: specd_bench_scheduler [--out FILE] [--steps N>=10]\n";
    return 2;
  }
  const std::string out = flags.GetString("out", "bench/results/scheduler_step.json");
  nlohmann::json results = {{"benchmark", "scheduler_step"}, {"machine", specd::bench::CpuName()},
                            {"runner", "null"}, {"prompt_tokens", specd::kPromptTokens},
                            {"steps", *steps}, {"target_us_at_256", 100}, {"rows", nlohmann::json::array()}};
  std::cout << "scheduler + KV manager per step (" << results["machine"].get<std::string>() << ")\n";
  std::cout << "running   mean us   p50 us   p99 us\n";
  for (int requests : {1, 64, 256}) {
    const auto r = specd::Measure(requests, static_cast<int>(*steps));
    std::printf("%7d %9.2f %8.2f %8.2f\n", r.requests, r.mean_us, r.p50_us, r.p99_us);
    results["rows"].push_back({{"running", r.requests}, {"mean_us", r.mean_us}, {"p50_us", r.p50_us}, {"p99_us", r.p99_us}});
  }
  std::ofstream(out) << results.dump(2) << "\n";
  std::cout << "wrote " << out << "\n";
  return 0;
}
