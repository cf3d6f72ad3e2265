// Sampling kernel internals, part 7 of 7 (included by sampling.cu only): the per-row stages before
// the selection: LoadRow (parameters and checks), ProcessLogits (steps 1-4 into the workspace)
// and RowStats (max, argmax, min finite, finite count).
#pragma once

#include "kernels/sampling.h"
#include "kernels/sampling_state.cuh"

namespace specd::kernels {
namespace {

__device__ __forceinline__ bool ValidToken(int token, int vocab) {
  return token >= 0 && token < vocab;
}

// Reads the row's parameters (one field per thread: the loads overlap) and checks them.
__device__ void LoadRow(const SamplingKernelParams& p, int row, RowState& s) {
  const auto begin_of = [row](const int32_t* offsets) { return offsets != nullptr ? offsets[row] : 0; };
  const auto end_of = [row](const int32_t* offsets) {
    return offsets != nullptr ? offsets[row + 1] : 0;
  };
  switch (threadIdx.x) {
    case 0: s.temperature = p.temperature[row]; break;
    case 1: s.seed = p.seed[row]; break;
    case 2: s.top_k = p.top_k != nullptr ? p.top_k[row] : 0; break;
    case 3: s.top_p = p.top_p != nullptr ? p.top_p[row] : 1.0f; break;
    case 4: s.min_p = p.min_p != nullptr ? p.min_p[row] : 0.0f; break;
    case 5: s.repetition = p.repetition_penalty != nullptr ? p.repetition_penalty[row] : 1.0f; break;
    case 6: s.presence = p.presence_penalty != nullptr ? p.presence_penalty[row] : 0.0f; break;
    case 7: s.frequency = p.frequency_penalty != nullptr ? p.frequency_penalty[row] : 0.0f; break;
    case 8: s.min_tokens = p.min_tokens != nullptr ? p.min_tokens[row] : 0; break;
    case 9: s.ignore_eos = p.ignore_eos != nullptr && p.ignore_eos[row] != 0; break;
    case 10: s.draft = p.draft_token_ids != nullptr ? p.draft_token_ids[row] : -1; break;
    case 11: s.prompt_begin = begin_of(p.prompt_offsets); break;
    case 12: s.prompt_end = end_of(p.prompt_offsets); break;
    case 13: s.output_begin = begin_of(p.output_offsets); break;
    case 14: s.output_end = end_of(p.output_offsets); break;
    case 15: s.bias_begin = begin_of(p.logit_bias_offsets); break;
    case 16: s.bias_end = end_of(p.logit_bias_offsets); break;
    case 17: s.stop_begin = begin_of(p.stop_token_offsets); break;
    case 18: s.stop_end = end_of(p.stop_token_offsets); break;
    default: break;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    const bool in_penalty_range = s.presence >= -kMaxAbsPenalty && s.presence <= kMaxAbsPenalty &&
                                  s.frequency >= -kMaxAbsPenalty && s.frequency <= kMaxAbsPenalty;
    s.invalid = !(s.temperature >= 0.0f) || isinf(s.temperature) || !(s.top_k >= 0) ||
                !(s.top_p > 0.0f && s.top_p <= 1.0f) || !(s.min_p >= 0.0f && s.min_p <= 1.0f) ||
                !(s.repetition > 0.0f) || isinf(s.repetition) || !in_penalty_range ||
                s.min_tokens < 0 || s.draft < -1 || s.draft >= p.vocab ||
                s.prompt_begin > s.prompt_end || s.output_begin > s.output_end ||
                s.bias_begin > s.bias_end || s.stop_begin > s.stop_end;
  }
  __syncthreads();
}

// Steps 1-4 into ws (a copy of raw); sets s.invalid on a bad token id or bias.
__device__ void ProcessLogits(const SamplingKernelParams& p, Shared& sh, const float* raw,
                              float* ws, int* counts) {
  RowState& s = sh.row;
  const int tid = threadIdx.x;
  const int vocab = p.vocab;
  // The copy (unsanitized: steps 1-4 see the raw values); the raw row's max on the way.
  float x_max = -kInf;
  if (Vectorizable(raw, vocab) && Vectorizable(ws, vocab)) {
    constexpr int kUnroll = 4;
    const int num_vectors = vocab / 4;
    for (int base = tid; base < num_vectors; base += kUnroll * kThreads) {
      float4 x[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int i = base + u * kThreads;
        if (i < num_vectors) x[u] = reinterpret_cast<const float4*>(raw)[i];
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int i = base + u * kThreads;
        if (i >= num_vectors) break;
        reinterpret_cast<float4*>(ws)[i] = x[u];
        x_max = fmaxf(fmaxf(x_max, fmaxf(Sanitize(x[u].x), Sanitize(x[u].y))),
                      fmaxf(Sanitize(x[u].z), Sanitize(x[u].w)));
      }
    }
  } else {
    for (int t = tid; t < vocab; t += kThreads) {
      ws[t] = raw[t];
      x_max = fmaxf(x_max, Sanitize(raw[t]));
    }
  }
  x_max = BlockReduce(x_max, [](float a, float b) { return fmaxf(a, b); }, sh.reduce);
  if (tid == 0) s.x_max = x_max;
  __syncthreads();
  // 1. logit bias
  for (int i = s.bias_begin + tid; i < s.bias_end; i += kThreads) {
    const int token = p.logit_bias_token_ids[i];
    const float bias = p.logit_bias_values[i];
    if (!ValidToken(token, vocab) || !(bias >= -kMaxAbsLogitBias && bias <= kMaxAbsLogitBias)) {
      s.invalid = true;
      continue;
    }
    ws[token] = __fadd_rn(ws[token], bias);
  }
  __syncthreads();
  // 2. min_tokens
  const int n = s.output_end - s.output_begin;
  if (n < s.min_tokens) {
    for (int i = s.stop_begin + tid; i < s.stop_end; i += kThreads) {
      const int token = p.stop_token_ids[i];
      if (ValidToken(token, vocab)) {
        ws[token] = -kInf;
      } else {
        s.invalid = true;
      }
    }
    if (!s.ignore_eos) {
      for (int i = tid; i < p.num_eos; i += kThreads) {
        const int token = p.eos_token_ids[i];
        if (ValidToken(token, vocab)) {
          ws[token] = -kInf;
        } else {
          s.invalid = true;
        }
      }
    }
  }
  __syncthreads();
  // 3. repetition penalty, once per distinct prompt + output token: the thread that claims
  // counts[token] applies it.
  const int num_prompt = s.prompt_end - s.prompt_begin;
  const int history = num_prompt + n;
  const auto history_token = [&](int i) {
    return i < num_prompt ? p.prompt_token_ids[s.prompt_begin + i]
                          : p.output_token_ids[s.output_begin + i - num_prompt];
  };
  if (s.repetition != 1.0f) {
    for (int i = tid; i < history; i += kThreads) {
      const int token = history_token(i);
      if (ValidToken(token, vocab)) {
        counts[token] = 0;
      } else {
        s.invalid = true;
      }
    }
    __syncthreads();
    for (int i = tid; i < history; i += kThreads) {
      const int token = history_token(i);
      if (!ValidToken(token, vocab) || atomicExch(&counts[token], 1) != 0) continue;
      const float l = ws[token];
      ws[token] = l > 0.0f ? __fdiv_rn(l, s.repetition) : __fmul_rn(l, s.repetition);
    }
    __syncthreads();
  }
  // 4. frequency then presence penalty, per distinct output token with its count.
  if (s.presence != 0.0f || s.frequency != 0.0f) {
    const int32_t* output = p.output_token_ids + s.output_begin;
    for (int i = tid; i < n; i += kThreads) {
      if (ValidToken(output[i], vocab)) {
        counts[output[i]] = 0;
      } else {
        s.invalid = true;
      }
    }
    __syncthreads();
    for (int i = tid; i < n; i += kThreads) {
      if (ValidToken(output[i], vocab)) atomicAdd(&counts[output[i]], 1);
    }
    __syncthreads();
    for (int i = tid; i < n; i += kThreads) {
      const int token = output[i];
      if (!ValidToken(token, vocab)) continue;
      const int count = atomicExch(&counts[token], 0);
      if (count == 0) continue;
      float l = ws[token];
      l = __fsub_rn(l, __fmul_rn(s.frequency, static_cast<float>(count)));
      ws[token] = __fsub_rn(l, s.presence);
    }
    __syncthreads();
  }
}

// Stats of the processed row s.source into sh.row; raw_differs: s.x_max holds the raw max
// already (ProcessLogits), else the raw row is this one.
__device__ void RowStats(Shared& sh, int vocab, bool raw_differs) {
  RowState& s = sh.row;
  ArgMax best{-kInf, INT_MAX};
  float l_min = kInf;
  int finite = 0;
  ForEachToken(s.source, false, vocab, [&](int t, float l) {
    if (l > best.value) best = {l, t};
    if (l > -kInf) {
      ++finite;
      l_min = fminf(l_min, l);
    }
  });
  best = BlockReduce(best, [](ArgMax a, ArgMax b) { return BetterArgMax(a, b); }, sh.reduce);
  l_min = BlockReduce(l_min, [](float a, float b) { return fminf(a, b); }, sh.reduce);
  finite = BlockReduce(finite, [](int a, int b) { return a + b; }, sh.reduce);
  if (threadIdx.x == 0) {
    s.l_max = best.value;
    s.l_argmax = best.index;
    s.l_min_finite = l_min;
    s.num_finite = finite;
    const float x_max = raw_differs ? s.x_max : best.value;
    s.raw_zero = !(x_max > -kInf);
    s.x_max = s.raw_zero ? 0.0f : x_max;
  }
  __syncthreads();
}

}  // namespace
}  // namespace specd::kernels
