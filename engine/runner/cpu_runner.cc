#include "engine/runner/cpu_runner.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/base/logging.h"
#include "engine/runner/batch_validation.h"
#include "engine/runner/cpu_math.h"
#include "engine/runner/cpu_paged_attention.h"
#include "engine/runner/model_attention_modifier.h"
#include "engine/runner/row_sampling.h"

namespace specd {

using cpu_math::Dot;
using cpu_math::Linear;
using cpu_math::RmsNorm;

struct CpuRunner::TokenRef {
  const ScheduledSequence* sequence;
  int seq_index;  // of the sequence in the batch
  int64_t position;
  int64_t slot;  // KV cache slot of this position
};

StatusOr<std::unique_ptr<CpuRunner>> CpuRunner::Create(const std::string& model_dir,
                                                       const CpuRunnerOptions& options) {
  if (options.block_size <= 0 || options.num_blocks <= 0) {
    return InvalidArgumentError("CPU runner: block_size and num_blocks must be positive");
  }
  SPECD_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(model_dir));
  SPECD_ASSIGN_OR_RETURN(const auto weights, ModelWeights::Load(model_dir, config));
  CpuWeights cpu_weights = LoadCpuWeights(config, *weights);
  GetLogger("runner")->info("CPU runner: {} with {} layers, hidden {}, vocab {}; KV cache {} blocks of {}",
                            ArchitectureName(config.architecture), config.num_hidden_layers,
                            config.hidden_size, config.vocab_size, options.num_blocks,
                            options.block_size);
  return std::unique_ptr<CpuRunner>(new CpuRunner(std::move(config), std::move(cpu_weights), options));
}

CpuRunner::CpuRunner(ModelConfig config, CpuWeights weights, const CpuRunnerOptions& options)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      rope_(config_.rope, config_.head_dim),
      modifier_(ModelAttentionModifier(config_)),
      cache_(config_.num_hidden_layers, KvCacheShape{options.num_blocks, options.block_size},
             config_.num_key_value_heads, config_.head_dim) {}

Status CpuRunner::Launch(const SchedulerOutput& batch) {
  return steps_.Launch(batch, [this](const SchedulerOutput& fed) { return Run(fed); });
}

StatusOr<ModelOutput> CpuRunner::Run(const SchedulerOutput& batch) {
  SPECD_RETURN_IF_ERROR(ValidateBatch(batch, config_, cache_.shape()));
  const int64_t hidden_size = config_.hidden_size;
  std::vector<TokenRef> tokens;
  for (size_t s = 0; s < batch.sequences.size(); ++s) {
    const ScheduledSequence& seq = batch.sequences[s];
    for (size_t i = 0; i < seq.token_ids.size(); ++i) {
      const int64_t position = seq.start_position + static_cast<int64_t>(i);
      tokens.push_back({&seq, static_cast<int>(s), position, cache_.Slot(seq.block_table, position)});
    }
  }
  std::vector<float> hidden(tokens.size() * static_cast<size_t>(hidden_size));  // [T, hidden]
  size_t t = 0;
  for (const auto& seq : batch.sequences) {
    for (int32_t token : seq.token_ids) {
      std::copy_n(weights_.embedding.data() + token * hidden_size, hidden_size,
                  hidden.data() + t++ * hidden_size);
    }
  }
  for (int64_t layer = 0; layer < config_.num_hidden_layers; ++layer) {
    RunLayer(layer, tokens, hidden);
  }
  ModelOutput output = ComputeLogits(batch, hidden);
  SampleRequestedRows(batch, output);
  return output;
}

void CpuRunner::RunLayer(int64_t layer, const std::vector<TokenRef>& tokens,
                         std::vector<float>& hidden) {
  const CpuLayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
  const int64_t num_tokens = static_cast<int64_t>(tokens.size());
  const int64_t hidden_size = config_.hidden_size;
  const int64_t q_size = config_.q_size();
  const int64_t kv_size = config_.kv_size();
  const int64_t inter = config_.intermediate_size;

  std::vector<float> normed(hidden.size());  // [T, hidden]
  for (int64_t t = 0; t < num_tokens; ++t) {
    RmsNorm(&hidden[t * hidden_size], w.input_norm, config_.rms_norm_eps, hidden_size, &normed[t * hidden_size]);
  }
  std::vector<float> q(num_tokens * q_size), k(num_tokens * kv_size), v(num_tokens * kv_size);
  Linear(normed.data(), num_tokens, hidden_size, w.q_proj, q_size, w.q_bias, q.data());
  Linear(normed.data(), num_tokens, hidden_size, w.k_proj, kv_size, w.k_bias, k.data());
  Linear(normed.data(), num_tokens, hidden_size, w.v_proj, kv_size, w.v_bias, v.data());
  // Every new token's K and V reach the cache before any token attends: a token sees the other
  // new tokens of its own sequence at earlier positions.
  for (int64_t t = 0; t < num_tokens; ++t) {
    const TokenRef& ref = tokens[static_cast<size_t>(t)];
    rope_.Apply(&q[t * q_size], config_.num_attention_heads, ref.position);
    rope_.Apply(&k[t * kv_size], config_.num_key_value_heads, ref.position);
    std::copy_n(&k[t * kv_size], kv_size, cache_.Key(layer, ref.slot));
    std::copy_n(&v[t * kv_size], kv_size, cache_.Value(layer, ref.slot));
  }
  std::vector<float> attention(num_tokens * q_size);  // [T, heads * head_dim]
  for (int64_t t = 0; t < num_tokens; ++t) {
    const TokenRef& ref = tokens[static_cast<size_t>(t)];
    Attend(layer, ref, &q[t * q_size], &attention[t * q_size]);
  }
  std::vector<float> projected(hidden.size());  // [T, hidden]
  Linear(attention.data(), num_tokens, q_size, w.o_proj, hidden_size, w.o_bias, projected.data());
  for (size_t i = 0; i < hidden.size(); ++i) hidden[i] += projected[i];

  for (int64_t t = 0; t < num_tokens; ++t) {
    RmsNorm(&hidden[t * hidden_size], w.post_attention_norm, config_.rms_norm_eps, hidden_size,
            &normed[t * hidden_size]);
  }
  std::vector<float> gate(num_tokens * inter), up(num_tokens * inter);  // [T, intermediate]
  Linear(normed.data(), num_tokens, hidden_size, w.gate_proj, inter, w.gate_bias, gate.data());
  Linear(normed.data(), num_tokens, hidden_size, w.up_proj, inter, w.up_bias, up.data());
  cpu_math::SiluAndMul(gate.data(), up.data(), num_tokens * inter);
  Linear(gate.data(), num_tokens, inter, w.down_proj, hidden_size, w.down_bias, projected.data());
  for (size_t i = 0; i < hidden.size(); ++i) hidden[i] += projected[i];
}

// Attention of one new token over its sequence's cached keys under the model's modifier (causal;
// Mistral: sliding window). query, out: [num_heads, head_dim].
void CpuRunner::Attend(int64_t layer, const TokenRef& token, const float* query, float* out) {
  const ScheduledSequence& seq = *token.sequence;
  CpuAttentionShape shape;
  shape.num_heads = config_.num_attention_heads;
  shape.num_kv_heads = config_.num_key_value_heads;
  shape.head_dim = config_.head_dim;
  shape.block_size = cache_.shape().block_size;
  shape.scale = 1.0f / std::sqrt(static_cast<float>(config_.head_dim));
  CpuSequenceKv kv;
  kv.keys = cache_.Key(layer, 0);
  kv.values = cache_.Value(layer, 0);
  kv.block_table = seq.block_table;
  kv.num_keys = seq.start_position + static_cast<int64_t>(seq.token_ids.size());
  kv.seq = token.seq_index;
  CpuPagedAttention(modifier_, shape, kv, token.position, query, out);
}

ModelOutput CpuRunner::ComputeLogits(const SchedulerOutput& batch, const std::vector<float>& hidden) {
  const int64_t hidden_size = config_.hidden_size;
  std::vector<float> rows;  // [R, hidden]: final-normed hidden states of the requested tokens
  int64_t first_token = 0;
  for (const auto& seq : batch.sequences) {
    for (int32_t index : seq.logits_indices) {
      const size_t offset = rows.size();
      rows.resize(offset + static_cast<size_t>(hidden_size));
      RmsNorm(&hidden[(first_token + index) * hidden_size], weights_.final_norm, config_.rms_norm_eps,
              hidden_size, &rows[offset]);
    }
    first_token += static_cast<int64_t>(seq.token_ids.size());
  }
  const int64_t num_rows = static_cast<int64_t>(rows.size()) / hidden_size;
  ModelOutput output;
  output.vocab_size = config_.vocab_size;
  output.logits.resize(static_cast<size_t>(num_rows * config_.vocab_size));
  const std::vector<float> no_bias;
  Linear(rows.data(), num_rows, hidden_size, weights_.output_projection(), config_.vocab_size,
         no_bias, output.logits.data());
  return output;
}

}  // namespace specd
