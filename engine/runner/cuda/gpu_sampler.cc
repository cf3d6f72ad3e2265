#include "engine/runner/cuda/gpu_sampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/runner/cuda/packed_upload.h"
#include "kernels/greedy_sampling.h"
#include "kernels/plain_sampling.h"
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

// A step's sampled results, packed so that one copy into pinned memory brings them back: for n
// kernel rows,
//   [tokens int32 n | ranks int32 n | logprobs fp32 n | accepted uint8 n]
// Each copy to pageable memory cost about 10 us of a step: H100, batch-1 decode, same call, four
// rounds, Llama-3.2-1B 1.094-1.108 ms a token against 1.116-1.131 with three such copies; 8B
// 5.492 against 5.522.
enum class Result { kTokens, kRanks, kLogprobs, kAccepted };
constexpr size_t kResultBytesPerRow = 3 * sizeof(int32_t) + sizeof(uint8_t);

size_t ResultOffset(Result result, int64_t rows) {
  return static_cast<size_t>(result) * sizeof(int32_t) * static_cast<size_t>(rows);  // 4-byte arrays first
}

template <typename T, typename Byte>  // Byte: uint8_t or const uint8_t
T* ResultArray(Byte* results, Result result, int64_t rows) {
  return reinterpret_cast<T*>(results + ResultOffset(result, rows));
}

// A CSR list's offsets, or none (null offsets: every row's list is empty) when it has no ids.
const std::vector<int32_t>& ListOffsets(const std::vector<int32_t>& offsets, const std::vector<int32_t>& ids) {
  static const std::vector<int32_t> kNone;
  return ids.empty() ? kNone : offsets;
}

// Nothing that changes the logits applies to the row (no bias, penalties or min_tokens masking in
// effect), and its parameters are ones the sampling kernel accepts.
bool NothingApplied(const SamplingParams& p, size_t num_output_tokens) {
  return p.logit_bias.empty() && p.repetition_penalty == 1.0f && p.presence_penalty == 0.0f &&
         p.frequency_penalty == 0.0f && p.min_tokens >= 0 && static_cast<int64_t>(num_output_tokens) >= p.min_tokens &&
         p.top_k >= 0 && p.top_p > 0.0f && p.top_p <= 1.0f && p.min_p >= 0.0f && p.min_p <= 1.0f;
}

// A kernel row that is plain greedy (kernels/greedy_sampling.h): nothing but the argmax to do. A
// row verifying a draft may be: at temperature 0 the draft is accepted exactly when it is the
// argmax (whatever its probabilities), which Collect checks on the host.
bool PlainGreedy(const SamplingParams& p, size_t num_output_tokens) {
  return p.temperature == 0.0f && NothingApplied(p, num_output_tokens);
}

// A kernel row that is a plain draw (kernels/plain_sampling.h): a finite temperature, top-p,
// top-k, min-p, no draft to verify.
bool PlainDraw(const SamplingParams& p, size_t num_output_tokens, int32_t draft) {
  return p.temperature > 0.0f && std::isfinite(p.temperature) && draft < 0 && NothingApplied(p, num_output_tokens);
}

// Whether some row's value is not `off` (a row cuts at top-p / top-k).
template <typename T>
bool AnyBut(const std::vector<T>& values, T off) {
  return std::any_of(values.begin(), values.end(), [off](T value) { return value != off; });
}

// The rows' top_p or top_k, or none when no row cuts (null: every row's top_p is 1, every top_k 0;
// the plain fast path then skips the cut pass).
template <typename T>
const std::vector<T>& UnlessAll(const std::vector<T>& values, T off) {
  static const std::vector<T> kNone;
  return AnyBut(values, off) ? values : kNone;
}

// Rows of a batch with top-p or top-k that the plain fast path takes: above, LaunchSampling's one
// block a row is faster with top-p. H100, vocab 128256, temperature 1 and top-p 0.9, the sampling
// kernels alone: 62 / 69 / 111 / 178 / 246 / 321 us at 1 / 8 / 32 / 64 / 96 / 132 rows against
// LaunchSampling's 210 / 211 / 211 / 216 / 229 / 244; 1B decode at top-p 0.9 and batch 128 / 256
// with the fast path: 2.291 / 3.199 and 2.333 / 3.268 ms a step against 2.218 / 3.058 and 2.342 /
// 3.236 (two rounds). Top-k 50 stays faster up to 132 rows (41 / 95 / 181 us at 1 / 64 / 132 against
// 142 / 144 / 200), but has been timed in decode only up to 64 rows.
constexpr int64_t kPlainCutMaxRows = 64;

}  // namespace

// One kernel row per logits row; rows no sequence samples from run greedy and are ignored.
struct GpuSampler::Rows {
  std::vector<float> temperature, top_p, min_p, repetition, presence, frequency, bias_values;
  std::vector<uint64_t> seed;
  std::vector<int32_t> top_k, min_tokens, prompt_offsets, prompt_ids, output_offsets, output_ids, bias_offsets,
      bias_ids, stop_offsets, stop_ids, eos_ids;
  std::vector<uint8_t> ignore_eos;
  std::vector<int32_t> draft_ids;       // per kernel row: the draft it verifies, or -1
  std::vector<uint8_t> probs_given;     // per kernel row: draft_probs holds the draft's q
  std::vector<float> draft_probs;       // [rows, vocab] when some request has draft probabilities
  std::vector<int64_t> first_row;       // per sequence: its first sampled kernel row, or -1
  std::vector<int64_t> num_drafts;      // per sequence
  bool plain_greedy = true;             // every row: the greedy fast path, no parameters uploaded
  bool plain = true;                    // every row plain greedy or a plain draw: the plain fast path

  void AddIdle() { Add(nullptr, 0, {}, {}, -1); }

  // A sequence's rows: plain sampling of its last logits row, or, with k drafts, its last k + 1
  // rows, row i verifying draft i with the drafts before it appended to the output history
  // (rejection_sampler.h), row k drawing the bonus token.
  void AddSequence(const ScheduledSequence& seq, int64_t vocab) {
    const auto k = static_cast<size_t>(seq.num_draft_tokens);
    for (size_t i = 0; i + k + 1 < seq.logits_indices.size(); ++i) AddIdle();
    first_row.push_back(static_cast<int64_t>(temperature.size()));
    num_drafts.push_back(static_cast<int64_t>(k));
    const std::span<const int32_t> drafts = seq.token_ids.last(k);
    std::vector<int32_t> history(seq.sampling->output_token_ids.begin(), seq.sampling->output_token_ids.end());
    for (size_t i = 0; i <= k; ++i) {
      Add(seq.sampling->params, seq.sampling->seed, seq.sampling->prompt_token_ids, history,
          i < k ? drafts[i] : -1);
      if (i < k) history.push_back(drafts[i]);
    }
    if (!seq.draft_probs.empty()) {
      std::fill(probs_given.end() - static_cast<std::ptrdiff_t>(k + 1), probs_given.end() - 1, 1);
      draft_probs.resize(temperature.size() * static_cast<size_t>(vocab));
      std::copy(seq.draft_probs.begin(), seq.draft_probs.end(), draft_probs.end() - static_cast<std::ptrdiff_t>((k + 1) * vocab));
    }
    if (eos_ids.empty()) eos_ids.assign(seq.sampling->eos_token_ids.begin(), seq.sampling->eos_token_ids.end());
  }

  // One-hot rows for drafts without probabilities, once any request brought probabilities.
  void FillOneHotDrafts(int64_t vocab) {
    if (draft_probs.empty()) return;
    draft_probs.resize(temperature.size() * static_cast<size_t>(vocab));
    for (size_t r = 0; r < draft_ids.size(); ++r) {
      if (draft_ids[r] < 0 || probs_given[r]) continue;
      float* row = draft_probs.data() + r * static_cast<size_t>(vocab);
      std::fill(row, row + vocab, 0.0f);
      row[draft_ids[r]] = 1.0f;
    }
  }

  void Add(const SamplingParams* params, uint64_t row_seed, std::span<const int32_t> prompt,
           std::span<const int32_t> output, int32_t draft) {
    static const SamplingParams kGreedy = [] {
      SamplingParams greedy;
      greedy.temperature = 0.0f;
      return greedy;
    }();
    const SamplingParams& p = params != nullptr ? *params : kGreedy;
    const bool greedy = PlainGreedy(p, output.size());
    plain_greedy = plain_greedy && greedy;
    plain = plain && (greedy || PlainDraw(p, output.size(), draft));
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
    // The prompt only matters to the repetition penalty: without one it is not uploaded.
    AppendList(prompt_offsets, prompt_ids, p.repetition_penalty != 1.0f ? prompt : std::span<const int32_t>());
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
    draft_ids.push_back(draft);
    probs_given.push_back(0);
  }
};

// Per launch slot (two launches may be in flight): the parameters' upload, the results' pinned
// copy and the event that marks the copy's end.
struct LaunchSlot {
  PackedUpload parameters{"sampling parameters"};  // Rows' arrays, one copy a step
  PinnedBuffer<uint8_t> results_host;              // the results, copied back in one piece
  cudaEvent_t copied = nullptr;
};

struct GpuSampler::DeviceRows {
  DeviceBuffer<uint8_t> workspace;
  DeviceBuffer<uint8_t> results;  // [max_rows * kResultBytesPerRow]: the last launch's Result arrays
  std::array<LaunchSlot, kSlots> slots;

  ~DeviceRows() {
    for (const LaunchSlot& slot : slots) {
      if (slot.copied != nullptr) cudaEventDestroy(slot.copied);
    }
  }
};

GpuSampler::Launched::Launched() = default;
GpuSampler::Launched::~Launched() = default;
GpuSampler::Launched::Launched(Launched&&) noexcept = default;
GpuSampler::Launched& GpuSampler::Launched::operator=(Launched&&) noexcept = default;

GpuSampler::GpuSampler(int64_t max_rows, int64_t vocab)
    : max_rows_(max_rows), vocab_(vocab), device_(std::make_unique<DeviceRows>()) {}

GpuSampler::~GpuSampler() = default;

StatusOr<std::unique_ptr<GpuSampler>> GpuSampler::Create(int64_t max_rows, int64_t vocab) {
  std::unique_ptr<GpuSampler> sampler(new GpuSampler(max_rows, vocab));
  DeviceRows& d = *sampler->device_;
  SPECD_RETURN_IF_ERROR(d.workspace.Allocate(
      kernels::SamplingWorkspaceBytes(static_cast<int>(max_rows), static_cast<int>(vocab)), "the sampling workspace"));
  const size_t result_bytes = static_cast<size_t>(max_rows) * kResultBytesPerRow;
  SPECD_RETURN_IF_ERROR(d.results.Allocate(result_bytes, "sampled tokens"));
  for (LaunchSlot& slot : d.slots) {
    SPECD_RETURN_IF_ERROR(slot.results_host.Allocate(result_bytes, "sampled tokens"));
    SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventCreateWithFlags(&slot.copied, cudaEventDisableTiming),
                                     "creating the sampler's copy event"));
  }
  return sampler;
}

const int* GpuSampler::sampled_tokens() const {
  return ResultArray<int32_t>(device_->results.get(), Result::kTokens, max_rows_);  // at offset 0 for any row count
}

// The rows' parameters and lists into p, uploaded in one copy. Empty lists go as null offsets
// ("every row's list is empty").
Status GpuSampler::Upload(const Rows& rows, PackedUpload& up, cudaStream_t stream, kernels::SamplingKernelParams& p) {
  up.Add(rows.temperature, &p.temperature);
  up.Add(UnlessAll(rows.top_p, 1.0f), &p.top_p);
  up.Add(rows.min_p, &p.min_p);
  up.Add(rows.repetition, &p.repetition_penalty);
  up.Add(rows.presence, &p.presence_penalty);
  up.Add(rows.frequency, &p.frequency_penalty);
  up.Add(rows.seed, &p.seed);
  up.Add(UnlessAll(rows.top_k, 0), &p.top_k);
  up.Add(rows.min_tokens, &p.min_tokens);
  up.Add(rows.ignore_eos, &p.ignore_eos);
  up.Add(ListOffsets(rows.prompt_offsets, rows.prompt_ids), &p.prompt_offsets);
  up.Add(rows.prompt_ids, &p.prompt_token_ids);
  up.Add(ListOffsets(rows.output_offsets, rows.output_ids), &p.output_offsets);
  up.Add(rows.output_ids, &p.output_token_ids);
  up.Add(ListOffsets(rows.bias_offsets, rows.bias_ids), &p.logit_bias_offsets);
  up.Add(rows.bias_ids, &p.logit_bias_token_ids);
  up.Add(rows.bias_values, &p.logit_bias_values);
  up.Add(ListOffsets(rows.stop_offsets, rows.stop_ids), &p.stop_token_offsets);
  up.Add(rows.stop_ids, &p.stop_token_ids);
  up.Add(rows.eos_ids, &p.eos_token_ids);
  up.Add(rows.draft_ids, &p.draft_token_ids);
  up.Add(rows.draft_probs, &p.draft_probs);
  return up.Upload(stream);
}

// What every launch takes: the logits, the workspace and the results' places.
kernels::SamplingKernelParams GpuSampler::KernelParams(const Rows& rows, const float* logits) const {
  const DeviceRows& d = *device_;
  kernels::SamplingKernelParams p;
  p.logits = logits;
  p.num_rows = static_cast<int>(rows.temperature.size());
  p.vocab = static_cast<int>(vocab_);
  p.num_eos = static_cast<int>(rows.eos_ids.size());
  p.workspace = d.workspace.get();
  p.sampled_token_ids = ResultArray<int32_t>(d.results.get(), Result::kTokens, p.num_rows);
  p.sampled_logprobs = ResultArray<float>(d.results.get(), Result::kLogprobs, p.num_rows);
  p.sampled_ranks = ResultArray<int32_t>(d.results.get(), Result::kRanks, p.num_rows);
  p.draft_accepted = ResultArray<uint8_t>(d.results.get(), Result::kAccepted, p.num_rows);
  return p;
}

bool GpuSampler::Supports(const SchedulerOutput& batch) {
  for (const ScheduledSequence& seq : batch.sequences) {
    if (seq.sampling && seq.sampling->params->top_logprobs > 0) return false;
  }
  return true;
}

StatusOr<GpuSampler::Launched> GpuSampler::Launch(const SchedulerOutput& batch, const float* logits,
                                                  cudaStream_t stream) {
  Launched launched;
  launched.rows = std::make_unique<Rows>();
  Rows& rows = *launched.rows;
  for (const ScheduledSequence& seq : batch.sequences) {
    if (seq.sampling && !seq.logits_indices.empty()) {
      rows.AddSequence(seq, vocab_);
      const bool one_token = seq.num_draft_tokens == 0;
      launched.token_rows.push_back(one_token ? static_cast<int32_t>(rows.first_row.back()) : -1);
      continue;
    }
    for (size_t i = 0; i < seq.logits_indices.size(); ++i) rows.AddIdle();
    rows.first_row.push_back(-1);
    rows.num_drafts.push_back(0);
    launched.token_rows.push_back(-1);
  }
  rows.FillOneHotDrafts(vocab_);
  if (static_cast<int64_t>(rows.temperature.size()) > max_rows_) {
    return InternalError("GpuSampler: more logits rows than it was sized for");
  }
  launched.slot = next_slot_;
  next_slot_ = (next_slot_ + 1) % kSlots;
  SPECD_RETURN_IF_ERROR(LaunchKernels(rows, launched.slot, logits, stream));
  return launched;
}

// The sampling kernels for the rows, then the copy of their results to the slot's pinned buffer.
Status GpuSampler::LaunchKernels(const Rows& rows, int slot, const float* logits, cudaStream_t stream) {
  LaunchSlot& s = device_->slots[static_cast<size_t>(slot)];
  kernels::SamplingKernelParams p = KernelParams(rows, logits);
  const auto num_rows = static_cast<int64_t>(rows.temperature.size());
  if (rows.plain_greedy) {
    SPECD_RETURN_IF_ERROR(CudaStatus(kernels::LaunchGreedySampling(p, stream), "greedy sampling"));
  } else if (rows.plain && (num_rows <= kPlainCutMaxRows || !(AnyBut(rows.top_p, 1.0f) || AnyBut(rows.top_k, 0)))) {
    SPECD_RETURN_IF_ERROR(Upload(rows, s.parameters, stream, p));
    SPECD_RETURN_IF_ERROR(CudaStatus(kernels::LaunchPlainSampling(p, stream), "plain sampling"));
  } else {
    SPECD_RETURN_IF_ERROR(Upload(rows, s.parameters, stream, p));
    SPECD_RETURN_IF_ERROR(CudaStatus(kernels::LaunchSampling(p, stream), "sampling"));
  }
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaMemcpyAsync(s.results_host.get(), device_->results.get(),
                                                   static_cast<size_t>(num_rows) * kResultBytesPerRow,
                                                   cudaMemcpyDeviceToHost, stream),
                                   "copying sampled tokens"));
  return CudaStatus(cudaEventRecord(s.copied, stream), "recording the sampled tokens' copy");
}

Status GpuSampler::Collect(const Launched& launched, ModelOutput& output) {
  const Rows& rows = *launched.rows;
  const LaunchSlot& slot = device_->slots[static_cast<size_t>(launched.slot)];
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventSynchronize(slot.copied), "sampling"));
  const auto num_rows = static_cast<int64_t>(rows.temperature.size());
  const uint8_t* results = slot.results_host.get();
  const int32_t* tokens = ResultArray<const int32_t>(results, Result::kTokens, num_rows);
  const int32_t* ranks = ResultArray<const int32_t>(results, Result::kRanks, num_rows);
  const float* logprobs = ResultArray<const float>(results, Result::kLogprobs, num_rows);
  const uint8_t* accepted = ResultArray<const uint8_t>(results, Result::kAccepted, num_rows);  // 0 on the fast paths
  output.sampled.assign(rows.first_row.size(), {});
  for (size_t s = 0; s < rows.first_row.size(); ++s) {
    if (rows.first_row[s] < 0) continue;
    // Rows first .. first + j, j the first rejected draft's row, or the bonus row.
    for (int64_t i = 0; i <= rows.num_drafts[s]; ++i) {
      const auto r = static_cast<size_t>(rows.first_row[s] + i);
      if (tokens[r] < 0) return InvalidArgumentError("GPU sampling refused the sampling parameters of a request");
      output.sampled[s].push_back(SampledToken{.token = tokens[r], .logprob = logprobs[r], .rank = ranks[r], .top_logprobs = {}});
      // In a plain batch a row with a draft is greedy: accepted exactly when it is the token, whichever
      // kernel ran (the fast paths leave `accepted` 0).
      const bool draft_accepted = rows.plain ? tokens[r] == rows.draft_ids[r] : accepted[r] != 0;
      if (i < rows.num_drafts[s] && !draft_accepted) break;
    }
  }
  return OkStatus();
}

}  // namespace specd
