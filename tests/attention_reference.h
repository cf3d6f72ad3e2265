// The host half of the paged attention tests (the CPU reference's [cpu] tests and the kernels'
// [gpu] tests): a batch of sequences over a paged KV cache with shuffled block tables and random
// garbage in every slot a sequence must not see, the q rows laid out like the fused QKV
// projection, the inputs an attention modifier reads (sequence lengths, document starts), and an
// fp64 reference written straight from the contract (kernels/paged_attention.h and the modifiers'
// definitions in kernels/attention_modifier.h), per element, sharing no code with either.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention_modifier.h"

namespace specd::testing {

// One sequence of the batch: query tokens at positions [start, start + num_queries); the cache
// holds its keys and values at positions [0, start + num_queries).
struct AttentionChunk {
  int start;
  int num_queries;
};

// The modifier of a case beyond its window. kCausal with a window > 0 means kSlidingWindow.
struct ModifierSpec {
  kernels::AttentionModifierKind kind = kernels::AttentionModifierKind::kCausal;
  float softcap = 0.0f;       // kSoftCap
  int prefix_length = 0;      // kPrefixLm
  int max_document = 0;       // kDocument: documents of 1 .. max_document positions, drawn at random
  bool skip_masked_blocks = true;  // false: the kernels read masked blocks too (same result)
};

struct AttentionCase {
  std::string name;
  int head_dim;
  int num_heads;
  int num_kv_heads;
  int block_size;
  int sliding_window;  // 0: none
  std::vector<AttentionChunk> chunks;
  ModifierSpec modifier = {};
};

// Host copies of everything the kernel reads.
struct AttentionInputs {
  int q_stride = 0;
  int num_blocks = 0;
  int max_blocks_per_seq = 0;
  std::vector<uint16_t> q;        // [num_tokens, q_stride]
  std::vector<uint16_t> k_cache;  // [num_blocks * block_size, num_kv_heads, head_dim]
  std::vector<uint16_t> v_cache;  // [num_blocks * block_size, num_kv_heads, head_dim]
  std::vector<int> block_tables;  // [num_seqs, max_blocks_per_seq]
  std::vector<int> token_seq;     // [num_tokens]
  std::vector<int> positions;     // [num_tokens]
  std::vector<int> seq_lens;      // [num_seqs]: start + num_queries of each chunk
  int documents_stride = 0;
  std::vector<int> document_starts;  // [num_seqs, documents_stride] (kDocument only)
};

// Query tokens sequence by sequence with increasing positions (as the runner lays them out), or
// in a random order.
enum class TokenOrder { kBySequence, kShuffled };

AttentionInputs MakeAttentionInputs(const AttentionCase& c, TokenOrder order, std::mt19937& rng);

// The case's modifier descriptor over `seq_lens` and `document_starts` (host or device copies of
// the inputs' arrays).
kernels::AttentionModifier MakeModifier(const AttentionCase& c, const AttentionInputs& in, const int* seq_lens,
                                        const int* document_starts);

// Whether query (seq, q) sees key k (< the sequence's length), from the modifiers' definitions.
bool ReferenceSees(const AttentionCase& c, const AttentionInputs& in, int seq, int q, int k);

struct AttentionReference {
  std::vector<double> exact;          // fp64 from the bf16 inputs
  std::vector<float> same_precision;  // fp32, plain (two-pass) softmax, output rounded to bf16
};

AttentionReference ComputeAttentionReference(const AttentionCase& c, const AttentionInputs& in, float scale);

}  // namespace specd::testing
