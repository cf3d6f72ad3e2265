// Batch-1 decode with the whole model on the CUDA runner, random weights in a real model's shapes
// (bench/shapes/<name>/config.json, made on the GPU): a prompt of --prompt random tokens in one
// prefill step, then --new-tokens greedy decode steps, each a full ModelRunner::Execute (one
// upload, every layer, logits to the host, the greedy token sampled on the GPU as the engine
// does). Decode steps replay CUDA graphs unless --no-cuda-graphs. One untimed warm-up generation
// first (cuBLASLt plans, graph capture). The limit a step is compared with is reading the weights
// once at the card's device-to-device copy bandwidth, measured in the same run. The runner's
// step timer (step_timer.h) gives each decode step's GPU time and the GPU's idle time before it:
// the host gap between steps. Prints a JSON row and writes it.
//
// --no-fast-small-gemms keeps cuBLASLt's heuristic choice for every product (the "before" of our
// skinny GEMM kernel and of timing cuBLASLt's candidates).
//
// usage: specd_bench_model_decode --shape DIR [--prompt 128] [--new-tokens 256] [--no-fast-small-gemms]
//                                 [--no-cuda-graphs] [--out FILE]
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "bench/gpu_name.h"
#include "engine/base/flag_parser.h"
#include "engine/base/logging.h"
#include "engine/runner/cuda/cuda_runner.h"
#include "engine/runner/cuda/device_buffer.h"

namespace specd {
namespace {

constexpr int64_t kBlockSize = 16;
constexpr size_t kCopyBytes = size_t{1} << 30;

using Clock = std::chrono::steady_clock;

double Milliseconds(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Timings {
  double prefill_ms = 0;
  std::vector<double> decode_ms;  // one per decode step, wall clock around Execute
  std::vector<double> gpu_ms;     // the decode steps' GPU time (StepTimer)
  std::vector<double> gap_ms;     // the GPU's idle time before each decode step
};

double Mean(const std::vector<double>& values) {
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

// One generation: prefill the prompt, then greedy decode steps.
Timings Generate(CudaRunner& runner, const std::vector<int32_t>& prompt, int64_t new_tokens) {
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  std::vector<int32_t> tokens = prompt;
  std::vector<int32_t> blocks((prompt.size() + static_cast<size_t>(new_tokens)) / kBlockSize + 1);
  std::iota(blocks.begin(), blocks.end(), 0);
  Timings timings;
  for (int64_t step = 0; step <= new_tokens; ++step) {
    const size_t start = step == 0 ? 0 : tokens.size() - 1;
    ScheduledSequence seq;
    seq.token_ids = std::span<const int32_t>(tokens).subspan(start);
    seq.start_position = static_cast<int64_t>(start);
    seq.block_table = blocks;
    seq.logits_indices = {static_cast<int32_t>(tokens.size() - start - 1)};
    const std::span<const int32_t> generated = std::span<const int32_t>(tokens).subspan(prompt.size());
    seq.sampling = SamplingRow{.logits = {}, .params = &greedy, .seed = 0, .prompt_token_ids = prompt,
                               .output_token_ids = generated, .eos_token_ids = {}};
    const auto begin = Clock::now();
    auto output = runner.Execute(SchedulerOutput{{seq}});
    SPECD_CHECK(output.ok()) << output.status().ToString();
    SPECD_CHECK(output->sampled.size() == 1 && output->sampled[0].size() == 1) << "no sampled token";
    tokens.push_back(output->sampled[0][0].token);
    const double ms = Milliseconds(Clock::now() - begin);
    if (step == 0) {
      timings.prefill_ms = ms;
      continue;
    }
    timings.decode_ms.push_back(ms);
    const StepTiming& timing = *runner.last_step_timing();
    timings.gpu_ms.push_back(timing.gpu_ms);
    timings.gap_ms.push_back(timing.idle_before_ms.value_or(0.0));
  }
  return timings;
}

// Bytes per second of a 1 GiB device-to-device copy, counting the read and the write.
double CopyBandwidth() {
  DeviceBuffer<uint8_t> from, to;
  SPECD_CHECK(from.Allocate(kCopyBytes, "copy source").ok() && to.Allocate(kCopyBytes, "copy target").ok());
  const auto copy = [&] { SPECD_CHECK(cudaMemcpy(to.get(), from.get(), kCopyBytes, cudaMemcpyDeviceToDevice) == cudaSuccess); };
  copy();
  SPECD_CHECK(cudaDeviceSynchronize() == cudaSuccess);
  constexpr int kRepeats = 10;
  const auto begin = Clock::now();
  for (int i = 0; i < kRepeats; ++i) copy();
  SPECD_CHECK(cudaDeviceSynchronize() == cudaSuccess);
  return 2.0 * kCopyBytes * kRepeats / std::chrono::duration<double>(Clock::now() - begin).count();
}

double Percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(fraction * static_cast<double>(values.size() - 1))];
}

int Main(int argc, char** argv) {
  FlagParser flags({"shape", "prompt", "new-tokens", "out"}, {"no-fast-small-gemms", "no-cuda-graphs"});
  SPECD_CHECK(flags.Parse(std::vector<std::string>(argv + 1, argv + argc)).ok()) << "bad flags";
  const std::string shape = flags.GetString("shape", "");
  const int64_t prompt_length = flags.GetInt("prompt", 128).value();
  const int64_t new_tokens = flags.GetInt("new-tokens", 256).value();
  SetLogLevel("warn");
  auto config = LoadModelConfig(shape);
  SPECD_CHECK(config.ok()) << config.status().ToString();
  const int64_t blocks = (prompt_length + new_tokens) / kBlockSize + 1;
  const bool cuda_graphs = !flags.GetSwitch("no-cuda-graphs");
  auto runner = CudaRunner::CreateWithRandomWeights(
      *config, {.block_size = kBlockSize, .num_blocks = blocks, .max_num_tokens = prompt_length,
                .fast_small_gemms = !flags.GetSwitch("no-fast-small-gemms"), .cuda_graphs = cuda_graphs,
                .time_steps = true}, 1);
  SPECD_CHECK(runner.ok()) << runner.status().ToString();

  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(config->vocab_size - 1));
  std::vector<int32_t> prompt(static_cast<size_t>(prompt_length));
  for (auto& t : prompt) t = token(rng);
  Generate(**runner, prompt, new_tokens);  // warm-up: every step shape captured
  const Timings timings = Generate(**runner, prompt, new_tokens);

  const double weight_bytes = static_cast<double>((*runner)->weight_bytes());
  const double mean = Mean(timings.decode_ms);
  const double gap = Mean(timings.gap_ms), gpu = Mean(timings.gpu_ms);
  const double copy_bandwidth = CopyBandwidth();
  const double limit_ms = weight_bytes / copy_bandwidth * 1e3;
  const nlohmann::json result = {
      {"benchmark", "model_decode"}, {"card", bench::GpuName()}, {"shape", shape},
      {"weight_bytes", weight_bytes}, {"prompt_tokens", prompt_length}, {"new_tokens", new_tokens},
      {"cuda_graphs", cuda_graphs}, {"fast_small_gemms", !flags.GetSwitch("no-fast-small-gemms")}, {"prefill_ms", timings.prefill_ms}, {"ms_per_token_mean", mean},
      {"ms_per_token_p50", Percentile(timings.decode_ms, 0.5)},
      {"ms_per_token_p90", Percentile(timings.decode_ms, 0.9)},
      {"copy_bandwidth_tb_per_s", copy_bandwidth / 1e12}, {"weight_read_limit_ms", limit_ms}, {"fraction_of_limit", limit_ms / mean},
      {"step_gpu_ms_mean", gpu}, {"host_gap_ms_mean", gap}, {"host_gap_ms_p90", Percentile(timings.gap_ms, 0.9)},
      {"host_gap_fraction", gap / (gap + gpu)}};
  std::cout << result.dump() << "\n";
  if (flags.Has("out")) std::ofstream(flags.GetString("out", "")) << result.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace specd

int main(int argc, char** argv) { return specd::Main(argc, argv); }
