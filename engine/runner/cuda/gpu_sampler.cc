#include "engine/runner/cuda/gpu_sampler.h"

#include <vector>

#include "kernels/sampling.h"

namespace specd {
namespace {

// Appends one row's list to a CSR array: offsets [rows + 1], ids.
template <typename T>
void AppendList(std::vector<int32_t>& offsets, std::vector<T>& ids, std::span<const T> list) {
  if (offsets.empty()) offsets.push_back(0);
  ids.insert(ids.end(), list.begin(), list.end());
  offsets.push_back(static_cast<int32_t>(ids.size()));
}

// Copies a host array to a device buffer, growing it first when too small.
template <typename T>
Status Put(DeviceBuffer<T>& buffer, const std::vector<T>& host, cudaStream_t stream, const char* what) {
  if (host.empty()) return OkStatus();
  if (buffer.size() < host.size()) SPECD_RETURN_IF_ERROR(buffer.Allocate(host.size() * 2, what));
  return CudaStatus(cudaMemcpyAsync(buffer.get(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice, stream),
                    std::string("uploading sampling ") + what);
}

}  // namespace

// One kernel row per logits row; rows no sequence samples from run greedy and are ignored.
struct GpuSampler::Rows {
  std::vector<float> temperature, top_p, min_p, repetition, presence, frequency, bias_values;
  std::vector<uint64_t> seed;
  std::vector<int32_t> top_k, min_tokens, prompt_offsets, prompt_ids, output_offsets, output_ids, bias_offsets,
      bias_ids, stop_offsets, stop_ids, eos_ids;
  std::vector<uint8_t> ignore_eos;
  std::vector<int64_t> sampled_row;  // per sequence: its kernel row, or -1

  void AddIdle() { Add(nullptr, 0, {}, {}); }

  void Add(const SamplingParams* params, uint64_t row_seed, std::span<const int32_t> prompt,
           std::span<const int32_t> output) {
    static const SamplingParams kGreedy = [] {
      SamplingParams greedy;
      greedy.temperature = 0.0f;
      return greedy;
    }();
    const SamplingParams& p = params != nullptr ? *params : kGreedy;
    temperature.push_back(p.temperature);
    top_p.push_back(p.top_p);
    min_p.push_back(p.min_p);
    repetition.push_back(p.repetition_penalty);
    presence.push_back(p.presence_penalty);
    frequency.push_back(p.frequency_penalty);
    seed.push_back(row_seed);
    top_k.push_back(p.top_k);
    min_tokens.push_back(p.min_tokens);
    ignore_eos.push_back(p.ignore_eos ? 1 : 0);
    AppendList(prompt_offsets, prompt_ids, prompt);
    AppendList(output_offsets, output_ids, output);
    std::vector<int32_t> tokens;
    std::vector<float> values;
    for (const auto& [token, bias] : p.logit_bias) {
      tokens.push_back(token);
      values.push_back(bias);
    }
    AppendList(bias_offsets, bias_ids, std::span<const int32_t>(tokens));
    bias_values.insert(bias_values.end(), values.begin(), values.end());
    AppendList(stop_offsets, stop_ids, std::span<const int32_t>(p.stop_token_ids));
  }
};

struct GpuSampler::DeviceRows {
  DeviceBuffer<float> temperature, top_p, min_p, repetition, presence, frequency, bias_values, logprobs;
  DeviceBuffer<uint64_t> seed;
  DeviceBuffer<int32_t> top_k, min_tokens, prompt_offsets, prompt_ids, output_offsets, output_ids, bias_offsets,
      bias_ids, stop_offsets, stop_ids, eos_ids, tokens, ranks;
  DeviceBuffer<uint8_t> ignore_eos, workspace;
};

GpuSampler::GpuSampler(int64_t max_rows, int64_t vocab)
    : max_rows_(max_rows), vocab_(vocab), device_(std::make_unique<DeviceRows>()) {}

GpuSampler::~GpuSampler() = default;

StatusOr<std::unique_ptr<GpuSampler>> GpuSampler::Create(int64_t max_rows, int64_t vocab) {
  std::unique_ptr<GpuSampler> sampler(new GpuSampler(max_rows, vocab));
  DeviceRows& d = *sampler->device_;
  SPECD_RETURN_IF_ERROR(d.workspace.Allocate(
      kernels::SamplingWorkspaceBytes(static_cast<int>(max_rows), static_cast<int>(vocab)), "the sampling workspace"));
  SPECD_RETURN_IF_ERROR(d.tokens.Allocate(static_cast<size_t>(max_rows), "sampled tokens"));
  SPECD_RETURN_IF_ERROR(d.logprobs.Allocate(static_cast<size_t>(max_rows), "sampled logprobs"));
  SPECD_RETURN_IF_ERROR(d.ranks.Allocate(static_cast<size_t>(max_rows), "sampled ranks"));
  return sampler;
}

Status GpuSampler::Upload(const Rows& rows, cudaStream_t stream) {
  DeviceRows& d = *device_;
  SPECD_RETURN_IF_ERROR(Put(d.temperature, rows.temperature, stream, "temperatures"));
  SPECD_RETURN_IF_ERROR(Put(d.top_p, rows.top_p, stream, "top_p"));
  SPECD_RETURN_IF_ERROR(Put(d.min_p, rows.min_p, stream, "min_p"));
  SPECD_RETURN_IF_ERROR(Put(d.repetition, rows.repetition, stream, "repetition penalties"));
  SPECD_RETURN_IF_ERROR(Put(d.presence, rows.presence, stream, "presence penalties"));
  SPECD_RETURN_IF_ERROR(Put(d.frequency, rows.frequency, stream, "frequency penalties"));
  SPECD_RETURN_IF_ERROR(Put(d.seed, rows.seed, stream, "seeds"));
  SPECD_RETURN_IF_ERROR(Put(d.top_k, rows.top_k, stream, "top_k"));
  SPECD_RETURN_IF_ERROR(Put(d.min_tokens, rows.min_tokens, stream, "min_tokens"));
  SPECD_RETURN_IF_ERROR(Put(d.ignore_eos, rows.ignore_eos, stream, "ignore_eos"));
  SPECD_RETURN_IF_ERROR(Put(d.prompt_offsets, rows.prompt_offsets, stream, "prompt offsets"));
  SPECD_RETURN_IF_ERROR(Put(d.prompt_ids, rows.prompt_ids, stream, "prompt ids"));
  SPECD_RETURN_IF_ERROR(Put(d.output_offsets, rows.output_offsets, stream, "output offsets"));
  SPECD_RETURN_IF_ERROR(Put(d.output_ids, rows.output_ids, stream, "output ids"));
  SPECD_RETURN_IF_ERROR(Put(d.bias_offsets, rows.bias_offsets, stream, "logit bias offsets"));
  SPECD_RETURN_IF_ERROR(Put(d.bias_ids, rows.bias_ids, stream, "logit bias ids"));
  SPECD_RETURN_IF_ERROR(Put(d.bias_values, rows.bias_values, stream, "logit bias values"));
  SPECD_RETURN_IF_ERROR(Put(d.stop_offsets, rows.stop_offsets, stream, "stop offsets"));
  SPECD_RETURN_IF_ERROR(Put(d.stop_ids, rows.stop_ids, stream, "stop ids"));
  return Put(d.eos_ids, rows.eos_ids, stream, "eos ids");

}

kernels::SamplingKernelParams GpuSampler::KernelParams(const Rows& rows, const float* logits) const {
  const DeviceRows& d = *device_;
  // Empty lists are not uploaded, so their offsets go as null ("every row's list is empty").
  kernels::SamplingKernelParams p;
  p.logits = logits;
  p.num_rows = static_cast<int>(rows.temperature.size());
  p.vocab = static_cast<int>(vocab_);
  p.temperature = d.temperature.get();
  p.seed = d.seed.get();
  p.top_k = d.top_k.get();
  p.top_p = d.top_p.get();
  p.min_p = d.min_p.get();
  p.repetition_penalty = d.repetition.get();
  p.presence_penalty = d.presence.get();
  p.frequency_penalty = d.frequency.get();
  p.min_tokens = d.min_tokens.get();
  p.ignore_eos = d.ignore_eos.get();
  p.prompt_offsets = rows.prompt_ids.empty() ? nullptr : d.prompt_offsets.get();
  p.prompt_token_ids = d.prompt_ids.get();
  p.output_offsets = rows.output_ids.empty() ? nullptr : d.output_offsets.get();
  p.output_token_ids = d.output_ids.get();
  p.logit_bias_offsets = rows.bias_ids.empty() ? nullptr : d.bias_offsets.get();
  p.logit_bias_token_ids = d.bias_ids.get();
  p.logit_bias_values = d.bias_values.get();
  p.stop_token_offsets = rows.stop_ids.empty() ? nullptr : d.stop_offsets.get();
  p.stop_token_ids = d.stop_ids.get();
  p.eos_token_ids = d.eos_ids.get();
  p.num_eos = static_cast<int>(rows.eos_ids.size());
  p.workspace = d.workspace.get();
  p.sampled_token_ids = d.tokens.get();
  p.sampled_logprobs = d.logprobs.get();
  p.sampled_ranks = d.ranks.get();
  return p;
}

bool GpuSampler::Supports(const SchedulerOutput& batch) {
  for (const ScheduledSequence& seq : batch.sequences) {
    if (seq.sampling && (seq.num_draft_tokens > 0 || seq.sampling->params->top_logprobs > 0)) return false;
  }
  return true;
}

Status GpuSampler::Sample(const SchedulerOutput& batch, const float* logits, cudaStream_t stream, ModelOutput& output) {
  Rows rows;
  for (const ScheduledSequence& seq : batch.sequences) {
    for (size_t i = 0; i + 1 < seq.logits_indices.size(); ++i) rows.AddIdle();
    if (seq.logits_indices.empty()) {
      rows.sampled_row.push_back(-1);
      continue;
    }
    if (!seq.sampling) {
      rows.AddIdle();
      rows.sampled_row.push_back(-1);
      continue;
    }
    rows.sampled_row.push_back(static_cast<int64_t>(rows.temperature.size()));
    rows.Add(seq.sampling->params, seq.sampling->seed, seq.sampling->prompt_token_ids, seq.sampling->output_token_ids);
    if (rows.eos_ids.empty()) rows.eos_ids.assign(seq.sampling->eos_token_ids.begin(), seq.sampling->eos_token_ids.end());
  }
  const auto num_rows = static_cast<int64_t>(rows.temperature.size());
  if (num_rows > max_rows_) return InternalError("GpuSampler: more logits rows than it was sized for");
  SPECD_RETURN_IF_ERROR(Upload(rows, stream));
  SPECD_RETURN_IF_ERROR(CudaStatus(kernels::LaunchSampling(KernelParams(rows, logits), stream), "sampling"));
  return Collect(batch, rows, stream, output);
}

Status GpuSampler::Collect(const SchedulerOutput& batch, const Rows& rows, cudaStream_t stream, ModelOutput& output) {
  const DeviceRows& d = *device_;
  const size_t num_rows = rows.temperature.size();
  std::vector<int32_t> tokens(num_rows), ranks(num_rows);
  std::vector<float> logprobs(tokens.size());
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaMemcpyAsync(tokens.data(), d.tokens.get(), tokens.size() * 4, cudaMemcpyDeviceToHost, stream), "sampled tokens"));
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaMemcpyAsync(ranks.data(), d.ranks.get(), ranks.size() * 4, cudaMemcpyDeviceToHost, stream), "sampled ranks"));
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaMemcpyAsync(logprobs.data(), d.logprobs.get(), logprobs.size() * 4, cudaMemcpyDeviceToHost, stream), "sampled logprobs"));
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaStreamSynchronize(stream), "sampling"));
  output.sampled.assign(batch.sequences.size(), {});
  for (size_t s = 0; s < batch.sequences.size(); ++s) {
    const int64_t row = rows.sampled_row[s];
    if (row < 0) continue;
    const auto r = static_cast<size_t>(row);
    if (tokens[r] < 0) return InvalidArgumentError("GPU sampling refused the sampling parameters of a request");
    output.sampled[s].push_back(SampledToken{.token = tokens[r], .logprob = logprobs[r], .rank = ranks[r], .top_logprobs = {}});
  }
  return OkStatus();
}

}  // namespace specd
