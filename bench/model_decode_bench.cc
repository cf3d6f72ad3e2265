// Decode with the whole model on the CUDA runner, random weights in a real model's shapes
// (bench/shapes/<name>/config.json, made on the GPU). Each of the largest batch's sequences gets
// a prompt of --prompt random tokens (prefilled once, untimed); then for each batch size B in
// --batches and each step width T in --step-tokens, --new-tokens steps in which the first B
// sequences bring T tokens each: T = 1 is plain decode (the greedy token sampled on the GPU, as
// the engine does); T = k + 1 is a speculative verify step of k one-hot drafts (verified on the
// GPU; the bench then moves every sequence T positions on, whatever was accepted, so each step
// has the same shape). --temperature t > 0 samples at temperature t instead of greedily (the
// sampling kernels, their parameters uploaded each step), with --top-p p < 1 cutting at top-p and
// --top-k k > 0 at top-k. Each step is a full ModelRunner::Execute
// (one upload, every layer, sampling on the GPU). Steps replay CUDA graphs unless
// --no-cuda-graphs; two untimed steps first capture them. Each B * T has a graph of its exact size, as the server captures for the
// verify steps of a spec config with k = T - 1 (engine/spec/spec_config.h FullDraftStepTokens).
// Decode steps (T = 1, contexts growing) overlap as the engine runs them (model_runner.h): step
// i + 1 is launched, each sequence's token fed on the device from step i's sampling, before step i
// is collected, and a step's time is the interval between consecutive collects; --no-overlap
// launches each step after the one before it was collected, with a random token.
// The runner's step timer (step_timer.h) gives each step's GPU time and the GPU's idle time
// before it: the host gap between steps. Runs share the sequences, so each run
// starts where the one before ended; --fixed-context instead drops each step's tokens after it,
// so that every step of every run has the prompt as its context (step widths compared at one
// context length: a verify step's cost against a single-token step's).
//
// The limit a step is compared with: reading the weights once plus the batch's KV cache (the
// context's K and V rows of every layer, at the run's mean length), at the card's
// device-to-device copy bandwidth measured in the same run.
//
// --no-fast-small-gemms keeps cuBLASLt's heuristic choice for every product (the "before" of our
// skinny GEMM kernel and of timing cuBLASLt's candidates). --no-fused-decode-layers runs the norms,
// residual adds and SiLU of steps of up to 8 tokens as separate kernels (the "before" of fusing
// them into the skinny products).
//
// usage: specd_bench_model_decode --shape DIR [--prompt 128] [--new-tokens 256] [--batches 1,8,...]
//            [--step-tokens 1,5,...] [--temperature 0] [--top-p 1] [--top-k 0] [--no-fast-small-gemms]
//            [--no-cuda-graphs] [--no-fused-decode-layers] [--fixed-context] [--no-overlap] [--out FILE]
// Prints one JSON row per (batch, step width); --out writes them as a JSON array. computed_tokens_per_s
// counts B * T tokens a step: decode throughput for T = 1.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench/gpu_name.h"
#include "engine/base/flag_parser.h"
#include "engine/base/logging.h"
#include "engine/runner/cuda/cuda_runner.h"
#include "engine/runner/cuda/device_buffer.h"

namespace specd {
namespace {

constexpr int64_t kBlockSize = 16;
constexpr int64_t kMaxStepTokens = 2048;  // the runner's activations: it runs longer batches in pieces
constexpr int kCaptureSteps = 2;
constexpr size_t kCopyBytes = size_t{1} << 30;

using Clock = std::chrono::steady_clock;

struct Sequence {
  std::vector<int32_t> tokens;  // prompt, then whatever the steps fed
  std::vector<int32_t> blocks;
  size_t prompt_length = 0;
};

struct Run {
  int64_t batch = 0;
  int64_t step_tokens = 0;
  std::vector<double> step_ms;  // wall clock around Execute
  std::vector<double> gpu_ms;   // StepTimer
  std::vector<double> gap_ms;   // the GPU's idle time before the step
  double mean_context = 0;      // tokens in the cache per sequence, averaged over the steps
};

double Mean(const std::vector<double>& values) {
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

double Percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(fraction * static_cast<double>(values.size() - 1))];
}

// A comma-separated list of positive integers (flag --name); anything else stops the program with
// a message naming the flag.
std::vector<int64_t> ParseList(const std::string& name, const std::string& text) {
  std::vector<int64_t> values;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    int64_t value = 0;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), value);
    SPECD_CHECK(error == std::errc() && end == item.data() + item.size() && value > 0)
        << "--" << name << " takes positive integers separated by commas, got \"" << text << "\"";
    values.push_back(value);
  }
  SPECD_CHECK(!values.empty()) << "--" << name << " is empty";
  return values;
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

class DecodeBench {
 public:
  // fixed_context: every step computes the same positions (each step's tokens are dropped after
  // it, as a verify step's rejected drafts are), so that step widths compare at one context length.
  DecodeBench(CudaRunner& runner, int64_t vocab, bool fixed_context, float temperature, float top_p, int32_t top_k)
      : runner_(runner), token_(0, static_cast<int32_t>(vocab - 1)), fixed_context_(fixed_context) {
    sampling_.temperature = temperature;
    sampling_.top_p = top_p;
    sampling_.top_k = top_k;
  }

  // Sequence s owns blocks [s * blocks_per_seq, (s + 1) * blocks_per_seq). The prompts go in one
  // batch, which the runner cuts into pieces of at most kMaxStepTokens tokens (chunked prefill).
  void Prefill(int64_t count, int64_t prompt_length, int64_t blocks_per_seq) {
    for (int64_t s = 0; s < count; ++s) {
      Sequence seq;
      seq.tokens = RandomTokens(prompt_length);
      seq.prompt_length = seq.tokens.size();
      seq.blocks.resize(static_cast<size_t>(blocks_per_seq));
      std::iota(seq.blocks.begin(), seq.blocks.end(), static_cast<int32_t>(s * blocks_per_seq));
      sequences_.push_back(std::move(seq));
    }
    SchedulerOutput batch;
    for (const Sequence& seq : sequences_) {
      ScheduledSequence scheduled;
      scheduled.token_ids = seq.tokens;
      scheduled.block_table = seq.blocks;
      scheduled.logits_indices = {static_cast<int32_t>(seq.tokens.size() - 1)};
      batch.sequences.push_back(scheduled);
    }
    Execute(batch);
  }

  Run Measure(int64_t batch, int64_t step_tokens, int64_t steps) {
    for (int i = 0; i < kCaptureSteps; ++i) Step(batch, step_tokens);
    Run run;
    run.batch = batch;
    run.step_tokens = step_tokens;
    for (int64_t i = 0; i < steps; ++i) {
      run.mean_context += static_cast<double>(sequences_[0].tokens.size()) / static_cast<double>(steps);
      const auto begin = Clock::now();
      Step(batch, step_tokens);
      AddStep(run, begin);
    }
    return run;
  }

  // Single-token steps, each launched before the one before it is collected.
  Run MeasureOverlapped(int64_t batch, int64_t steps) {
    for (int i = 0; i < kCaptureSteps; ++i) Step(batch, 1);
    Run run;
    run.batch = batch;
    run.step_tokens = 1;
    Launch(batch, 1, /*fed=*/false);
    auto last_collect = Clock::now();
    for (int64_t i = 0; i < steps; ++i) {
      // The step collected now was launched one token ago.
      run.mean_context += static_cast<double>(sequences_[0].tokens.size() - 1) / static_cast<double>(steps);
      Launch(batch, 1, /*fed=*/true);
      Collect();
      AddStep(run, last_collect);
      last_collect = Clock::now();
    }
    Collect();  // the step launched last, untimed
    return run;
  }

 private:
  std::vector<int32_t> RandomTokens(int64_t count) {
    std::vector<int32_t> tokens(static_cast<size_t>(count));
    for (auto& t : tokens) t = token_(rng_);
    return tokens;
  }

  void Execute(const SchedulerOutput& batch) {
    const auto output = runner_.Execute(batch);
    SPECD_CHECK(output.ok()) << output.status().ToString();
  }

  // The step that started at `begin` and just ended: its time and the step timer's view of it.
  void AddStep(Run& run, Clock::time_point begin) const {
    run.step_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
    const StepTiming& timing = *runner_.last_step_timing();
    run.gpu_ms.push_back(timing.gpu_ms);
    run.gap_ms.push_back(timing.idle_before_ms.value_or(0.0));
  }

  void Step(int64_t batch, int64_t step_tokens) {
    const SchedulerOutput scheduled_batch = NextStep(batch, step_tokens, /*fed=*/false);
    Execute(scheduled_batch);
    if (!fixed_context_) return;
    for (int64_t s = 0; s < batch; ++s) {
      const auto start = static_cast<size_t>(scheduled_batch.sequences[static_cast<size_t>(s)].start_position);
      sequences_[static_cast<size_t>(s)].tokens.resize(start);
    }
  }

  void Launch(int64_t batch, int64_t step_tokens, bool fed) {
    const Status launched = runner_.Launch(NextStep(batch, step_tokens, fed));
    SPECD_CHECK(launched.ok()) << launched.ToString();
  }

  void Collect() {
    const auto output = runner_.Collect();
    SPECD_CHECK(output.ok()) << output.status().ToString();
  }

  // The first `batch` sequences each bring step_tokens new tokens (the last step_tokens - 1 as
  // one-hot drafts), all with logits, and one sampling row. fed (single-token steps): each
  // sequence's token is the one the previous step sampled for it, filled in by the runner.
  SchedulerOutput NextStep(int64_t batch, int64_t step_tokens, bool fed) {
    SchedulerOutput scheduled_batch;
    for (int64_t s = 0; s < batch; ++s) {
      Sequence& seq = sequences_[static_cast<size_t>(s)];
      const size_t start = seq.tokens.size();
      const std::vector<int32_t> new_tokens = fed ? std::vector<int32_t>{0} : RandomTokens(step_tokens);
      seq.tokens.insert(seq.tokens.end(), new_tokens.begin(), new_tokens.end());
      SPECD_CHECK(static_cast<int64_t>(seq.tokens.size()) <= static_cast<int64_t>(seq.blocks.size()) * kBlockSize)
          << "sequence " << s << " ran out of blocks";
      ScheduledSequence scheduled;
      scheduled.token_ids = std::span<const int32_t>(seq.tokens).subspan(start);
      scheduled.start_position = static_cast<int64_t>(start);
      scheduled.block_table = seq.blocks;
      for (int32_t i = 0; i < step_tokens; ++i) scheduled.logits_indices.push_back(i);
      scheduled.num_draft_tokens = static_cast<int32_t>(step_tokens - 1);
      if (fed) scheduled.fed_from_sequence = static_cast<int32_t>(s);
      const std::span<const int32_t> all(seq.tokens);
      scheduled.sampling = SamplingRow{.logits = {}, .params = &sampling_, .seed = 0,
                                       .prompt_token_ids = all.first(seq.prompt_length),
                                       .output_token_ids = all.subspan(seq.prompt_length, start + 1 - seq.prompt_length),
                                       .eos_token_ids = {}};
      scheduled_batch.sequences.push_back(scheduled);
    }
    return scheduled_batch;
  }

  CudaRunner& runner_;
  SamplingParams sampling_;
  std::mt19937 rng_{7};
  std::uniform_int_distribution<int32_t> token_;
  bool fixed_context_ = false;
  std::vector<Sequence> sequences_;
};

nlohmann::json Row(const Run& run, const ModelConfig& config, double weight_bytes, double copy_bandwidth) {
  const double kv_bytes_per_token = 2.0 * static_cast<double>(config.num_hidden_layers * config.kv_size()) * 2;
  const double kv_bytes = kv_bytes_per_token * run.mean_context * static_cast<double>(run.batch);
  const double mean = Mean(run.step_ms), gap = Mean(run.gap_ms), gpu = Mean(run.gpu_ms);
  const double limit_ms = (weight_bytes + kv_bytes) / copy_bandwidth * 1e3;
  return {{"batch", run.batch}, {"step_tokens", run.step_tokens}, {"mean_context", run.mean_context},
          {"ms_per_step_mean", mean}, {"ms_per_step_p50", Percentile(run.step_ms, 0.5)},
          {"ms_per_step_p90", Percentile(run.step_ms, 0.9)},
          {"computed_tokens_per_s", static_cast<double>(run.batch * run.step_tokens) / (mean * 1e-3)},
          {"kv_bytes_per_step", kv_bytes}, {"bandwidth_limit_ms", limit_ms}, {"fraction_of_limit", limit_ms / mean},
          {"step_gpu_ms_mean", gpu}, {"host_gap_ms_mean", gap}, {"host_gap_ms_p90", Percentile(run.gap_ms, 0.9)},
          {"host_gap_fraction", gap / (gap + gpu)}};
}

int Main(int argc, char** argv) {
  FlagParser flags({"shape", "prompt", "new-tokens", "batches", "step-tokens", "temperature", "top-p", "top-k", "out"},
                   {"no-fast-small-gemms", "no-cuda-graphs", "no-fused-decode-layers", "fixed-context", "no-overlap"});
  SPECD_CHECK(flags.Parse(std::vector<std::string>(argv + 1, argv + argc)).ok()) << "bad flags";
  const std::string shape = flags.GetString("shape", "");
  const int64_t prompt_length = flags.GetInt("prompt", 128).value();
  const int64_t steps = flags.GetInt("new-tokens", 256).value();
  SPECD_CHECK(prompt_length > 0 && steps > 0) << "--prompt and --new-tokens must be positive";
  const auto temperature = static_cast<float>(flags.GetDouble("temperature", 0.0).value());
  SPECD_CHECK(temperature >= 0.0f) << "--temperature must not be negative";
  const auto top_p = static_cast<float>(flags.GetDouble("top-p", 1.0).value());
  SPECD_CHECK(top_p > 0.0f && top_p <= 1.0f) << "--top-p must be in (0, 1]";
  const auto top_k = static_cast<int32_t>(flags.GetInt("top-k", 0).value());
  SPECD_CHECK(top_k >= 0) << "--top-k must not be negative";
  const std::vector<int64_t> batches = ParseList("batches", flags.GetString("batches", "1"));
  const std::vector<int64_t> widths = ParseList("step-tokens", flags.GetString("step-tokens", "1"));
  const bool cuda_graphs = !flags.GetSwitch("no-cuda-graphs");
  const bool fast_small_gemms = !flags.GetSwitch("no-fast-small-gemms");
  const bool fused_decode_layers = !flags.GetSwitch("no-fused-decode-layers");
  const bool fixed_context = flags.GetSwitch("fixed-context");
  const bool overlap = !flags.GetSwitch("no-overlap") && !fixed_context;
  SetLogLevel("warn");
  auto config = LoadModelConfig(shape);
  SPECD_CHECK(config.ok()) << config.status().ToString();

  // Every run moves each of its sequences (capture + steps) * width positions on, an overlapped
  // one a step more.
  int64_t fed = 0;
  for (int64_t width : widths) fed += (kCaptureSteps + steps + 1) * width * static_cast<int64_t>(batches.size());
  const int64_t blocks_per_seq = (prompt_length + fed) / kBlockSize + 1;
  const int64_t num_seqs = *std::max_element(batches.begin(), batches.end());
  CudaRunnerOptions options{.block_size = kBlockSize, .num_blocks = blocks_per_seq * num_seqs,
                            .max_num_tokens = kMaxStepTokens, .fast_small_gemms = fast_small_gemms,
                            .cuda_graphs = cuda_graphs, .time_steps = true, .fused_decode_layers = fused_decode_layers};
  for (int64_t batch : batches) {
    for (int64_t width : widths) options.graph_token_buckets.push_back(batch * width);
  }
  auto runner = CudaRunner::CreateWithRandomWeights(*config, options, 1);
  SPECD_CHECK(runner.ok()) << runner.status().ToString();
  DecodeBench bench(**runner, config->vocab_size, fixed_context, temperature, top_p, top_k);
  bench.Prefill(num_seqs, prompt_length, blocks_per_seq);

  const double weight_bytes = static_cast<double>((*runner)->weight_bytes());
  nlohmann::json rows = nlohmann::json::array();
  std::vector<Run> runs;
  for (int64_t batch : batches) {
    for (int64_t width : widths) {
      runs.push_back(overlap && width == 1 ? bench.MeasureOverlapped(batch, steps) : bench.Measure(batch, width, steps));
    }
  }
  const double copy_bandwidth = CopyBandwidth();
  for (const Run& run : runs) {
    nlohmann::json row = Row(run, *config, weight_bytes, copy_bandwidth);
    row.update({{"benchmark", "model_decode"}, {"card", bench::GpuName()}, {"shape", shape},
                {"weight_bytes", weight_bytes}, {"prompt_tokens", prompt_length}, {"steps", steps},
                {"cuda_graphs", cuda_graphs}, {"fast_small_gemms", fast_small_gemms},
                {"fused_decode_layers", fused_decode_layers}, {"fixed_context", fixed_context},
                {"overlapped", overlap && run.step_tokens == 1},
                {"temperature", temperature}, {"top_p", top_p}, {"top_k", top_k},
                {"copy_bandwidth_tb_per_s", copy_bandwidth / 1e12}});
    std::cout << row.dump() << std::endl;
    rows.push_back(row);
  }
  if (flags.Has("out")) std::ofstream(flags.GetString("out", "")) << rows.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace specd

int main(int argc, char** argv) { return specd::Main(argc, argv); }
