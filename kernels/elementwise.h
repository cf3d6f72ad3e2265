// The small kernels of a Llama layer, bf16 in and out, fp32 arithmetic. Shapes on every array.
//
// Every launcher returns cudaErrorInvalidValue for a negative count (num_tokens, num_rows), a width
// that is not positive (hidden, intermediate, width), or, when there is work, a null array (only
// qkv_bias may be null); a count of 0 is a successful no-op that launches nothing. Otherwise it
// returns the launch's error. Indices (token_ids, rows, slots) are not range-checked.
#pragma once

#include <cstdint>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace specd::kernels {

// out[t, :] = table[token_ids[t], :], or, for a token fed from the previous step's sampling
// (fed_rows[t] >= 0), table[fed_tokens[fed_rows[t]], :]; a fed id outside [0, vocab) (a row the
// sampler refused) reads row 0. fed_rows and fed_tokens may be null: nothing fed.
struct EmbeddingParams {
  const int* token_ids = nullptr;          // [num_tokens]
  const __nv_bfloat16* table = nullptr;    // [vocab, hidden]
  __nv_bfloat16* out = nullptr;            // [num_tokens, hidden]
  int num_tokens = 0;
  int hidden = 0;
  const int* fed_rows = nullptr;           // [num_tokens]: a row of fed_tokens, or -1
  const int* fed_tokens = nullptr;         // [rows the previous step sampled]
  int vocab = 0;                           // rows of table; read only for fed tokens
};
cudaError_t LaunchEmbedding(const EmbeddingParams& params, cudaStream_t stream);

// On the fused QKV projection of each token: adds the q/k/v bias (when given), rotates q and k
// (Hugging Face's rotate_half layout: element i pairs with i + head_dim/2; the angle is
// float(position) * inv_freq[i] in fp32, as transformers computes it), and writes k and v into the
// paged cache at slots[t] (slot = block * block_size + offset). q stays in `qkv`, rotated.
// The bias is added as a bf16 linear layer's output holds it (fp32 sum rounded to bf16, as
// LaunchAddBias does), then the rotation runs in fp32 from that value and rounds once.
// The k and v parts of qkv are left unchanged. A negative slot (a padding token) writes nothing
// to the cache. cudaErrorInvalidValue also for a head_dim that is not even and in (0, 1024],
// num_heads or num_kv_heads not positive, or num_heads not a multiple of num_kv_heads.
// With cos_sin (LaunchRopeCosSinTable's table) the cos/sin of each angle are read from it instead
// of computed (the same values: the output is identical bit for bit); inv_freq may then be null.
// The runner computes them.
struct RopeCacheWriteParams {
  __nv_bfloat16* qkv = nullptr;            // [num_tokens, (num_heads + 2 * num_kv_heads) * head_dim]
  const __nv_bfloat16* qkv_bias = nullptr; // [(num_heads + 2 * num_kv_heads) * head_dim] or null
  const int* positions = nullptr;          // [num_tokens]
  const int64_t* slots = nullptr;          // [num_tokens]
  const float* inv_freq = nullptr;         // [head_dim / 2]; unread when cos_sin is given
  const float2* cos_sin = nullptr;         // [max_position, head_dim / 2] or null; positions < max_position
  __nv_bfloat16* k_cache = nullptr;        // [num_slots, num_kv_heads, head_dim]
  __nv_bfloat16* v_cache = nullptr;        // [num_slots, num_kv_heads, head_dim]
  int num_tokens = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
};
cudaError_t LaunchRopeCacheWrite(const RopeCacheWriteParams& params, cudaStream_t stream);

// table[p, i] = (cos, sin) of float(p) * inv_freq[i], computed exactly as LaunchRopeCacheWrite
// computes them. cudaErrorInvalidValue for a head_dim that is not even and in (0, 1024], a
// negative max_position, or, when max_position > 0, a null array.
struct RopeCosSinTableParams {
  const float* inv_freq = nullptr;         // [head_dim / 2]
  float2* table = nullptr;                 // [max_position, head_dim / 2]
  int max_position = 0;
  int head_dim = 0;
};
cudaError_t LaunchRopeCosSinTable(const RopeCosSinTableParams& params, cudaStream_t stream);

// out[t, i] = silu(gate_up[t, i]) * gate_up[t, intermediate + i]; at most 65535 tokens a launch.
struct SiluMulParams {
  const __nv_bfloat16* gate_up = nullptr;  // [num_tokens, 2 * intermediate]
  __nv_bfloat16* out = nullptr;            // [num_tokens, intermediate]
  int num_tokens = 0;
  int intermediate = 0;
};
cudaError_t LaunchSiluMul(const SiluMulParams& params, cudaStream_t stream);

// x[t, :] += bias[:]
struct AddBiasParams {
  __nv_bfloat16* x = nullptr;              // [num_tokens, width]
  const __nv_bfloat16* bias = nullptr;     // [width]
  int num_tokens = 0;
  int width = 0;
};
cudaError_t LaunchAddBias(const AddBiasParams& params, cudaStream_t stream);

// out[r, :] = in[rows[r], :]
struct GatherRowsParams {
  const __nv_bfloat16* in = nullptr;       // [num_in_rows, width]
  const int* rows = nullptr;               // [num_rows]
  __nv_bfloat16* out = nullptr;            // [num_rows, width]
  int num_rows = 0;
  int width = 0;
};
cudaError_t LaunchGatherRows(const GatherRowsParams& params, cudaStream_t stream);

}  // namespace specd::kernels
