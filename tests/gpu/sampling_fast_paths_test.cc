// The sampling fast paths against LaunchSampling on the same rows: the greedy path
// (kernels/greedy_sampling.h) and the plain path (kernels/plain_sampling.h: greedy rows and draws
// at a temperature, with or without top-p, top-k (alone or together) and min-p, at random RNG
// positions). Random logits with
// ties for the max (within a block, across blocks, +0 and -0, +inf and FLT_MAX), NaN and
// infinities, rows with nothing finite; batches of 1, 3 and 64 rows; vocabularies 128256, 32000,
// 1000 and 7 (not a multiple of 4: scalar loads); logprobs and ranks on and off. Token and rank
// must be equal, the logprob within 1e-5. Also: both paths replay in a CUDA graph, and GpuSampler
// sends a batch to the sampling kernel unless every row is plain. Outputs and workspace are
// poisoned before each launch.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include <catch2/catch.hpp>
#include <cuda_runtime.h>

#include "engine/runner/cuda/gpu_sampler.h"
#include "engine/spec/rejection_sampler.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/sampling_params.h"
#include "kernels/greedy_sampling.h"
#include "kernels/plain_sampling.h"
#include "kernels/sampling.h"
#include "tests/gpu/device_array.h"
#include "tests/gpu/sampling_refusals.h"

namespace specd {
namespace {

// GpuSampler's launch and collect, one after the other, as the runner does them.
Status SampleOnGpu(GpuSampler& sampler, const SchedulerOutput& batch, const float* logits, ModelOutput& output) {
  SPECD_ASSIGN_OR_RETURN(const GpuSampler::Launched launched, sampler.Launch(batch, logits, nullptr));
  return sampler.Collect(launched, output);
}

using testing::DeviceArray;
using Launcher = cudaError_t (*)(const kernels::SamplingKernelParams&, cudaStream_t);

constexpr float kLogprobTolerance = 1e-5f;  // absolute
constexpr int kNumVariants = 8;

// Row kinds (variant % kNumVariants): plain; max tied across the row; NaN / -inf / +inf sprinkled
// (+inf ties FLT_MAX); quantized (ties everywhere); +0 / -0 max; nothing finite; all equal; max at
// the last token.
std::vector<float> GreedyRow(std::mt19937_64& rng, int vocab, int variant) {
  std::normal_distribution<float> normal(std::uniform_real_distribution<float>(-3.0f, 3.0f)(rng),
                                         std::uniform_real_distribution<float>(0.5f, 4.0f)(rng));
  std::uniform_int_distribution<int> position(0, vocab - 1);
  std::vector<float> row(vocab);
  for (float& l : row) l = normal(rng);
  const float max = *std::max_element(row.begin(), row.end());
  switch (variant % kNumVariants) {
    case 1:
      for (int i = 0; i < 4; ++i) row[position(rng)] = max + 1.0f;
      for (int i = 0; i < 3; ++i) row[position(rng)] = std::nanf("");
      break;
    case 2:
      for (int i = 0; i < 5; ++i) row[position(rng)] = std::nanf("");
      for (int i = 0; i < 5; ++i) row[position(rng)] = -INFINITY;
      row[position(rng)] = INFINITY;
      row[position(rng)] = FLT_MAX;
      row[position(rng)] = -FLT_MAX;
      break;
    case 3:
      for (float& l : row) l = std::round(l);
      break;
    case 4:
      for (float& l : row) l = -std::fabs(l) - 0.25f;
      row[position(rng)] = -0.0f;
      row[position(rng)] = 0.0f;
      break;
    case 5:
      for (float& l : row) l = position(rng) % 2 == 0 ? -INFINITY : std::nanf("");
      break;
    case 6:
      std::fill(row.begin(), row.end(), 1.5f);
      break;
    case 7:
      row[vocab - 1] = max + 0.5f;
      break;
    default:
      break;
  }
  return row;
}

struct Outputs {
  std::vector<int32_t> tokens, ranks;
  std::vector<float> logprobs;
  std::vector<uint8_t> accepted;
};

// What a plain row may have besides its logits: temperature 0 (greedy) or a draw, top-p or top-k,
// min-p, the seed and the RNG position n (the number of output tokens, given as output_offsets).
struct PlainRows {
  std::vector<float> temperature, top_p, min_p;
  std::vector<int32_t> top_k;
  std::vector<uint64_t> seed;
  std::vector<int32_t> output_offsets;  // [rows + 1]; the ids are never read
};

PlainRows GreedyRows(int num_rows) {
  return {std::vector<float>(num_rows, 0.0f), std::vector<float>(num_rows, 1.0f), std::vector<float>(num_rows, 0.0f),
          std::vector<int32_t>(num_rows, 0), std::vector<uint64_t>(num_rows, 7), std::vector<int32_t>(num_rows + 1, 0)};
}

// Row r: greedy every fourth row, else a temperature in [0.3, 3]; top-p 1, 0.9, 0.5, 0.99 or 0.02
// by r % 5, top-k 0, 1, 50, 3000 or the vocabulary by r / 5 (so every pair of the two in 25 rows)
// and min-p 0.1 every third row; random seeds and positions.
PlainRows RandomPlainRows(std::mt19937_64& rng, int num_rows, int vocab) {
  PlainRows rows;
  rows.output_offsets.push_back(0);
  for (int r = 0; r < num_rows; ++r) {
    rows.temperature.push_back(r % 4 == 3 ? 0.0f : std::uniform_real_distribution<float>(0.3f, 3.0f)(rng));
    constexpr float kTopP[] = {1.0f, 0.9f, 0.5f, 0.99f, 0.02f};
    constexpr int32_t kTopKVocab = -1;  // top_k = vocab: off
    constexpr int32_t kTopK[] = {0, 1, 50, 3000, kTopKVocab};
    rows.top_p.push_back(kTopP[r % 5]);
    const int32_t top_k = kTopK[r / 5 % 5];
    rows.top_k.push_back(top_k == kTopKVocab ? vocab : top_k);
    rows.min_p.push_back(r % 3 == 1 ? 0.1f : 0.0f);
    rows.seed.push_back(rng());
    rows.output_offsets.push_back(rows.output_offsets.back() + std::uniform_int_distribution<int32_t>(0, 40)(rng));
  }
  return rows;
}

// The rows' parameters on the device.
struct DeviceRows {
  explicit DeviceRows(const PlainRows& rows)
      : temperature(rows.temperature), top_p(rows.top_p), min_p(rows.min_p), top_k(rows.top_k), seed(rows.seed),
        output_offsets(rows.output_offsets),
        any_top_p(std::any_of(rows.top_p.begin(), rows.top_p.end(), [](float p) { return p != 1.0f; })),
        any_top_k(std::any_of(rows.top_k.begin(), rows.top_k.end(), [](int32_t k) { return k != 0; })),
        output_ids(std::vector<int32_t>(std::max(rows.output_offsets.back(), 1), 0)) {}

  // Logits [num_rows, vocab] with these rows' parameters.
  kernels::SamplingKernelParams Params(const float* logits, int vocab, void* workspace) const {
    kernels::SamplingKernelParams p;
    p.logits = logits;
    p.num_rows = static_cast<int>(temperature.size());
    p.vocab = vocab;
    p.temperature = temperature.get();
    p.top_p = any_top_p ? top_p.get() : nullptr;  // as GpuSampler uploads them
    p.top_k = any_top_k ? top_k.get() : nullptr;
    p.min_p = min_p.get();
    p.seed = seed.get();
    p.output_offsets = output_offsets.get();
    p.output_token_ids = output_ids.get();
    p.workspace = workspace;
    return p;
  }

  DeviceArray<float> temperature, top_p, min_p;
  DeviceArray<int32_t> top_k;
  DeviceArray<uint64_t> seed;
  DeviceArray<int32_t> output_offsets;
  bool any_top_p, any_top_k;  // else the array goes as null: the plain fast path skips its cut pass
  DeviceArray<int32_t> output_ids;
};

// One launch with poisoned outputs and workspace; logprobs, ranks and acceptances only when asked.
Outputs Run(Launcher launch, const std::vector<float>& logits, const PlainRows& rows, int vocab, bool with_logprobs) {
  const int num_rows = static_cast<int>(rows.temperature.size());
  const DeviceArray<float> d_logits(logits);
  const DeviceRows d_rows(rows);
  auto workspace = DeviceArray<uint8_t>::Poisoned(kernels::SamplingWorkspaceBytes(num_rows, vocab));
  auto tokens = DeviceArray<int32_t>::Poisoned(num_rows), ranks = DeviceArray<int32_t>::Poisoned(num_rows);
  auto logprobs = DeviceArray<float>::Poisoned(num_rows);
  auto accepted = DeviceArray<uint8_t>::Poisoned(num_rows);
  kernels::SamplingKernelParams p = d_rows.Params(d_logits.get(), vocab, workspace.get());
  p.sampled_token_ids = tokens.get();
  if (with_logprobs) {
    p.sampled_logprobs = logprobs.get();
    p.sampled_ranks = ranks.get();
    p.draft_accepted = accepted.get();
  }
  REQUIRE(launch(p, nullptr) == cudaSuccess);
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  Outputs out{tokens.ToHost(), {}, {}, {}};
  if (with_logprobs) {
    out.ranks = ranks.ToHost();
    out.logprobs = logprobs.ToHost();
    out.accepted = accepted.ToHost();
  }
  return out;
}

// The fast path's outputs against the sampling kernel's.
void CheckSame(const Outputs& fast, const Outputs& reference, int vocab) {
  REQUIRE(fast.tokens.size() == reference.tokens.size());
  int mismatches = 0;
  for (size_t r = 0; r < fast.tokens.size(); ++r) {
    bool same = fast.tokens[r] == reference.tokens[r] && fast.tokens[r] >= 0 && fast.tokens[r] < vocab;
    if (!reference.logprobs.empty()) {
      same = same && fast.ranks[r] == reference.ranks[r] && fast.accepted[r] == 0 &&
             std::fabs(fast.logprobs[r] - reference.logprobs[r]) <= kLogprobTolerance;
    }
    if (!same && ++mismatches <= 10) {
      UNSCOPED_INFO("row " << r << ": fast token " << fast.tokens[r] << ", sampling kernel token "
                    << reference.tokens[r]);
      if (!reference.logprobs.empty()) {
        UNSCOPED_INFO("  rank " << fast.ranks[r] << " vs " << reference.ranks[r] << ", logprob "
                      << fast.logprobs[r] << " vs " << reference.logprobs[r] << ", accepted "
                      << int(fast.accepted[r]));
      }
    }
  }
  CHECK(mismatches == 0);
}

// Logits [num_rows, vocab] of GreedyRow variants first + r.
std::vector<float> Logits(std::mt19937_64& rng, int num_rows, int vocab, int first) {
  std::vector<float> logits;
  for (int r = 0; r < num_rows; ++r) {
    const std::vector<float> row = GreedyRow(rng, vocab, first + r);
    logits.insert(logits.end(), row.begin(), row.end());
  }
  return logits;
}

// Every configuration: the fast path against LaunchSampling on rows of every GreedyRow variant,
// greedy rows or RandomPlainRows.
void CheckAgainstSamplingKernel(Launcher fast_path, bool random_rows) {
  const int vocab = GENERATE(128256, 32000, 1000, 7);
  const int num_rows = GENERATE(1, 3, 64);
  const bool with_logprobs = GENERATE(true, false);
  CAPTURE(vocab, num_rows, with_logprobs);
  std::mt19937_64 rng(1234u + vocab + num_rows);
  // Small batches take several launches, so every variant is seen in every configuration.
  const int batches = num_rows >= kNumVariants ? 1 : kNumVariants;
  for (int batch = 0; batch < batches; ++batch) {
    CAPTURE(batch);
    const std::vector<float> logits = Logits(rng, num_rows, vocab, batch);
    const PlainRows rows = random_rows ? RandomPlainRows(rng, num_rows, vocab) : GreedyRows(num_rows);
    const Outputs reference = Run(kernels::LaunchSampling, logits, rows, vocab, with_logprobs);
    const Outputs fast = Run(fast_path, logits, rows, vocab, with_logprobs);
    CheckSame(fast, reference, vocab);
  }
}

TEST_CASE("Greedy fast path matches the sampling kernel", "[gpu][sampling][greedy]") {
  CheckAgainstSamplingKernel(kernels::LaunchGreedySampling, false);
}

TEST_CASE("Plain fast path matches the sampling kernel", "[gpu][sampling][plain]") {
  CheckAgainstSamplingKernel(kernels::LaunchPlainSampling, true);
}

// The comparisons above could pass on argmax tokens alone where both kernels drew the max: here most
// draws must be below it.
TEST_CASE("Plain fast path draws below the max at a temperature", "[gpu][sampling][plain]") {
  const int vocab = 32000, num_rows = 64;
  std::mt19937_64 rng(77);
  const std::vector<float> logits = Logits(rng, num_rows, vocab, 0);
  PlainRows rows = RandomPlainRows(rng, num_rows, vocab);
  std::fill(rows.temperature.begin(), rows.temperature.end(), 1.5f);
  std::fill(rows.top_p.begin(), rows.top_p.end(), 1.0f);
  std::fill(rows.top_k.begin(), rows.top_k.end(), 0);
  std::fill(rows.min_p.begin(), rows.min_p.end(), 0.0f);
  const Outputs fast = Run(kernels::LaunchPlainSampling, logits, rows, vocab, true);
  CheckSame(fast, Run(kernels::LaunchSampling, logits, rows, vocab, true), vocab);
  // Variants 0, 4 and 7 (3 / 8 of the rows) put many tokens within a few units of a lone max: at
  // T = 1.5 most of their draws are not the argmax. An argmax-only path would give none.
  const auto below = std::count_if(fast.ranks.begin(), fast.ranks.end(), [](int32_t rank) { return rank > 1; });
  CHECK(below >= num_rows / 8);
}

TEST_CASE("Greedy and plain fast paths refuse bad arguments", "[gpu][sampling][greedy][plain]") {
  testing::CheckSharedSamplingRefusals(kernels::LaunchGreedySampling);
  testing::CheckSharedSamplingRefusals(kernels::LaunchPlainSampling);
}

TEST_CASE("Greedy and plain fast paths replay in a CUDA graph", "[gpu][sampling][greedy][plain]") {
  const bool plain = GENERATE(false, true);
  CAPTURE(plain);
  const Launcher fast_path = plain ? kernels::LaunchPlainSampling : kernels::LaunchGreedySampling;
  const int vocab = 128256;
  const int num_rows = 3;
  std::mt19937_64 rng(99);
  const PlainRows rows = plain ? RandomPlainRows(rng, num_rows, vocab) : GreedyRows(num_rows);
  const DeviceRows d_rows(rows);
  auto logits = DeviceArray<float>::Poisoned(static_cast<size_t>(num_rows) * vocab);
  auto workspace = DeviceArray<uint8_t>::Poisoned(kernels::SamplingWorkspaceBytes(num_rows, vocab));
  auto tokens = DeviceArray<int32_t>::Poisoned(num_rows), ranks = DeviceArray<int32_t>::Poisoned(num_rows);
  auto logprobs = DeviceArray<float>::Poisoned(num_rows);
  kernels::SamplingKernelParams p = d_rows.Params(logits.get(), vocab, workspace.get());
  p.sampled_token_ids = tokens.get();
  p.sampled_logprobs = logprobs.get();
  p.sampled_ranks = ranks.get();
  cudaStream_t stream = nullptr;
  REQUIRE(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) == cudaSuccess);
  cudaGraph_t graph = nullptr;
  REQUIRE(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
  REQUIRE(fast_path(p, stream) == cudaSuccess);
  REQUIRE(cudaStreamEndCapture(stream, &graph) == cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  REQUIRE(cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess);
  // New logits each replay, the workspace as the last replay left it.
  for (int replay = 0; replay < 3; ++replay) {
    CAPTURE(replay);
    const std::vector<float> host = Logits(rng, num_rows, vocab, replay);
    REQUIRE(cudaMemcpy(logits.get(), host.data(), logits.Bytes(), cudaMemcpyHostToDevice) == cudaSuccess);
    REQUIRE(cudaGraphLaunch(exec, stream) == cudaSuccess);
    REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess);
    const Outputs replayed{tokens.ToHost(), ranks.ToHost(), logprobs.ToHost(), std::vector<uint8_t>(num_rows, 0)};
    CheckSame(replayed, Run(kernels::LaunchSampling, host, rows, vocab, true), vocab);
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}

// ---- GpuSampler's choice -----------------------------------------------------------------------

// Three sequences, one logits row each; the middle one's parameters by variant: 0 plain greedy
// (min_tokens already reached); 1 and 6 to 9 plain draws (temperature 0.7; 6 with top-k, 7 with
// min-p, 8 with top-p, 9 with top-k and top-p: the plain fast path); else one thing that needs the
// sampling kernel. Every row must be the CPU
// Sampler's, and for variants > 0 the middle row's CPU rank is > 1 (with a temperature: the first
// seed that draws the runner-up): the greedy fast path (rank 1) cannot pass.
TEST_CASE("GpuSampler gives the CPU Sampler's tokens on every path", "[gpu][sampling][greedy][plain]") {
  const int vocab = 1000;
  const int variant = GENERATE(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
  CAPTURE(variant);
  std::mt19937_64 rng(4321u + variant);
  std::vector<float> logits;
  for (int r = 0; r < 3; ++r) {
    const std::vector<float> row = GreedyRow(rng, vocab, 0);
    logits.insert(logits.end(), row.begin(), row.end());
  }
  // The middle row: a clear favourite and a runner-up.
  float* middle = logits.data() + vocab;
  const int32_t favourite = 17, runner_up = 401;
  middle[favourite] = 30.0f;
  middle[runner_up] = 29.0f;
  const std::vector<int32_t> eos = {0, 2};
  std::vector<SamplingParams> params(3);
  std::vector<std::vector<int32_t>> prompts(3, {5, 6}), outputs(3, {7, 8, 9});
  for (SamplingParams& p : params) p.temperature = 0.0f;
  SamplingParams& p = params[1];
  switch (variant) {
    case 0: p.min_tokens = 3; break;                        // reached: nothing masked
    case 1: p.temperature = 0.7f; middle[runner_up] = 29.9f; break;
    case 2: p.logit_bias[runner_up] = 5.0f; break;
    case 3: p.min_tokens = 4; p.stop_token_ids = {favourite}; break;
    case 4: p.repetition_penalty = 2.0f; prompts[1].push_back(favourite); break;
    case 5: p.presence_penalty = 2.0f; outputs[1].push_back(favourite); break;
    case 6: p.temperature = 0.7f; p.top_k = 5; middle[runner_up] = 29.9f; break;
    case 7: p.temperature = 0.7f; p.min_p = 0.5f; middle[runner_up] = 29.9f; break;  // w(runner-up) 0.87
    case 8: p.temperature = 0.7f; p.top_p = 0.9f; middle[runner_up] = 29.9f; break;  // p(favourite) 0.54
    case 9: p.temperature = 0.7f; p.top_k = 5; p.top_p = 0.9f; middle[runner_up] = 29.9f; break;
    default: break;
  }

  const std::vector<int32_t> new_token = {1};
  SchedulerOutput batch;
  std::vector<SampledToken> cpu;
  for (int r = 0; r < 3; ++r) {
    SamplingRow row;
    row.logits = std::span<const float>(logits.data() + static_cast<size_t>(r) * vocab, vocab);
    row.params = &params[r];
    row.seed = 1000u + r;
    row.prompt_token_ids = prompts[r];
    row.output_token_ids = outputs[r];
    row.eos_token_ids = eos;
    cpu.push_back(Sampler::Sample(row));
    while (r == 1 && params[r].temperature > 0.0f && cpu.back().rank == 1) {
      ++row.seed;
      cpu.back() = Sampler::Sample(row);
    }
    ScheduledSequence seq;
    seq.token_ids = new_token;
    seq.logits_indices = {0};
    seq.sampling = row;
    batch.sequences.push_back(seq);
  }
  if (variant > 0) REQUIRE(cpu[1].rank > 1);

  auto sampler = GpuSampler::Create(3, vocab);
  REQUIRE(sampler.ok());
  const DeviceArray<float> d_logits(logits);
  ModelOutput output;
  REQUIRE(SampleOnGpu(**sampler, batch, d_logits.get(), output).ok());
  REQUIRE(output.sampled.size() == 3);
  for (int r = 0; r < 3; ++r) {
    CAPTURE(r);
    REQUIRE(output.sampled[r].size() == 1);
    const SampledToken& gpu = output.sampled[r][0];
    CHECK(gpu.token == cpu[r].token);
    CHECK(gpu.rank == cpu[r].rank);
    CHECK(std::fabs(gpu.logprob - cpu[r].logprob) <= kLogprobTolerance);
  }
}

// Greedy requests verifying k drafts, request r's first r drafts the argmax of their rows and the
// next one not: GpuSampler's fast paths (no kernel reads a draft) emit VerifyDrafts' tokens, the
// accepted drafts and then the correction, or all k and the bonus token. With a request drawing at
// temperature 1 after them, the batch takes the plain fast path instead of the greedy one.
TEST_CASE("GpuSampler verifies greedy drafts on the fast paths as VerifyDrafts does", "[gpu][sampling][greedy][plain]") {
  const bool with_draw = GENERATE(false, true);
  CAPTURE(with_draw);
  const int vocab = 1000, k = 4;
  std::mt19937_64 rng(2468u);
  std::uniform_int_distribution<int32_t> any_token(0, vocab - 1);
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  const std::vector<int32_t> prompt = {5, 6}, output_so_far = {7}, eos = {0};
  std::vector<float> logits;                    // [(k + 1) requests x (k + 1) rows, vocab]
  std::vector<std::vector<int32_t>> fed(k + 1);  // per request: its last token, then its drafts
  std::vector<std::vector<SampledToken>> expected;
  for (int r = 0; r <= k; ++r) {
    const size_t first = logits.size();
    fed[r] = {3};
    for (int i = 0; i <= k; ++i) {
      const std::vector<float> row = GreedyRow(rng, vocab, 0);
      logits.insert(logits.end(), row.begin(), row.end());
      if (i == k) break;
      const auto argmax = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
      fed[r].push_back(i < r ? argmax : i == r ? (argmax + 1) % vocab : any_token(rng));
    }
    VerifyInput input;
    input.target_logits = std::span<const float>(logits).subspan(first);
    input.sampling = SamplingRow{.logits = {}, .params = &greedy, .seed = 0, .prompt_token_ids = prompt,
                                 .output_token_ids = output_so_far, .eos_token_ids = eos};
    input.draft_tokens = std::span<const int32_t>(fed[r]).subspan(1);
    input.vocab_size = vocab;
    expected.push_back(VerifyDrafts(input));
    REQUIRE(expected.back().size() == static_cast<size_t>(r + 1));
  }
  SchedulerOutput batch;
  for (int r = 0; r <= k; ++r) {
    ScheduledSequence seq;
    seq.token_ids = fed[r];
    seq.num_draft_tokens = k;
    for (int32_t i = 0; i <= k; ++i) seq.logits_indices.push_back(i);
    seq.sampling = SamplingRow{.logits = {}, .params = &greedy, .seed = 0, .prompt_token_ids = prompt,
                               .output_token_ids = output_so_far, .eos_token_ids = eos};
    batch.sequences.push_back(seq);
  }
  const SamplingParams draw;  // temperature 1, nothing else
  const std::vector<int32_t> last_token = {3};
  if (with_draw) {
    const std::vector<float> row = GreedyRow(rng, vocab, 0);
    logits.insert(logits.end(), row.begin(), row.end());
    ScheduledSequence seq;
    seq.token_ids = last_token;
    seq.logits_indices = {0};
    seq.sampling = SamplingRow{.logits = {}, .params = &draw, .seed = 55, .prompt_token_ids = prompt,
                               .output_token_ids = output_so_far, .eos_token_ids = eos};
    batch.sequences.push_back(seq);
    SamplingRow cpu_row = *seq.sampling;
    cpu_row.logits = std::span<const float>(logits).last(vocab);
    expected.push_back({Sampler::Sample(cpu_row)});
  }
  auto sampler = GpuSampler::Create((k + 1) * (k + 1) + 1, vocab);
  REQUIRE(sampler.ok());
  const DeviceArray<float> d_logits(logits);
  ModelOutput output;
  REQUIRE(SampleOnGpu(**sampler, batch, d_logits.get(), output).ok());
  REQUIRE(output.sampled.size() == expected.size());
  for (size_t r = 0; r < expected.size(); ++r) {
    CAPTURE(r);
    REQUIRE(output.sampled[r].size() == expected[r].size());
    for (size_t i = 0; i < expected[r].size(); ++i) {
      CAPTURE(i);
      CHECK(output.sampled[r][i].token == expected[r][i].token);
      CHECK(output.sampled[r][i].rank == expected[r][i].rank);
      CHECK(std::fabs(output.sampled[r][i].logprob - expected[r][i].logprob) <= kLogprobTolerance);
    }
  }
}

}  // namespace
}  // namespace specd
