#include "bench/pairs/decode_attention_batch.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "bench/pairs/gpu_arrays.h"

namespace specd::bench {
namespace {

constexpr float kQueryScale = 1.0f;  // q, K and V uniform in [-1, 1)
constexpr float kCacheScale = 1.0f;
constexpr uint64_t kKeySeedOffset = 1, kValueSeedOffset = 2;

std::vector<int> BlockTables(const DecodeAttentionShape& shape, BlockLayout layout, uint64_t seed) {
  std::vector<int> tables(static_cast<size_t>(shape.batch) * (shape.context / shape.block_size));
  std::iota(tables.begin(), tables.end(), 0);
  std::mt19937_64 rng(seed);
  if (layout == BlockLayout::kScattered) std::shuffle(tables.begin(), tables.end(), rng);
  return tables;
}

// Where one KV head's vectors sit in rows of cache values.
struct HeadColumns {
  int64_t row_width;  // num_kv_heads * head_dim
  int64_t offset;     // kv_head * head_dim
  int head_dim;
};

// softmax(q . k_j * scale) . v_j over every row j, in fp64: [head_dim].
std::vector<double> HeadAttention(const float* q, const std::vector<float>& k, const std::vector<float>& v,
                                  const HeadColumns& columns, double scale) {
  const size_t keys = k.size() / static_cast<size_t>(columns.row_width);
  std::vector<double> weights(keys);
  for (size_t j = 0; j < keys; ++j) {
    const float* key = k.data() + j * columns.row_width + columns.offset;  // [head_dim]
    double dot = 0.0;
    for (int d = 0; d < columns.head_dim; ++d) dot += double{q[d]} * key[d];
    weights[j] = dot * scale;
  }
  const double max_score = *std::max_element(weights.begin(), weights.end());
  double total = 0.0;
  for (double& weight : weights) total += (weight = std::exp(weight - max_score));
  std::vector<double> out(static_cast<size_t>(columns.head_dim), 0.0);
  for (size_t j = 0; j < keys; ++j) {
    const float* value = v.data() + j * columns.row_width + columns.offset;  // [head_dim]
    for (int d = 0; d < columns.head_dim; ++d) out[d] += weights[j] / total * value[d];
  }
  return out;
}

}  // namespace

StatusOr<std::unique_ptr<DecodeAttentionBatch>> DecodeAttentionBatch::Create(const DecodeAttentionShape& shape,
                                                                              BlockLayout layout, uint64_t seed) {
  if (shape.context % shape.block_size != 0) return InvalidArgumentError("context must be whole blocks");
  std::unique_ptr<DecodeAttentionBatch> batch(new DecodeAttentionBatch(shape, BlockTables(shape, layout, seed)));
  SPECD_RETURN_IF_ERROR(batch->Allocate(seed));
  return batch;
}

Status DecodeAttentionBatch::Allocate(uint64_t seed) {
  const DecodeAttentionShape& s = shape_;
  const int64_t q_count = int64_t{s.batch} * s.num_heads * s.head_dim;
  const int64_t cache_count = int64_t{s.batch} * blocks_per_seq() * block_elements();
  SPECD_ASSIGN_OR_RETURN(q_, RandomBf16Array(q_count, seed, kQueryScale, "queries"));
  SPECD_ASSIGN_OR_RETURN(k_cache_, RandomBf16Array(cache_count, seed + kKeySeedOffset, kCacheScale, "K cache"));
  SPECD_ASSIGN_OR_RETURN(v_cache_, RandomBf16Array(cache_count, seed + kValueSeedOffset, kCacheScale, "V cache"));
  SPECD_ASSIGN_OR_RETURN(block_tables_, UploadArray(host_block_tables_, "block tables"));
  std::vector<int> token_seq(static_cast<size_t>(s.batch));
  std::iota(token_seq.begin(), token_seq.end(), 0);
  SPECD_ASSIGN_OR_RETURN(token_seq_, UploadArray(token_seq, "token sequences"));
  SPECD_ASSIGN_OR_RETURN(positions_, UploadArray(std::vector<int>(static_cast<size_t>(s.batch), s.context - 1), "positions"));
  SPECD_RETURN_IF_ERROR(out_.Allocate(static_cast<size_t>(q_count), "attention output"));
  const size_t workspace_bytes = kernels::PagedAttentionWorkspaceBytes(s.batch, s.num_heads, s.head_dim, s.context);
  return workspace_.Allocate(workspace_bytes, "split-KV workspace");
}

int64_t DecodeAttentionBatch::block_elements() const {
  return int64_t{shape_.block_size} * shape_.num_kv_heads * shape_.head_dim;
}

kernels::PagedAttentionParams DecodeAttentionBatch::Params() const {
  const DecodeAttentionShape& s = shape_;
  kernels::PagedAttentionParams p;
  p.q = q_.get();
  p.q_stride = s.num_heads * s.head_dim;
  p.k_cache = k_cache_.get();
  p.v_cache = v_cache_.get();
  p.block_tables = block_tables_.get();
  p.max_blocks_per_seq = blocks_per_seq();
  p.token_seq = token_seq_.get();
  p.positions = positions_.get();
  p.out = out_.get();
  p.num_tokens = s.batch;
  p.num_heads = s.num_heads;
  p.num_kv_heads = s.num_kv_heads;
  p.head_dim = s.head_dim;
  p.block_size = s.block_size;
  p.scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  p.workspace = workspace_.get();
  p.workspace_bytes = workspace_.bytes();
  return p;
}

StatusOr<std::vector<float>> DecodeAttentionBatch::Output() const { return DownloadBf16AsFloats(out_.get(), out_.size()); }

StatusOr<std::vector<float>> DecodeAttentionBatch::CacheRows(const __nv_bfloat16* cache, int token, int first,
                                                             int last) const {
  const int64_t row = int64_t{shape_.num_kv_heads} * shape_.head_dim;
  std::vector<float> rows;
  for (int block = first / shape_.block_size; block <= last / shape_.block_size; ++block) {
    const int64_t physical = host_block_tables_[static_cast<size_t>(token) * blocks_per_seq() + block];
    const int begin = std::max(first, block * shape_.block_size);
    const int end = std::min(last + 1, (block + 1) * shape_.block_size);
    const int64_t slot = physical * shape_.block_size + begin % shape_.block_size;
    SPECD_ASSIGN_OR_RETURN(const std::vector<float> part,
                           DownloadBf16AsFloats(cache + slot * row, static_cast<size_t>((end - begin) * row)));
    rows.insert(rows.end(), part.begin(), part.end());
  }
  return rows;
}

StatusOr<std::vector<double>> DecodeAttentionBatch::Reference(int token, int first_key) const {
  const DecodeAttentionShape& s = shape_;
  const int64_t q_width = int64_t{s.num_heads} * s.head_dim;
  SPECD_ASSIGN_OR_RETURN(const std::vector<float> q,
                         DownloadBf16AsFloats(q_.get() + token * q_width, static_cast<size_t>(q_width)));
  SPECD_ASSIGN_OR_RETURN(const std::vector<float> k, CacheRows(k_cache_.get(), token, first_key, s.context - 1));
  SPECD_ASSIGN_OR_RETURN(const std::vector<float> v, CacheRows(v_cache_.get(), token, first_key, s.context - 1));
  const int group = s.num_heads / s.num_kv_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  std::vector<double> out;
  for (int h = 0; h < s.num_heads; ++h) {
    const std::vector<double> head = HeadAttention(q.data() + h * s.head_dim, k, v,
                                                   {int64_t{s.num_kv_heads} * s.head_dim, int64_t{h / group} * s.head_dim,
                                                    s.head_dim}, scale);
    out.insert(out.end(), head.begin(), head.end());
  }
  return out;
}

}  // namespace specd::bench
