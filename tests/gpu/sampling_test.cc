// The GPU sampling kernels against the CPU Sampler and rejection sampler on the same logits and
// parameters: random logits (normal, several scales, some quantized into ties, some with NaN and
// infinities), vocabularies of 320, 8192 and 128256, every class of parameters, many seeds. The
// token must be the CPU's on every row, and so must the rank; the logprob within fp32 noise. Plus
// a chi-square check of the empirical distribution over seeds, the refusals, and timings.
// Outputs are poisoned (and the workspace filled with garbage) before each launch.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <cuda_runtime.h>

#include "engine/sampling/sampler.h"
#include "engine/sampling/sampling_params.h"
#include "engine/spec/rejection_sampler.h"
#include "kernels/greedy_sampling.h"
#include "kernels/plain_sampling.h"
#include "kernels/sampling.h"
#include "tests/gpu/sampling_refusals.h"

namespace specd {
namespace {

#define CUDA_REQUIRE(call) REQUIRE((call) == cudaSuccess)

constexpr float kLogprobTolerance = 2e-6f;  // absolute, plus the same relative

// A device array that frees itself.
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  // An empty array still gets a (1-element) allocation: "given but empty", not null.
  explicit DeviceArray(const std::vector<T>& host) : count_(host.size()) {
    CUDA_REQUIRE(cudaMalloc(&data_, std::max<size_t>(count_, 1) * sizeof(T)));
    if (count_ == 0) return;
    CUDA_REQUIRE(cudaMemcpy(data_, host.data(), count_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  DeviceArray(size_t count, int byte) : count_(count) {
    CUDA_REQUIRE(cudaMalloc(&data_, count_ * sizeof(T)));
    CUDA_REQUIRE(cudaMemset(data_, byte, count_ * sizeof(T)));
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() {
    if (data_ != nullptr) cudaFree(data_);
  }
  T* get() const { return data_; }
  std::vector<T> ToHost() const {
    std::vector<T> host(count_);
    if (count_ > 0) {
      CUDA_REQUIRE(cudaMemcpy(host.data(), data_, count_ * sizeof(T), cudaMemcpyDeviceToHost));
    }
    return host;
  }

 private:
  T* data_ = nullptr;
  size_t count_ = 0;
};

struct RowCase {
  std::vector<float> logits;  // [vocab]
  SamplingParams params;
  uint64_t seed = 0;
  std::vector<int32_t> prompt;
  std::vector<int32_t> output;
  int32_t draft = -1;
  std::vector<float> draft_probs;  // [vocab], or empty: one-hot on the draft
  std::string kind;
};

struct GpuOutput {
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;
  std::vector<int32_t> ranks;
  std::vector<uint8_t> accepted;
  double microseconds = 0.0;        // per launch, when timed: launched one by one
  double graph_microseconds = 0.0;  // the same launches replayed as one CUDA graph
};

// A CSR list per row.
template <typename Get>
void Csr(const std::vector<RowCase>& rows, Get get, std::vector<int32_t>& offsets,
         std::vector<int32_t>& ids) {
  offsets.assign(1, 0);
  ids.clear();
  for (const RowCase& row : rows) {
    for (const int32_t id : get(row)) ids.push_back(id);
    offsets.push_back(static_cast<int32_t>(ids.size()));
  }
}

using Launcher = cudaError_t (*)(const kernels::SamplingKernelParams&, cudaStream_t);

// Per launch: repeats launches captured in one CUDA graph, replayed once (no host launch cost).
double GraphMicroseconds(const kernels::SamplingKernelParams& params, Launcher launch, int repeats) {
  cudaStream_t stream = nullptr;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  cudaEvent_t start, stop;
  CUDA_REQUIRE(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  CUDA_REQUIRE(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < repeats; ++i) CUDA_REQUIRE(launch(params, stream));
  CUDA_REQUIRE(cudaStreamEndCapture(stream, &graph));
  CUDA_REQUIRE(cudaGraphInstantiate(&exec, graph, 0));
  CUDA_REQUIRE(cudaGraphLaunch(exec, stream));  // warm-up
  CUDA_REQUIRE(cudaEventCreate(&start));
  CUDA_REQUIRE(cudaEventCreate(&stop));
  CUDA_REQUIRE(cudaEventRecord(start, stream));
  CUDA_REQUIRE(cudaGraphLaunch(exec, stream));
  CUDA_REQUIRE(cudaEventRecord(stop, stream));
  CUDA_REQUIRE(cudaEventSynchronize(stop));
  float ms = 0.0f;
  CUDA_REQUIRE(cudaEventElapsedTime(&ms, start, stop));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
  return 1000.0 * ms / repeats;
}

// Packs the rows, launches (timed_repeats > 0: that many more times, timed, one by one and as a
// graph), fetches outputs.
GpuOutput RunOnGpu(const std::vector<RowCase>& rows, int vocab, const std::vector<int32_t>& eos,
                   int timed_repeats = 0, Launcher launch = kernels::LaunchSampling) {
  const int num_rows = static_cast<int>(rows.size());
  std::vector<float> logits, temperature, top_p, min_p, repetition, presence, frequency;
  std::vector<int32_t> top_k, min_tokens, drafts;
  std::vector<uint8_t> ignore_eos;
  std::vector<uint64_t> seeds;
  std::vector<float> draft_probs;
  bool any_probs = false;
  for (const RowCase& row : rows) any_probs = any_probs || !row.draft_probs.empty();
  for (const RowCase& row : rows) {
    REQUIRE(static_cast<int>(row.logits.size()) == vocab);
    logits.insert(logits.end(), row.logits.begin(), row.logits.end());
    const SamplingParams& p = row.params;
    temperature.push_back(p.temperature);
    top_p.push_back(p.top_p);
    min_p.push_back(p.min_p);
    repetition.push_back(p.repetition_penalty);
    presence.push_back(p.presence_penalty);
    frequency.push_back(p.frequency_penalty);
    top_k.push_back(p.top_k);
    min_tokens.push_back(p.min_tokens);
    ignore_eos.push_back(p.ignore_eos ? 1 : 0);
    seeds.push_back(row.seed);
    drafts.push_back(row.draft);
    if (any_probs) {
      if (row.draft_probs.empty()) {
        draft_probs.resize(draft_probs.size() + vocab, 0.0f);
      } else {
        draft_probs.insert(draft_probs.end(), row.draft_probs.begin(), row.draft_probs.end());
      }
    }
  }
  std::vector<int32_t> prompt_offsets, prompt_ids, output_offsets, output_ids, bias_offsets,
      bias_ids, stop_offsets, stop_ids;
  Csr(rows, [](const RowCase& r) { return r.prompt; }, prompt_offsets, prompt_ids);
  Csr(rows, [](const RowCase& r) { return r.output; }, output_offsets, output_ids);
  Csr(rows, [](const RowCase& r) { return r.params.stop_token_ids; }, stop_offsets, stop_ids);
  Csr(rows, [](const RowCase& r) {
        std::vector<int32_t> ids;
        for (const auto& [token, bias] : r.params.logit_bias) ids.push_back(token);
        return ids;
      }, bias_offsets, bias_ids);
  std::vector<float> bias_values;
  for (const RowCase& row : rows) {
    for (const auto& [token, bias] : row.params.logit_bias) bias_values.push_back(bias);
  }

  const DeviceArray<float> d_logits(logits), d_temperature(temperature), d_top_p(top_p),
      d_min_p(min_p), d_repetition(repetition), d_presence(presence), d_frequency(frequency),
      d_bias_values(bias_values), d_draft_probs(draft_probs);
  const DeviceArray<int32_t> d_top_k(top_k), d_min_tokens(min_tokens), d_drafts(drafts),
      d_prompt_offsets(prompt_offsets), d_prompt_ids(prompt_ids),
      d_output_offsets(output_offsets), d_output_ids(output_ids), d_bias_offsets(bias_offsets),
      d_bias_ids(bias_ids), d_stop_offsets(stop_offsets), d_stop_ids(stop_ids), d_eos(eos);
  const DeviceArray<uint8_t> d_ignore_eos(ignore_eos);
  const DeviceArray<uint64_t> d_seeds(seeds);
  const DeviceArray<uint8_t> workspace(kernels::SamplingWorkspaceBytes(num_rows, vocab), 0xA5);
  const DeviceArray<int32_t> d_tokens(num_rows, 0xAB), d_ranks(num_rows, 0xAB);
  const DeviceArray<float> d_logprobs(num_rows, 0xAB);
  const DeviceArray<uint8_t> d_accepted(num_rows, 0xAB);

  kernels::SamplingKernelParams params;
  params.logits = d_logits.get();
  params.num_rows = num_rows;
  params.vocab = vocab;
  params.temperature = d_temperature.get();
  params.seed = d_seeds.get();
  const bool any_top_k = std::any_of(top_k.begin(), top_k.end(), [](int32_t k) { return k != 0; });
  params.top_k = any_top_k ? d_top_k.get() : nullptr;
  // As GpuSampler uploads them: none when no row cuts (the plain fast path then skips its cut pass).
  const bool any_top_p = std::any_of(top_p.begin(), top_p.end(), [](float p) { return p != 1.0f; });
  params.top_p = any_top_p ? d_top_p.get() : nullptr;
  params.min_p = d_min_p.get();
  params.repetition_penalty = d_repetition.get();
  params.presence_penalty = d_presence.get();
  params.frequency_penalty = d_frequency.get();
  params.min_tokens = d_min_tokens.get();
  params.ignore_eos = d_ignore_eos.get();
  params.prompt_offsets = d_prompt_offsets.get();
  params.prompt_token_ids = d_prompt_ids.get();
  params.output_offsets = d_output_offsets.get();
  params.output_token_ids = d_output_ids.get();
  params.logit_bias_offsets = d_bias_offsets.get();
  params.logit_bias_token_ids = d_bias_ids.get();
  params.logit_bias_values = d_bias_values.get();
  params.stop_token_offsets = d_stop_offsets.get();
  params.stop_token_ids = d_stop_ids.get();
  params.eos_token_ids = d_eos.get();
  params.num_eos = static_cast<int>(eos.size());
  params.draft_token_ids = d_drafts.get();
  params.draft_probs = any_probs ? d_draft_probs.get() : nullptr;
  params.workspace = workspace.get();
  params.sampled_token_ids = d_tokens.get();
  params.sampled_logprobs = d_logprobs.get();
  params.sampled_ranks = d_ranks.get();
  params.draft_accepted = d_accepted.get();
  CUDA_REQUIRE(launch(params, nullptr));
  CUDA_REQUIRE(cudaDeviceSynchronize());

  GpuOutput out;
  out.tokens = d_tokens.ToHost();
  out.logprobs = d_logprobs.ToHost();
  out.ranks = d_ranks.ToHost();
  out.accepted = d_accepted.ToHost();
  if (timed_repeats > 0) {
    cudaEvent_t start, stop;
    CUDA_REQUIRE(cudaEventCreate(&start));
    CUDA_REQUIRE(cudaEventCreate(&stop));
    CUDA_REQUIRE(cudaEventRecord(start, nullptr));
    for (int i = 0; i < timed_repeats; ++i) CUDA_REQUIRE(launch(params, nullptr));
    CUDA_REQUIRE(cudaEventRecord(stop, nullptr));
    CUDA_REQUIRE(cudaEventSynchronize(stop));
    float ms = 0.0f;
    CUDA_REQUIRE(cudaEventElapsedTime(&ms, start, stop));
    out.microseconds = 1000.0 * ms / timed_repeats;
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    out.graph_microseconds = GraphMicroseconds(params, launch, timed_repeats);
    // The timed launches wrote the same outputs again.
    REQUIRE(d_tokens.ToHost() == out.tokens);
  }
  return out;
}

SamplingRow CpuRow(const RowCase& row, const std::vector<int32_t>& eos) {
  SamplingRow cpu;
  cpu.logits = row.logits;
  cpu.params = &row.params;
  cpu.seed = row.seed;
  cpu.prompt_token_ids = row.prompt;
  cpu.output_token_ids = row.output;
  cpu.eos_token_ids = eos;
  return cpu;
}

bool LogprobClose(float gpu, float cpu) {
  return std::fabs(gpu - cpu) <= kLogprobTolerance * (1.0f + std::fabs(cpu));
}

// ---- random rows -------------------------------------------------------------------------------

enum Kind {
  kGreedy, kTemperature, kTopK, kTopP, kMinP, kPenalties, kLogitBias, kMinTokens, kTies,
  kSpecialValues, kGreedyProcessed, kCombo, kNumKinds
};
const char* const kKindNames[] = {"greedy", "temperature", "top-k", "top-p", "min-p",
                                  "penalties", "logit-bias", "min-tokens", "ties",
                                  "special-values", "greedy+processing", "combo"};

template <typename T>
T Pick(std::mt19937_64& rng, std::initializer_list<T> values) {
  std::uniform_int_distribution<size_t> index(0, values.size() - 1);
  return *(values.begin() + index(rng));
}

std::vector<float> RandomLogits(std::mt19937_64& rng, int vocab) {
  std::normal_distribution<float> normal(Pick(rng, {-2.0f, 0.0f, 3.0f}),
                                         Pick(rng, {0.5f, 1.0f, 2.0f, 4.0f}));
  std::vector<float> logits(vocab);
  for (float& l : logits) l = normal(rng);
  return logits;
}

std::vector<int32_t> RandomHistory(std::mt19937_64& rng, int vocab, int max_length) {
  // Drawn from a small pool, so tokens repeat.
  std::uniform_int_distribution<int> length(0, max_length);
  std::uniform_int_distribution<int32_t> token(0, vocab - 1);
  std::vector<int32_t> pool(8 + length(rng) / 4);
  for (int32_t& t : pool) t = token(rng);
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  std::vector<int32_t> history(length(rng));
  for (int32_t& t : history) t = pool[pick(rng)];
  return history;
}

void AddPenalties(std::mt19937_64& rng, int vocab, RowCase& row) {
  row.prompt = RandomHistory(rng, vocab, 300);
  row.output = RandomHistory(rng, vocab, 120);
  row.params.repetition_penalty = Pick(rng, {1.0f, 0.7f, 1.3f, 2.0f});
  row.params.presence_penalty = Pick(rng, {0.0f, -1.0f, 0.5f, 2.0f});
  row.params.frequency_penalty = Pick(rng, {0.0f, -0.5f, 0.7f, 1.9f});
}

void AddLogitBias(std::mt19937_64& rng, int vocab, RowCase& row) {
  std::uniform_int_distribution<int> count(1, 20);
  std::uniform_int_distribution<int32_t> token(0, vocab - 1);
  std::uniform_real_distribution<float> bias(-100.0f, 100.0f);
  const int n = count(rng);
  for (int i = 0; i < n; ++i) row.params.logit_bias[token(rng)] = i == 0 ? 100.0f : bias(rng);
  if (n > 10) row.params.logit_bias.begin()->second = 5.0f;
}

void AddMinTokens(std::mt19937_64& rng, int vocab, RowCase& row) {
  std::uniform_int_distribution<int32_t> token(0, vocab - 1);
  row.output = RandomHistory(rng, vocab, 20);
  row.params.min_tokens = static_cast<int32_t>(row.output.size()) + Pick(rng, {0, 1, 5});
  row.params.max_tokens = std::max(row.params.min_tokens, 1);
  row.params.ignore_eos = Pick(rng, {false, true});
  row.params.stop_token_ids = {token(rng), token(rng)};
  // Make the masked tokens the likely ones.
  for (const int32_t t : row.params.stop_token_ids) row.logits[t] += 20.0f;
  row.logits[0] += 20.0f;  // an eos id of the tests
}

RowCase RandomRow(std::mt19937_64& rng, int vocab, Kind kind) {
  RowCase row;
  row.kind = kKindNames[kind];
  row.logits = RandomLogits(rng, vocab);
  row.seed = rng();
  SamplingParams& p = row.params;
  p.temperature = Pick(rng, {0.05f, 0.5f, 1.0f, 1.7f});
  const int32_t top_k = Pick(rng, {1, 2, 10, 100, 1000, vocab / 2, vocab - 1, vocab + 5});
  const float top_p = Pick(rng, {0.01f, 0.3f, 0.8f, 0.95f, 0.999f});
  const float min_p = Pick(rng, {0.001f, 0.05f, 0.3f, 1.0f});
  switch (kind) {
    case kGreedy: p.temperature = 0.0f; break;
    case kTemperature: break;
    case kTopK: p.top_k = top_k; break;
    case kTopP: p.top_p = top_p; break;
    case kMinP: p.min_p = min_p; break;
    case kPenalties: AddPenalties(rng, vocab, row); break;
    case kLogitBias: AddLogitBias(rng, vocab, row); break;
    case kMinTokens: AddMinTokens(rng, vocab, row); break;
    case kTies:
      // Few distinct values: ties everywhere, also at the top-k / top-p cut.
      for (float& l : row.logits) l = std::round(l * 2.0f) / 2.0f;
      p.top_k = Pick(rng, {0, top_k});
      p.top_p = Pick(rng, {1.0f, top_p});
      p.min_p = Pick(rng, {0.0f, min_p});
      p.temperature = Pick(rng, {0.0f, p.temperature});
      break;
    case kSpecialValues: {
      std::uniform_int_distribution<int> position(0, vocab - 1);
      const int variant = Pick(rng, {0, 1, 2, 3});
      if (variant == 0) {  // a sprinkling of NaN and infinities
        for (int i = 0; i < 5; ++i) row.logits[position(rng)] = std::nanf("");
        for (int i = 0; i < 5; ++i) row.logits[position(rng)] = -INFINITY;
        row.logits[position(rng)] = Pick(rng, {INFINITY, 1e30f});
      } else if (variant == 1) {  // nothing finite: uniform
        std::fill(row.logits.begin(), row.logits.end(), Pick(rng, {-INFINITY, std::nanf("")}));
      } else if (variant == 2) {  // nothing finite after masking: the raw row
        row.output = {};
        row.params.min_tokens = 1;
        for (int t = 0; t < vocab; ++t) {
          if (t % 3 != 0) row.logits[t] = -INFINITY;
          if (t % 3 == 0) row.params.stop_token_ids.push_back(t);
        }
      } else {  // all equal
        std::fill(row.logits.begin(), row.logits.end(), 1.5f);
      }
      p.top_k = Pick(rng, {0, top_k});
      p.top_p = Pick(rng, {1.0f, top_p});
      p.temperature = Pick(rng, {0.0f, p.temperature});
      break;
    }
    case kGreedyProcessed:
      p.temperature = 0.0f;
      AddPenalties(rng, vocab, row);
      AddLogitBias(rng, vocab, row);
      break;
    case kCombo:
      p.top_k = Pick(rng, {0, top_k});
      p.top_p = Pick(rng, {1.0f, top_p});
      p.min_p = Pick(rng, {0.0f, min_p});
      if (Pick(rng, {false, true})) AddPenalties(rng, vocab, row);
      if (Pick(rng, {false, true})) AddLogitBias(rng, vocab, row);
      if (Pick(rng, {false, true})) AddMinTokens(rng, vocab, row);
      break;
    default: break;
  }
  return row;
}

const std::vector<int32_t> kEos = {0, 2};

// Every row's GPU token, rank and logprob against the CPU Sampler.
void CheckAgainstCpu(const std::vector<RowCase>& rows, const GpuOutput& gpu) {
  int mismatches = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    const SampledToken cpu = Sampler::Sample(CpuRow(rows[r], kEos));
    const bool same = gpu.tokens[r] == cpu.token && gpu.ranks[r] == cpu.rank &&
                      LogprobClose(gpu.logprobs[r], cpu.logprob) && gpu.accepted[r] == 0;
    if (!same && ++mismatches <= 10) {
      UNSCOPED_INFO("row " << r << " (" << rows[r].kind << ", T " << rows[r].params.temperature
                    << ", k " << rows[r].params.top_k << ", p " << rows[r].params.top_p
                    << ", min_p " << rows[r].params.min_p << "): gpu token " << gpu.tokens[r]
                    << " rank " << gpu.ranks[r] << " logprob " << gpu.logprobs[r]
                    << " accepted " << int(gpu.accepted[r]) << "; cpu token " << cpu.token
                    << " rank " << cpu.rank << " logprob " << cpu.logprob);
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("GPU sampling matches the CPU Sampler on every row", "[gpu][sampling]") {
  const auto [vocab, per_kind] =
      GENERATE(std::make_pair(320, 96), std::make_pair(8192, 40), std::make_pair(128256, 10));
  CAPTURE(vocab);
  std::mt19937_64 rng(20240611u + vocab);
  std::vector<RowCase> rows;
  for (int i = 0; i < per_kind; ++i) {
    for (int kind = 0; kind < kNumKinds; ++kind) {
      rows.push_back(RandomRow(rng, vocab, static_cast<Kind>(kind)));
    }
  }
  const GpuOutput gpu = RunOnGpu(rows, vocab, kEos);
  CheckAgainstCpu(rows, gpu);
}

TEST_CASE("GPU sampling: one logits row with many seeds gives the CPU tokens", "[gpu][sampling]") {
  // Thresholds at every position of one row: the draw's boundaries are hit from all sides.
  const int vocab = GENERATE(320, 8192);
  std::mt19937_64 rng(77 + vocab);
  const std::vector<float> logits = RandomLogits(rng, vocab);
  std::vector<RowCase> rows;
  for (int i = 0; i < 2000; ++i) {
    RowCase row;
    row.kind = "seeds";
    row.logits = logits;
    row.seed = static_cast<uint64_t>(i);
    row.output.assign(static_cast<size_t>(i % 7), 1);
    row.params.temperature = Pick(rng, {0.3f, 1.0f});
    row.params.top_p = Pick(rng, {1.0f, 0.5f, 0.9f});
    row.params.top_k = Pick(rng, {0, 3, 40});
    row.params.min_p = Pick(rng, {0.0f, 0.02f});
    rows.push_back(row);
  }
  CheckAgainstCpu(rows, RunOnGpu(rows, vocab, kEos));
}

TEST_CASE("GPU sampling: frequencies over seeds follow the distribution", "[gpu][sampling]") {
  const int vocab = 16;
  const int draws = 1 << 16;
  std::mt19937_64 rng(5);
  std::vector<float> logits = RandomLogits(rng, vocab);
  const auto [top_k, top_p] = GENERATE(std::make_pair(0, 1.0f), std::make_pair(6, 0.8f));
  CAPTURE(top_k, top_p);
  std::vector<RowCase> rows(draws);
  for (int i = 0; i < draws; ++i) {
    rows[i].logits = logits;
    rows[i].seed = static_cast<uint64_t>(i) * 7919u;
    rows[i].params.temperature = 1.0f;
    rows[i].params.top_k = top_k;
    rows[i].params.top_p = top_p;
  }
  const GpuOutput gpu = RunOnGpu(rows, vocab, kEos);
  const std::vector<float> probs = Sampler::Probabilities(CpuRow(rows[0], kEos));
  std::vector<int> observed(vocab, 0);
  for (const int32_t token : gpu.tokens) {
    REQUIRE(token >= 0);
    REQUIRE(token < vocab);
    ++observed[token];
  }
  double chi_square = 0.0;
  int degrees = -1;
  for (int t = 0; t < vocab; ++t) {
    if (probs[t] == 0.0f) {
      CHECK(observed[t] == 0);
      continue;
    }
    const double expected = probs[t] * draws;
    chi_square += (observed[t] - expected) * (observed[t] - expected) / expected;
    ++degrees;
  }
  CAPTURE(chi_square, degrees);
  // The 0.999 quantile of chi-square with 15 (resp. 5) degrees of freedom is 37.7 (20.5).
  CHECK(chi_square < (degrees >= 15 ? 37.7 : 20.5));
  CheckAgainstCpu(rows, gpu);
}

TEST_CASE("GPU sampling refuses bad arguments and marks bad rows", "[gpu][sampling]") {
  kernels::SamplingKernelParams bad = testing::CheckSharedSamplingRefusals(kernels::LaunchSampling);
  bad.num_eos = -1;
  CHECK(kernels::LaunchSampling(bad, nullptr) == cudaErrorInvalidValue);

  // Rows with parameters outside SamplingParams::Validate's ranges get -1; the others sample.
  const int vocab = 1000;
  std::mt19937_64 rng(99);
  std::vector<RowCase> rows;
  std::vector<bool> valid;
  const auto add = [&](bool ok, auto edit) {
    RowCase row = RandomRow(rng, vocab, kCombo);
    edit(row);
    rows.push_back(row);
    valid.push_back(ok);
  };
  const auto nothing = [](RowCase&) {};
  add(true, nothing);
  add(false, [](RowCase& r) { r.params.temperature = -1.0f; });
  add(false, [](RowCase& r) { r.params.temperature = std::nanf(""); });
  add(false, [](RowCase& r) { r.params.temperature = INFINITY; });
  add(true, nothing);
  add(false, [](RowCase& r) { r.params.top_k = -1; });
  add(false, [](RowCase& r) { r.params.top_p = 0.0f; });
  add(false, [](RowCase& r) { r.params.top_p = 1.5f; });
  add(false, [](RowCase& r) { r.params.min_p = 1.5f; });
  add(false, [](RowCase& r) { r.params.repetition_penalty = 0.0f; });
  add(false, [](RowCase& r) { r.params.presence_penalty = 3.0f; });
  add(false, [&](RowCase& r) { r.params.logit_bias[vocab + 3] = 1.0f; });
  add(false, [](RowCase& r) { r.params.logit_bias[3] = 300.0f; });
  add(false, [&](RowCase& r) {
    r.params.repetition_penalty = 1.5f;
    r.prompt.push_back(vocab);
  });
  add(false, [&](RowCase& r) { r.draft = vocab; });
  add(true, nothing);
  const GpuOutput gpu = RunOnGpu(rows, vocab, kEos);
  std::vector<RowCase> good_rows;
  GpuOutput good;
  for (size_t r = 0; r < rows.size(); ++r) {
    CAPTURE(r);
    if (valid[r]) {
      good_rows.push_back(rows[r]);
      good.tokens.push_back(gpu.tokens[r]);
      good.logprobs.push_back(gpu.logprobs[r]);
      good.ranks.push_back(gpu.ranks[r]);
      good.accepted.push_back(gpu.accepted[r]);
    } else {
      CHECK(gpu.tokens[r] == -1);
      CHECK(std::isnan(gpu.logprobs[r]));
    }
  }
  CheckAgainstCpu(good_rows, good);
}

// ---- draft verification ----------------------------------------------------------------------

std::vector<float> Softmax(const std::vector<float>& logits, float temperature) {
  const float max = *std::max_element(logits.begin(), logits.end());
  std::vector<double> e(logits.size());
  double sum = 0.0;
  for (size_t t = 0; t < logits.size(); ++t) sum += e[t] = std::exp((logits[t] - max) / temperature);
  std::vector<float> probs(logits.size());
  for (size_t t = 0; t < logits.size(); ++t) probs[t] = static_cast<float>(e[t] / sum);
  return probs;
}

int32_t Draw(const std::vector<float>& probs, std::mt19937_64& rng) {
  std::discrete_distribution<int32_t> dist(probs.begin(), probs.end());
  return dist(rng);
}

struct Request {
  std::vector<float> target;  // [k + 1, vocab]
  std::vector<float> q;       // [k, vocab] or empty
  std::vector<int32_t> drafts;
  RowCase base;               // params, seed, prompt, output so far
};

void CheckVerification(int vocab, bool with_probs, int num_requests, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Request> requests;
  std::vector<RowCase> rows;
  for (int r = 0; r < num_requests; ++r) {
    Request req;
    const Kind kind = Pick(rng, {kGreedy, kTemperature, kTopK, kTopP, kMinP, kPenalties, kCombo,
                                 kGreedyProcessed});
    req.base = RandomRow(rng, vocab, kind);
    const int k = Pick(rng, {1, 2, 3, 5});
    std::normal_distribution<float> noise(0.0f, Pick(rng, {0.1f, 0.5f, 2.0f}));
    for (int i = 0; i <= k; ++i) {
      std::vector<float> row = i == 0 ? req.base.logits : RandomLogits(rng, vocab);
      req.target.insert(req.target.end(), row.begin(), row.end());
      if (i == k) break;
      for (float& l : row) l += noise(rng);
      const std::vector<float> q = Softmax(row, 1.0f);
      int32_t draft = Draw(q, rng);
      if (with_probs) {
        req.q.insert(req.q.end(), q.begin(), q.end());
      } else if (Pick(rng, {false, true})) {  // n-gram-like: often the target's favourite
        draft = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
      }
      req.drafts.push_back(draft);
    }
    for (int i = 0; i <= k; ++i) {
      RowCase row = req.base;
      row.kind = std::string("verify ") + kKindNames[kind];
      row.logits.assign(req.target.begin() + static_cast<size_t>(i) * vocab,
                        req.target.begin() + static_cast<size_t>(i + 1) * vocab);
      row.output.insert(row.output.end(), req.drafts.begin(), req.drafts.begin() + i);
      row.draft = i < k ? req.drafts[i] : -1;
      if (with_probs && i < k) {
        row.draft_probs.assign(req.q.begin() + static_cast<size_t>(i) * vocab,
                               req.q.begin() + static_cast<size_t>(i + 1) * vocab);
      }
      rows.push_back(row);
    }
    requests.push_back(std::move(req));
  }
  const GpuOutput gpu = RunOnGpu(rows, vocab, kEos);
  size_t row = 0;
  int mismatches = 0, accepted_drafts = 0, total_drafts = 0;
  for (const Request& req : requests) {
    VerifyInput input;
    input.target_logits = req.target;
    input.sampling = CpuRow(req.base, kEos);
    input.draft_tokens = req.drafts;
    input.draft_probs = req.q;
    input.vocab_size = vocab;
    const std::vector<SampledToken> cpu = VerifyDrafts(input);
    const size_t k = req.drafts.size();
    std::vector<size_t> emitted_rows;
    for (size_t i = 0; i <= k; ++i) {
      emitted_rows.push_back(row + i);
      if (i == k || gpu.accepted[row + i] == 0) break;
    }
    bool same = emitted_rows.size() == cpu.size();
    for (size_t i = 0; same && i < cpu.size(); ++i) {
      const size_t g = emitted_rows[i];
      same = gpu.tokens[g] == cpu[i].token && gpu.ranks[g] == cpu[i].rank &&
             LogprobClose(gpu.logprobs[g], cpu[i].logprob);
    }
    accepted_drafts += static_cast<int>(cpu.size()) - 1;
    total_drafts += static_cast<int>(k);
    if (!same && ++mismatches <= 10) {
      std::string got, want;
      for (const size_t g : emitted_rows) got += std::to_string(gpu.tokens[g]) + " ";
      for (const SampledToken& t : cpu) want += std::to_string(t.token) + " ";
      UNSCOPED_INFO("request at row " << row << " (" << rows[row].kind << "): gpu " << got
                    << "cpu " << want);
    }
    row += k + 1;
  }
  CAPTURE(accepted_drafts, total_drafts);
  CHECK(mismatches == 0);
  CHECK(accepted_drafts > 0);
  CHECK(accepted_drafts < total_drafts);
}

TEST_CASE("GPU draft verification matches VerifyDrafts", "[gpu][sampling]") {
  const auto [vocab, requests] =
      GENERATE(std::make_pair(320, 300), std::make_pair(8192, 80), std::make_pair(128256, 12));
  const bool with_probs = GENERATE(false, true);
  CAPTURE(vocab, with_probs);
  CheckVerification(vocab, with_probs, requests, 4242u + vocab + (with_probs ? 1 : 0));
}

// ---- timing ------------------------------------------------------------------------------------

TEST_CASE("GPU sampling timings (vocab 128256)", "[gpu][sampling][timing]") {
  const int vocab = 128256;
  std::mt19937_64 rng(11);
  cudaDeviceProp prop{};
  CUDA_REQUIRE(cudaGetDeviceProperties(&prop, 0));
  std::printf("sampling timings on %s, vocab %d (us per launch)\n", prop.name, vocab);
  struct Config {
    const char* name;
    float temperature;
    int top_k;
    float top_p;
    float min_p;
    bool penalties;
  };
  const Config configs[] = {
      {"greedy", 0.0f, 0, 1.0f, 0.0f, false},  {"temperature", 1.0f, 0, 1.0f, 0.0f, false},
      {"top-k 50", 1.0f, 50, 1.0f, 0.0f, false}, {"top-p 0.9", 1.0f, 0, 0.9f, 0.0f, false},
      {"min-p 0.05", 1.0f, 0, 1.0f, 0.05f, false},
      {"k 50 p 0.9 min-p", 0.7f, 50, 0.9f, 0.05f, false},
      {"all + penalties", 0.7f, 1000, 0.9f, 0.05f, true}};
  for (const Config& config : configs) {
    for (const int batch : {1, 8, 32, 64, 96, 132}) {
      std::vector<RowCase> rows;
      for (int r = 0; r < batch; ++r) {
        RowCase row;
        row.logits = RandomLogits(rng, vocab);
        row.seed = rng();
        row.params.temperature = config.temperature;
        row.params.top_k = config.top_k;
        row.params.top_p = config.top_p;
        row.params.min_p = config.min_p;
        if (config.penalties) AddPenalties(rng, vocab, row);
        rows.push_back(row);
      }
      const GpuOutput gpu = RunOnGpu(rows, vocab, kEos, 20);
      std::printf("  %-18s batch %3d: %8.1f us (graph %8.1f us)\n", config.name, batch, gpu.microseconds,
                  gpu.graph_microseconds);
      if (batch == 1) CheckAgainstCpu(rows, gpu);
      // The same rows on a fast path where they are plain: greedy (kernels/greedy_sampling.h), or
      // temperature, top-p, top-k or both, and min-p (kernels/plain_sampling.h).
      const bool greedy = config.temperature == 0.0f;
      if (config.penalties) continue;
      const GpuOutput fast =
          RunOnGpu(rows, vocab, kEos, 20, greedy ? kernels::LaunchGreedySampling : kernels::LaunchPlainSampling);
      std::printf("  %-18s batch %3d: %8.1f us (graph %8.1f us)\n", greedy ? "greedy fast path" : "plain fast path",
                  batch, fast.microseconds, fast.graph_microseconds);
      if (batch == 1) CheckAgainstCpu(rows, fast);
    }
  }
}

}  // namespace
}  // namespace specd
