// Attention modifiers (FlexAttention's mask_mod and score_mod, for our kernels and the CPU
// reference alike): which keys a query sees, what happens to a score before the softmax, and
// which key blocks a group of queries can skip. Header-only, compiled by g++ (host) and nvcc
// (host and device); stateless.
//
// The runtime descriptor AttentionModifier (in PagedAttentionParams) names a built-in variant and
// its few parameters; launchers turn it into one of the compile-time functors below with
// DispatchAttentionModifier, so the inner loops see a concrete type. A functor provides:
//   Keys(seq, pos)            the keys query (seq, pos) sees: the interval [first, last] (mask)
//   HeadFactor(head)          a per-head constant the score transform reads (ALiBi's slope)
//   Score(s, pos, key, hf)    the scaled score s = q.k * scale -> the score the softmax sees
//   kScores                   false when Score is the identity (the kernels then skip it)
//   KeySlope(hf), optional    when Score(s, pos, key, hf) is s + KeySlope(hf) * (key - pos): the
//                             tensor-core kernel then adds the bias key by key incrementally
// Every built-in mask is an interval per query whose ends never decrease as the position grows
// ("monotone"), so a group of queries and a range of keys are classified from the interval ends
// alone (ClassifyKeys): fully masked (skip: never loaded), partial (mask per element) or fully
// visible (no mask math).
//
//   keys:        0    16   32   48   64   80   96  (blocks of 16)
//   window 40, queries 70..79: first 31..40, last 70..79
//   blocks:      [m  ][p  ][p  ][v  ][p  ][m  ]      m masked, p partial, v visible
//
// Adding a modifier: see kernels/README.md.
#pragma once

#include <cmath>

#if defined(__CUDACC__)
#define SPECD_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define SPECD_HOST_DEVICE inline
#endif

namespace specd::kernels {

enum class AttentionModifierKind : int {
  kCausal = 0,     // key <= pos (the default)
  kSlidingWindow,  // pos - window < key <= pos (Mistral's sliding_window)
  kSoftCap,        // causal (optionally windowed); score -> softcap * tanh(score / softcap) (Gemma 2)
  kAlibi,          // causal (optionally windowed); score += slope(head) * (key - pos) (Press et al.)
  kPrefixLm,       // causal, except that positions < prefix_length see each other (see PrefixLm)
  kDocument,       // packed sequences: causal within the query's own document
};

// What a launch (or the CPU reference) is asked for. Pointers are in the memory of whoever reads
// them: device for the kernels, host for the CPU reference.
struct AttentionModifier {
  AttentionModifierKind kind = AttentionModifierKind::kCausal;
  int window = 0;                        // kSlidingWindow: > 0; kSoftCap, kAlibi: 0 (none) or > 0
  float softcap = 0.0f;                  // kSoftCap: > 0
  int prefix_length = 0;                 // kPrefixLm: >= 0
  const int* seq_lens = nullptr;         // kPrefixLm: [num_seqs] keys written so far (the cache's length)
  const int* document_starts = nullptr;  // kDocument: [num_seqs, documents_stride]: first position of
                                         //   each document, increasing, row starting at 0, padded
                                         //   with values past every position (INT_MAX)
  int documents_stride = 0;              // kDocument: > 0
  // false: FlexAttention without a block mask: every key from 0 up to the query's last is read and
  // the mask applied per element, so the block table must map them all (a baseline for block
  // skipping: the split-KV kernel honours it, the tensor-core kernel refuses it; the result is the
  // same up to fp32 summation order).
  bool skip_masked_blocks = true;
};

// The keys [first, last] a query sees (first <= last always: a query sees itself).
struct KeyInterval {
  int first;
  int last;
};

// Aggregate of the intervals of a group of queries (a row tile, a run of rows).
struct QuerySpan {
  int min_first;
  int max_first;
  int min_last;
  int max_last;
};

enum class KeyBlockClass : int { kMasked = 0, kPartial, kVisible };

constexpr float kLn2 = 0.6931471805599453f;

SPECD_HOST_DEVICE int MaxOf(int a, int b) { return a > b ? a : b; }
SPECD_HOST_DEVICE int MinOf(int a, int b) { return a < b ? a : b; }

SPECD_HOST_DEVICE bool KeyVisible(const KeyInterval& keys, int key) { return key >= keys.first && key <= keys.last; }

// Keys [k_lo, k_hi] against queries whose intervals span `span`: masked when no query's interval
// meets the range, visible when every query's interval covers it, partial otherwise (conservative:
// a partial answer is always correct).
SPECD_HOST_DEVICE KeyBlockClass ClassifyKeys(const QuerySpan& span, int k_lo, int k_hi) {
  if (k_hi < span.min_first || k_lo > span.max_last) return KeyBlockClass::kMasked;
  if (k_lo >= span.max_first && k_hi <= span.min_last) return KeyBlockClass::kVisible;
  return KeyBlockClass::kPartial;
}

// The span of queries [q_lo, q_hi] of sequence `seq` under a monotone mask: the interval ends of
// the first and last query bound every other's.
template <typename Modifier>
SPECD_HOST_DEVICE QuerySpan MonotoneSpan(const Modifier& modifier, int seq, int q_lo, int q_hi) {
  const KeyInterval lo = modifier.Keys(seq, q_lo);
  const KeyInterval hi = modifier.Keys(seq, q_hi);
  return {lo.first, hi.first, lo.last, hi.last};
}

// ClassifyKeys for queries [q_lo, q_hi] of sequence `seq` under a monotone mask (every built-in).
template <typename Modifier>
SPECD_HOST_DEVICE KeyBlockClass ClassifyKeyBlock(const Modifier& modifier, int seq, int q_lo, int q_hi, int k_lo,
                                                 int k_hi) {
  return ClassifyKeys(MonotoneSpan(modifier, seq, q_lo, q_hi), k_lo, k_hi);
}

// ALiBi's slope of `head` (Press et al. 2022; Bloom's rule for head counts that are not powers of
// two: the closest power of two n's slopes, then every other slope of 2n).
SPECD_HOST_DEVICE float AlibiSlope(int head, int num_heads) {
  int power = 1;
  while (power * 2 <= num_heads) power *= 2;
  if (head < power) return exp2f(-8.0f * static_cast<float>(head + 1) / static_cast<float>(power));
  return exp2f(-4.0f * static_cast<float>(2 * (head - power) + 1) / static_cast<float>(power));
}

// Causal, optionally windowed; the mask of kCausal, kSlidingWindow, kSoftCap and kAlibi.
struct WindowMask {
  int window;  // 0: none
  SPECD_HOST_DEVICE KeyInterval Keys(int /*seq*/, int pos) const {
    return {window > 0 ? MaxOf(0, pos - window + 1) : 0, pos};
  }
};

// kCausal and kSlidingWindow: one functor (window 0 is plain causal), the default path.
struct CausalModifier : WindowMask {
  static constexpr bool kScores = false;
  SPECD_HOST_DEVICE explicit CausalModifier(const AttentionModifier& m, int /*num_heads*/) : WindowMask{m.window} {}
  SPECD_HOST_DEVICE float HeadFactor(int /*head*/) const { return 0.0f; }
  SPECD_HOST_DEVICE float Score(float s, int /*pos*/, int /*key*/, float /*head_factor*/) const { return s; }
};

// tanh for soft-capping. On the GPU from one exp and one fast reciprocal (two MUFU operations
// where tanhf takes about twenty instructions: soft-capped prefill ran at 164 TFLOP/s with tanhf);
// its error is absolute, about 1e-7, which the cap's multiply turns into about cap * 1e-7 of a
// score, far below the bf16 rounding of q and k. The host (the CPU reference) keeps tanhf.
SPECD_HOST_DEVICE float SoftCapTanh(float x) {
#if defined(__CUDA_ARCH__)
  return 1.0f - __fdividef(2.0f, 1.0f + __expf(2.0f * x));
#else
  return tanhf(x);
#endif
}

struct SoftCapModifier : WindowMask {
  static constexpr bool kScores = true;
  float softcap;
  float inverse_softcap;
  SPECD_HOST_DEVICE explicit SoftCapModifier(const AttentionModifier& m, int /*num_heads*/)
      : WindowMask{m.window}, softcap(m.softcap), inverse_softcap(1.0f / m.softcap) {}
  SPECD_HOST_DEVICE float HeadFactor(int /*head*/) const { return 0.0f; }
  SPECD_HOST_DEVICE float Score(float s, int /*pos*/, int /*key*/, float /*head_factor*/) const {
    return softcap * SoftCapTanh(s * inverse_softcap);
  }
};

struct AlibiModifier : WindowMask {
  static constexpr bool kScores = true;
  int num_heads;
  SPECD_HOST_DEVICE explicit AlibiModifier(const AttentionModifier& m, int heads) : WindowMask{m.window}, num_heads(heads) {}
  SPECD_HOST_DEVICE float HeadFactor(int head) const { return AlibiSlope(head, num_heads); }
  SPECD_HOST_DEVICE float KeySlope(float slope) const { return slope; }
  SPECD_HOST_DEVICE float Score(float s, int pos, int key, float slope) const {
    return s + KeySlope(slope) * static_cast<float>(key - pos);
  }
};

// Prefix-LM. The step writes every new key before any query attends, so a query sees the keys
// that exist (seq_lens[seq] of them) among those a full-sequence prefix-LM shows it:
//   pos < prefix_length:  keys [0, max(pos, min(prefix_length, seq_len) - 1)]
//   pos >= prefix_length: keys [0, pos]
// A prefix computed in one step (one chunk) thus matches the unchunked model; a prefix cut over
// several chunks gives its earlier chunks only the prefix keys written by then.
struct PrefixLmModifier {
  static constexpr bool kScores = false;
  int prefix_length;
  const int* seq_lens;  // [num_seqs]
  SPECD_HOST_DEVICE explicit PrefixLmModifier(const AttentionModifier& m, int /*num_heads*/)
      : prefix_length(m.prefix_length), seq_lens(m.seq_lens) {}
  SPECD_HOST_DEVICE KeyInterval Keys(int seq, int pos) const {
    return {0, MaxOf(pos, MinOf(prefix_length, seq_lens[seq]) - 1)};
  }
  SPECD_HOST_DEVICE float HeadFactor(int /*head*/) const { return 0.0f; }
  SPECD_HOST_DEVICE float Score(float s, int /*pos*/, int /*key*/, float /*head_factor*/) const { return s; }
};

// Documents packed into one sequence: a query sees the keys of its own document up to itself,
// i.e. [start of its document, pos]. Documents are contiguous, so their ids never decrease along
// the sequence and the starts (binary search) say everything.
struct DocumentModifier {
  static constexpr bool kScores = false;
  const int* starts;  // [num_seqs, stride]
  int stride;
  SPECD_HOST_DEVICE explicit DocumentModifier(const AttentionModifier& m, int /*num_heads*/)
      : starts(m.document_starts), stride(m.documents_stride) {}
  // The start of pos's document: the last start <= pos (the row's first start is 0).
  SPECD_HOST_DEVICE int DocumentStart(int seq, int pos) const {
    const int* row = starts + static_cast<long long>(seq) * stride;
    int lo = 0, hi = stride;  // row[lo] <= pos < row[hi] (row[stride] taken as past every position)
    while (hi - lo > 1) {
      const int mid = (lo + hi) / 2;
      if (row[mid] <= pos) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return row[lo];
  }
  SPECD_HOST_DEVICE KeyInterval Keys(int seq, int pos) const { return {DocumentStart(seq, pos), pos}; }
  SPECD_HOST_DEVICE float HeadFactor(int /*head*/) const { return 0.0f; }
  SPECD_HOST_DEVICE float Score(float s, int /*pos*/, int /*key*/, float /*head_factor*/) const { return s; }
};

// The keys a kernel reads for a query that sees `visible`: those alone, or with block skipping off
// every key from 0 to the last visible one (the rest masked per element).
SPECD_HOST_DEVICE KeyInterval ReadKeys(const AttentionModifier& m, const KeyInterval& visible) {
  return {m.skip_masked_blocks ? visible.first : 0, visible.last};
}

// The longest key range any query can have over a cache of `context` positions (split planning).
inline int MaxVisibleKeys(const AttentionModifier& m, int context) {
  const bool windowed = m.kind == AttentionModifierKind::kSlidingWindow || m.kind == AttentionModifierKind::kSoftCap ||
                        m.kind == AttentionModifierKind::kAlibi;
  return windowed && m.window > 0 ? MinOf(context, m.window) : context;
}

// The longest key range a kernel reads over a cache of `context` positions (split planning).
inline int MaxReadKeys(const AttentionModifier& m, int context) {
  return m.skip_masked_blocks ? MaxVisibleKeys(m, context) : context;
}

// Whether the descriptor is well formed (pointers not checked): a known kind with its parameters
// in range, and no parameter a kind does not read set to a value it would need to honour.
inline bool ValidAttentionModifier(const AttentionModifier& m) {
  switch (m.kind) {
    case AttentionModifierKind::kCausal:
      return m.window == 0;
    case AttentionModifierKind::kSlidingWindow:
      return m.window > 0;
    case AttentionModifierKind::kSoftCap:
      return m.window >= 0 && m.softcap > 0.0f && std::isfinite(m.softcap);
    case AttentionModifierKind::kAlibi:
      return m.window >= 0;
    case AttentionModifierKind::kPrefixLm:
      return m.window == 0 && m.prefix_length >= 0 && m.seq_lens != nullptr;
    case AttentionModifierKind::kDocument:
      return m.window == 0 && m.document_starts != nullptr && m.documents_stride > 0;
  }
  return false;
}

// Calls visit(functor) with the functor of m's kind; `otherwise()` for a kind this build does not
// know (callers turn it into their error).
template <typename Visit, typename Otherwise>
auto DispatchAttentionModifier(const AttentionModifier& m, int num_heads, Visit&& visit, Otherwise&& otherwise) {
  switch (m.kind) {
    case AttentionModifierKind::kCausal:
    case AttentionModifierKind::kSlidingWindow:
      return visit(CausalModifier(m, num_heads));
    case AttentionModifierKind::kSoftCap:
      return visit(SoftCapModifier(m, num_heads));
    case AttentionModifierKind::kAlibi:
      return visit(AlibiModifier(m, num_heads));
    case AttentionModifierKind::kPrefixLm:
      return visit(PrefixLmModifier(m, num_heads));
    case AttentionModifierKind::kDocument:
      return visit(DocumentModifier(m, num_heads));
  }
  return otherwise();
}

}  // namespace specd::kernels
