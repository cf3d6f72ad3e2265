// Sampling kernels (see sampling.h): one block of kThreads per row, all state in shared memory.
// Launched on the caller's stream by LaunchSampling; no host synchronization.
//
// Per row, in order (every stage is block-uniform; "pass" = one sweep over the vocabulary):
//   1. steps 1-4 into the workspace copy of the row (only when the row has something to apply);
//      dedup / counting of history tokens through the row's int workspace and global atomics
//   2. stats pass: max + argmax (lowest id), min finite, #finite; step 5's fallbacks
//   3. greedy: argmax. Else
//      top-k: Select (count mode, limit k) -> the threshold logit (exact float compares);
//      top-p: TopPFastPath (below), else Select (mass mode, limit ceil(p * S)) -> cut (l, id);
//      min-p and the draw: mass of id-ordered chunks, a scan over chunks, a block scan of the
//      chosen chunk
//   4. raw pass: rank and log-normalizer of the chosen token
//
// Masses are w = exp((l - l_max) / T) (double, ExpNonPositive) truncated to 80 fractional bits,
// w in [0, 1]:
//   mass = hi * 2^40 + lo,  hi <= 2^40, lo < 2^40   (two 64-bit limbs; sums of up to 2^20
//   tokens fit each limb), combined in unsigned __int128. Integer sums: exact, order-free.
//
// Select finds the cut element e of the order (l descending, id ascending) over candidates with
// mass m: ahead(e) < limit <= ahead(e) + m(e), ahead = mass of the candidates before e.
//   level:  histogram of mass over kNumBins bins, linear in the logit over [lo, hi] (clamped, so
//           monotone in the order) -> the bin b* holding the cut (exclusive scan over bins)
//           b* small enough: gather (key, id) into shared memory, bitonic sort, scan -> e
//           else: next level over [min, max] logit of b*'s candidates; one logit value (ties):
//           the cut is the q-th smallest id of the tie group (q from the arithmetic), found by
//           the same levels binning ids (count mode)
// TopPFastPath does the usual top-p row in one exact pass: an fp32 histogram picks the few bins
// around p * S, the exact pass sums S, the mass ahead of those bins and the draw's chunk sums,
// and gathers the bins' tokens; an exact check of the pick, else Select.
//
// Cost: one SM per row, bound by instruction issue (~100 instructions per token for the exact
// double weights); rows run in parallel on the other SMs.
#include "kernels/sampling.h"

#include <cfloat>
#include <climits>
#include <cmath>

namespace specd::kernels {
namespace {

using U128 = unsigned __int128;
using u64 = unsigned long long;

constexpr int kThreads = 1024;
constexpr int kWarpSize = 32;
constexpr int kWarps = kThreads / kWarpSize;
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kNumBins = kThreads;             // bins of a Select level, one per thread in the scan
constexpr int kNumChunks = kThreads;           // id-ordered chunks of the draw, one per thread
constexpr int kGatherCapacity = 2 * kThreads;  // candidates sorted exactly in shared memory
constexpr int kMassLimbBits = 40;
constexpr double kTwoPowLimb = 1099511627776.0;  // 2^kMassLimbBits
constexpr double kTwoPow64 = 18446744073709551616.0;
constexpr double kInvTwoPowMass = 1.0 / (kTwoPowLimb * kTwoPowLimb);  // 2^-80
// (l - l_max) / T below -55.5 gives w < 2^-80, no mass; a top-p level's first bins span this.
constexpr double kMassRangeInTemperatures = 60.0;
constexpr double kNoMassExponent = -60.0;  // exp(d) for d below: 0 (its mass is 0 anyway)
constexpr double kSkipExponent = -56.0;    // below it w < 2^-80: no need to compute w
// exp(d) = 2^k * 2^(j/64) * e^r, d = (64k + j) * ln2/64 + r, |r| <= ln2/128.
constexpr int kExpTableBits = 6;
constexpr int kExpTableSize = 1 << kExpTableBits;
constexpr double kExpTableScale = 0x1.71547652b82fep+6;  // 64 / ln2
constexpr double kLn2By64Hi = 0x1.62e42fee00000p-1 / kExpTableSize;  // few bits: n * hi exact
constexpr double kLn2By64Lo = 0x1.a39ef35793c76p-33 / kExpTableSize;
constexpr double kInv6 = 0x1.5555555555555p-3;
constexpr double kInv24 = 0x1.5555555555555p-5;
constexpr double kInv120 = 0x1.1111111111111p-7;
constexpr double kInv720 = 0x1.6c16c16c16c17p-10;
// 2^(j/64) = hi + lo: hi correctly rounded, lo the rest (rounded).
__constant__ double kExp2TableHi[kExpTableSize] = {
    0x1.0000000000000p+0, 0x1.02c9a3e778061p+0, 0x1.059b0d3158574p+0, 0x1.0874518759bc8p+0,
    0x1.0b5586cf9890fp+0, 0x1.0e3ec32d3d1a2p+0, 0x1.11301d0125b51p+0, 0x1.1429aaea92de0p+0,
    0x1.172b83c7d517bp+0, 0x1.1a35beb6fcb75p+0, 0x1.1d4873168b9aap+0, 0x1.2063b88628cd6p+0,
    0x1.2387a6e756238p+0, 0x1.26b4565e27cddp+0, 0x1.29e9df51fdee1p+0, 0x1.2d285a6e4030bp+0,
    0x1.306fe0a31b715p+0, 0x1.33c08b26416ffp+0, 0x1.371a7373aa9cbp+0, 0x1.3a7db34e59ff7p+0,
    0x1.3dea64c123422p+0, 0x1.4160a21f72e2ap+0, 0x1.44e086061892dp+0, 0x1.486a2b5c13cd0p+0,
    0x1.4bfdad5362a27p+0, 0x1.4f9b2769d2ca7p+0, 0x1.5342b569d4f82p+0, 0x1.56f4736b527dap+0,
    0x1.5ab07dd485429p+0, 0x1.5e76f15ad2148p+0, 0x1.6247eb03a5585p+0, 0x1.6623882552225p+0,
    0x1.6a09e667f3bcdp+0, 0x1.6dfb23c651a2fp+0, 0x1.71f75e8ec5f74p+0, 0x1.75feb564267c9p+0,
    0x1.7a11473eb0187p+0, 0x1.7e2f336cf4e62p+0, 0x1.82589994cce13p+0, 0x1.868d99b4492edp+0,
    0x1.8ace5422aa0dbp+0, 0x1.8f1ae99157736p+0, 0x1.93737b0cdc5e5p+0, 0x1.97d829fde4e50p+0,
    0x1.9c49182a3f090p+0, 0x1.a0c667b5de565p+0, 0x1.a5503b23e255dp+0, 0x1.a9e6b5579fdbfp+0,
    0x1.ae89f995ad3adp+0, 0x1.b33a2b84f15fbp+0, 0x1.b7f76f2fb5e47p+0, 0x1.bcc1e904bc1d2p+0,
    0x1.c199bdd85529cp+0, 0x1.c67f12e57d14bp+0, 0x1.cb720dcef9069p+0, 0x1.d072d4a07897cp+0,
    0x1.d5818dcfba487p+0, 0x1.da9e603db3285p+0, 0x1.dfc97337b9b5fp+0, 0x1.e502ee78b3ff6p+0,
    0x1.ea4afa2a490dap+0, 0x1.efa1bee615a27p+0, 0x1.f50765b6e4540p+0, 0x1.fa7c1819e90d8p+0};
__constant__ double kExp2TableLo[kExpTableSize] = {
    0x0p+0, -0x1.19083535b085dp-56, 0x1.d73e2a475b465p-55, 0x1.186be4bb284ffp-57,
    0x1.8a62e4adc610bp-54, 0x1.03a1727c57b53p-59, -0x1.6c51039449b3ap-54, -0x1.32fbf9af1369ep-54,
    -0x1.19041b9d78a76p-55, 0x1.e5b4c7b4968e4p-55, 0x1.e016e00a2643cp-54, 0x1.dc775814a8495p-55,
    0x1.9b07eb6c70573p-54, 0x1.2bd339940e9d9p-55, 0x1.612e8afad1255p-55, 0x1.0024754db41d5p-54,
    0x1.6f46ad23182e4p-55, 0x1.32721843659a6p-54, -0x1.63aeabf42eae2p-54, -0x1.5e436d661f5e3p-56,
    0x1.ada0911f09ebcp-55, -0x1.ef3691c309278p-58, 0x1.89b7a04ef80d0p-59, 0x1.3c1a3b69062f0p-56,
    0x1.d4397afec42e2p-56, -0x1.4b309d25957e3p-54, -0x1.07abe1db13cadp-55, 0x1.9bb2c011d93adp-54,
    0x1.6324c054647adp-54, 0x1.ba6f93080e65ep-54, -0x1.383c17e40b497p-54, -0x1.bb60987591c34p-54,
    -0x1.bdd3413b26456p-54, -0x1.bbe3a683c88abp-57, -0x1.16e4786887a99p-55, -0x1.0245957316dd3p-54,
    -0x1.41577ee04992fp-55, 0x1.05d02ba15797ep-56, -0x1.d4c1dd41532d8p-54, -0x1.fc6f89bd4f6bap-54,
    0x1.6e9f156864b27p-54, 0x1.5cc13a2e3976cp-55, -0x1.75fc781b57ebcp-57, -0x1.d185b7c1b85d1p-54,
    0x1.c7c46b071f2bep-56, -0x1.359495d1cd533p-54, -0x1.d2f6edb8d41e1p-54, 0x1.0fac90ef7fd31p-54,
    0x1.7a1cd345dcc81p-54, -0x1.2805e3084d708p-57, -0x1.5584f7e54ac3bp-56, 0x1.23dd07a2d9e84p-55,
    0x1.11065895048ddp-55, 0x1.2884dff483cadp-54, 0x1.503cbd1e949dbp-56, -0x1.cbc3743797a9cp-54,
    0x1.2ed02d75b3707p-55, 0x1.c2300696db532p-54, -0x1.1a5cd4f184b5cp-54, 0x1.39e8980a9cc8fp-55,
    -0x1.e9c23179c2893p-54, 0x1.dc7f486a4b6b0p-54, 0x1.9d3e12dd8a18bp-54, 0x1.74853f3a5931ep-55};
// Top-p's approximate (fp32) histogram picks candidate bins this far (x total mass) around the
// limit; fp32 sums are good to ~1e-6 of the total, and the exact pass checks the choice.
constexpr double kApproxMargin = 1e-5;
constexpr float kApproxNoMass = -60.0f;
constexpr float kInf = INFINITY;

// Sampler::Uniform's SplitMix64 (sampler.cc).
constexpr uint64_t kSplitMixGamma = 0x9E3779B97F4A7C15ULL;
constexpr uint64_t kSplitMixMul1 = 0xBF58476D1CE4E5B9ULL;
constexpr uint64_t kSplitMixMul2 = 0x94D049BB133111EBULL;
constexpr int kMantissaBits = 53;  // of a double
constexpr double kInvTwoPow53 = 1.0 / 9007199254740992.0;
constexpr uint64_t kSampleStream = 0;    // plain sampling (and the bonus token)
constexpr uint64_t kAcceptStream = 1;    // accept test of a draft
constexpr uint64_t kResidualStream = 2;  // draw after a rejection

// SamplingParams::Validate's ranges.
constexpr float kMaxAbsPenalty = 2.0f;
constexpr float kMaxAbsLogitBias = 100.0f;

enum SelectMode : int { kByLogit = 0, kById = 1 };

// ---------------------------------------------------------------------------------------------
// Scalars.

__device__ __forceinline__ int Lane() { return threadIdx.x & (kWarpSize - 1); }
__device__ __forceinline__ int Warp() { return threadIdx.x / kWarpSize; }

__device__ __forceinline__ uint64_t SplitMix(uint64_t z) {
  z = (z ^ (z >> 30)) * kSplitMixMul1;
  z = (z ^ (z >> 27)) * kSplitMixMul2;
  return z ^ (z >> 31);
}

// The 53 bits of Sampler::Uniform(seed, position, stream): u = bits * 2^-53.
__device__ uint64_t UniformBits(uint64_t seed, uint64_t position, uint64_t stream) {
  const uint64_t key = SplitMix(SplitMix(seed + kSplitMixGamma) + (stream + 1) * kSplitMixGamma);
  const uint64_t bits = SplitMix(key + (position + 1) * kSplitMixGamma);
  return bits >> (64 - kMantissaBits);
}

__device__ __forceinline__ float Sanitize(float x) {
  if (isnan(x)) return -kInf;
  if (x == kInf) return FLT_MAX;
  return x;
}

// exp(d) for d <= 0 to about half an ulp (as glibc's; exp(0) = 1 exactly); 0 below
// kNoMassExponent. table: kExp2TableHi then kExp2TableLo (in shared memory).
__device__ __forceinline__ double ExpNonPositive(double d, const double* table) {
  if (d < kNoMassExponent) return 0.0;
  const double n = rint(__dmul_rn(d, kExpTableScale));
  const int ni = __double2int_rn(n);
  double r = __fma_rn(-n, kLn2By64Hi, d);  // exact
  r = __fma_rn(-n, kLn2By64Lo, r);
  // e^r - 1 = r + r^2 (1/2 + r/6 + ...), Taylor to degree 6 (|r| < 0.0055).
  double poly = __fma_rn(r, kInv720, kInv120);
  poly = __fma_rn(poly, r, kInv24);
  poly = __fma_rn(poly, r, kInv6);
  poly = __fma_rn(poly, r, 0.5);
  const double expm1 = __fma_rn(__dmul_rn(r, r), poly, r);
  // 2^(j/64) e^r = hi + (hi * expm1 + lo): the small part first, one rounding at the end.
  const int j = ni & (kExpTableSize - 1);
  const double hi = table[j];
  const double scaled = __dadd_rn(hi, __fma_rn(hi, expm1, table[kExpTableSize + j]));  // [1, 2)
  const long long exponent = static_cast<long long>(ni >> kExpTableBits);  // floor(ni / 64)
  return __longlong_as_double(__double_as_longlong(scaled) + (exponent << 52));
}

// w = exp((l - l_max) / T) in double, sampler.cc step 8: the quotient as the CPU's (correctly
// rounded but in rare double-rounding cases), exp within 2 ulps of glibc's.
struct Weigher {
  double l_max;
  double temperature;
  double inv_temperature;
  const double* table;
  float no_mass_below;  // l below: (l - l_max) / T < -56, so w < 2^-80 and the mass is 0
  __device__ __forceinline__ double operator()(float l) const {
    const double diff = __dsub_rn(static_cast<double>(l), l_max);
    const double q = __dmul_rn(diff, inv_temperature);
    const double quotient = __fma_rn(__fma_rn(-q, temperature, diff), inv_temperature, q);
    return ExpNonPositive(quotient, table);
  }
};

struct Mass {
  u64 hi;
  u64 lo;
};

// floor(w * 2^80) as two 40-bit limbs, from w's bits; w in [0, 2).
__device__ __forceinline__ Mass ToMass(double w) {
  const u64 bits = static_cast<u64>(__double_as_longlong(w));
  const int biased = static_cast<int>((bits >> 52) & 0x7ff);
  if (biased == 0) return {0, 0};  // 0 or subnormal: below 2^-80
  const u64 mantissa = (bits & ((1ull << 52) - 1)) | (1ull << 52);  // w = mantissa * 2^(biased - 1075)
  const int shift = biased - 1075 + 2 * kMassLimbBits;  // mass = mantissa * 2^shift
  U128 mass = 0;
  if (shift >= 0) {
    mass = static_cast<U128>(mantissa) << shift;
  } else if (shift > -53) {
    mass = mantissa >> -shift;
  }
  return {static_cast<u64>(mass >> kMassLimbBits),
          static_cast<u64>(mass) & ((1ull << kMassLimbBits) - 1)};
}
__device__ __forceinline__ bool IsZero(Mass m) { return m.hi == 0 && m.lo == 0; }

__device__ __forceinline__ U128 Combine(u64 hi, u64 lo) {
  return (static_cast<U128>(hi) << kMassLimbBits) + lo;
}
__device__ __forceinline__ U128 ToU128(Mass m) { return Combine(m.hi, m.lo); }

__device__ __forceinline__ double U128ToDouble(U128 x) {
  return static_cast<double>(static_cast<u64>(x >> 64)) * kTwoPow64 +
         static_cast<double>(static_cast<u64>(x));
}

// ceil(p * s) exactly, for 0 < p < 1 and s < 2^100.
__device__ U128 CeilMul(float p, U128 s) {
  const unsigned bits = __float_as_uint(p);
  const int exponent = static_cast<int>((bits >> 23) & 0xffu);
  U128 mantissa = bits & 0x7fffffu;
  int shift = 149;  // denormal: p = mantissa * 2^-149
  if (exponent != 0) {
    mantissa |= 0x800000u;
    shift = 150 - exponent;  // p = mantissa * 2^(exponent - 150)
  }
  const U128 product = mantissa * s;  // < 2^124
  if (shift >= 128) return product != 0 ? 1 : 0;
  U128 quotient = product >> shift;
  if ((quotient << shift) != product) ++quotient;
  return quotient;
}

// floor(bits * 2^-53 * s) exactly, for bits < 2^53 and s < 2^100.
__device__ U128 ScaleByUniform(U128 s, uint64_t bits) {
  const U128 low = static_cast<U128>(bits) * static_cast<u64>(s);         // < 2^117
  const U128 high = static_cast<U128>(bits) * static_cast<u64>(s >> 64);  // < 2^89
  return (high << (64 - kMantissaBits)) + (low >> kMantissaBits);
}

// A sort key whose ascending order is the logit descending; +0 and -0 are one value.
__device__ __forceinline__ unsigned DescendingKey(float l) {
  const unsigned u = __float_as_uint(l == 0.0f ? 0.0f : l);
  const unsigned ascending = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return ~ascending;
}

// ---------------------------------------------------------------------------------------------
// Warp and block collectives (fixed combination order: deterministic).

__device__ __forceinline__ float ShflXor(float v, int o) { return __shfl_xor_sync(kFullMask, v, o); }
__device__ __forceinline__ int ShflXor(int v, int o) { return __shfl_xor_sync(kFullMask, v, o); }
__device__ __forceinline__ double ShflXor(double v, int o) {
  return __shfl_xor_sync(kFullMask, v, o);
}
__device__ __forceinline__ u64 ShflXor(u64 v, int o) { return __shfl_xor_sync(kFullMask, v, o); }
__device__ __forceinline__ U128 ShflXor(U128 v, int o) {
  const u64 lo = __shfl_xor_sync(kFullMask, static_cast<u64>(v), o);
  const u64 hi = __shfl_xor_sync(kFullMask, static_cast<u64>(v >> 64), o);
  return (static_cast<U128>(hi) << 64) | lo;
}
__device__ __forceinline__ double ShflUp(double v, int d) { return __shfl_up_sync(kFullMask, v, d); }
__device__ __forceinline__ U128 ShflUp(U128 v, int d) {
  const u64 lo = __shfl_up_sync(kFullMask, static_cast<u64>(v), d);
  const u64 hi = __shfl_up_sync(kFullMask, static_cast<u64>(v >> 64), d);
  return (static_cast<U128>(hi) << 64) | lo;
}

struct ArgMax {
  float value;
  int index;
};
__device__ __forceinline__ ArgMax ShflXor(ArgMax v, int o) {
  return {ShflXor(v.value, o), ShflXor(v.index, o)};
}
__device__ __forceinline__ ArgMax BetterArgMax(ArgMax a, ArgMax b) {
  return (a.value > b.value || (a.value == b.value && a.index < b.index)) ? a : b;
}

template <typename T>
__device__ __forceinline__ T WarpSum(T v) {
  for (int o = kWarpSize / 2; o > 0; o /= 2) v += ShflXor(v, o);
  return v;
}

// scratch: kWarps values of T (the block's reduce buffer). Every thread gets the result.
template <typename T, typename Op>
__device__ T BlockReduce(T v, Op op, void* scratch_bytes) {
  T* scratch = static_cast<T*>(scratch_bytes);
  for (int o = kWarpSize / 2; o > 0; o /= 2) v = op(v, ShflXor(v, o));
  if (Lane() == 0) scratch[Warp()] = v;
  __syncthreads();
  T result = scratch[0];
  for (int w = 1; w < kWarps; ++w) result = op(result, scratch[w]);
  __syncthreads();
  return result;
}

template <typename T>
__device__ __forceinline__ T WarpInclusiveScan(T v) {
  for (int d = 1; d < kWarpSize; d *= 2) {
    const T other = ShflUp(v, d);
    if (Lane() >= d) v += other;
  }
  return v;
}

// Exclusive prefix sum over the block in thread order; *total: the sum (every thread).
template <typename T>
__device__ T BlockExclusiveScan(T v, T* total, void* scratch_bytes) {
  T* scratch = static_cast<T*>(scratch_bytes);
  const T inclusive = WarpInclusiveScan(v);
  if (Lane() == kWarpSize - 1) scratch[Warp()] = inclusive;
  __syncthreads();
  T base = 0;
  T sum = 0;
  for (int w = 0; w < kWarps; ++w) {
    const T s = scratch[w];
    if (w < Warp()) base += s;
    sum += s;
  }
  __syncthreads();
  *total = sum;
  return base + inclusive - v;
}

// Ascending bitonic sort of keys[0, n), n <= kGatherCapacity.
__device__ void BitonicSort(u64* keys, int n) {
  int size = 1;
  while (size < n) size *= 2;
  for (int i = n + static_cast<int>(threadIdx.x); i < size; i += kThreads) keys[i] = ~0ull;
  __syncthreads();
  for (int k = 2; k <= size; k *= 2) {
    for (int j = k / 2; j > 0; j /= 2) {
      for (int i = threadIdx.x; i < size; i += kThreads) {
        const int partner = i ^ j;
        if (partner > i) {
          const u64 a = keys[i];
          const u64 b = keys[partner];
          const bool ascending = (i & k) == 0;
          if ((a > b) == ascending) {
            keys[i] = b;
            keys[partner] = a;
          }
        }
      }
      __syncthreads();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Block state.

struct RowState {
  float temperature, top_p, min_p, repetition, presence, frequency;
  int top_k, min_tokens, draft;
  bool ignore_eos;
  uint64_t seed;
  int prompt_begin, prompt_end, output_begin, output_end;
  int bias_begin, bias_end, stop_begin, stop_end;
  bool invalid;
  // The processed row: l[t] = zero_row ? 0 : Sanitize(source[t]).
  const float* source;
  bool zero_row;
  float l_max, l_min_finite;
  int l_argmax, num_finite;
  // The raw row for logprobs: x[t] = raw_zero ? 0 : Sanitize(raw[t]).
  bool raw_zero;
  float x_max;
};

struct SelectLevel {
  int mode;              // kByLogit: candidates have l in [l_lo, l_hi];
  float l_lo, l_hi;      // kById: l == l_lo and id in [id_lo, id_hi]
  int id_lo, id_hi;
  double v_lo, v_scale;  // bin = clamp((v - v_lo) * v_scale), v = -l (kByLogit) or id (kById)
  bool count_mode;       // mass 1 per candidate (else the weight's mass)
  bool limit_from_total; // limit = ceil(top_p * total), from the first level's total
  U128 ahead;            // mass of the candidates before the level's range
  U128 limit;
};

struct Histogram {  // exact, of a Select level
  unsigned count[kNumBins];
  u64 hi[kNumBins];
  u64 lo[kNumBins];
};

struct ApproxHistogram {  // fp32, of top-p's fast path
  unsigned count[kNumBins];
  float mass[kNumBins];
};

struct ChunkSumsLimbs {  // mass of id chunk c = hi[c] * 2^40 + lo[c]
  u64 hi[kNumChunks];
  u64 lo[kNumChunks];
};

struct Shared {
  RowState row;
  SelectLevel level;
  union {  // one user at a time: Select, then top-p's approximate pass, then the chunks
    Histogram hist;
    ApproxHistogram approx;
    ChunkSumsLimbs chunk;
  } bins;
  u64 keys[kGatherCapacity];
  double exp_table[2 * kExpTableSize];  // kExp2TableHi, kExp2TableLo
  alignas(16) unsigned char reduce[kWarps * sizeof(U128)];
  int found;      // the bin (or chunk) holding the cut (or the draw); -1: none
  unsigned found_count;
  U128 found_ahead;
  int num_keys;
  bool done;
  float cut_l;
  int cut_id;
  int cut_index;
  int token;
};

// What the per-token functions read, in registers.
struct RowView {
  const float* source;
  bool zero_row;
  __device__ float Logit(int t) const { return zero_row ? 0.0f : Sanitize(source[t]); }
};

__device__ __forceinline__ bool Vectorizable(const float* row, int vocab) {
  return vocab % 4 == 0 && reinterpret_cast<uintptr_t>(row) % sizeof(float4) == 0;
}

// f(t, l) for every token t of the row, l = Sanitize(source[t]) (0 for a zero row). A thread takes
// 4 consecutive tokens (one 16-byte load) from each of kUnroll places per step, the loads issued
// together; its tokens come in increasing t.
template <typename F>
__device__ __forceinline__ void ForEachToken(const float* source, bool zero_row, int vocab, F&& f) {
  constexpr int kUnroll = 4;
  if (zero_row) {
    for (int t = threadIdx.x; t < vocab; t += kThreads) f(t, 0.0f);
    return;
  }
  if (Vectorizable(source, vocab)) {
    const float4* vectors = reinterpret_cast<const float4*>(source);
    const int num_vectors = vocab / 4;
    for (int base = threadIdx.x; base < num_vectors; base += kUnroll * kThreads) {
      float4 x[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int i = base + u * kThreads;
        x[u] = i < num_vectors ? vectors[i] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int i = base + u * kThreads;
        if (i >= num_vectors) break;
        f(4 * i, Sanitize(x[u].x));
        f(4 * i + 1, Sanitize(x[u].y));
        f(4 * i + 2, Sanitize(x[u].z));
        f(4 * i + 3, Sanitize(x[u].w));
      }
    }
    return;
  }
  for (int base = threadIdx.x; base < vocab; base += kUnroll * kThreads) {
    float x[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int t = base + u * kThreads;
      x[u] = t < vocab ? source[t] : 0.0f;
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int t = base + u * kThreads;
      if (t >= vocab) break;
      f(t, Sanitize(x[u]));
    }
  }
}

// Chunks of the draw: chunk c holds ids [c * size, (c + 1) * size); size a multiple of
// kChunkGranule, at most kThreads (the draw scans a chunk with the whole block); <= kNumChunks.
//   chunk c:  | lane 0: 16 ids | lane 1: 16 ids | ... | lane 31 |  (x size / kChunkGranule)
constexpr int kLaneRun = 16;                          // consecutive ids per lane and step
constexpr int kChunkGranule = kLaneRun * kWarpSize;   // 512
__device__ __forceinline__ int ChunkSize(int vocab) {
  const int per_chunk = (vocab + kNumChunks - 1) / kNumChunks;
  return max(kChunkGranule, (per_chunk + kChunkGranule - 1) / kChunkGranule * kChunkGranule);
}

// Warp-wide: f(t, l) for the tokens of chunk c; lane i takes kLaneRun consecutive ids per step
// (four 16-byte loads, issued together).
template <typename F>
__device__ __forceinline__ void ForEachInChunk(const RowView& view, int c, int chunk_size,
                                               int vocab, F&& f) {
  const bool vectors = !view.zero_row && Vectorizable(view.source, vocab);
  for (int j = 0; j < chunk_size; j += kChunkGranule) {
    const int first = c * chunk_size + j + Lane() * kLaneRun;
    float l[kLaneRun];
    if (vectors && first + kLaneRun <= vocab) {
      const float4* v = reinterpret_cast<const float4*>(view.source + first);
#pragma unroll
      for (int u = 0; u < kLaneRun / 4; ++u) {
        const float4 x = v[u];
        l[4 * u] = Sanitize(x.x);
        l[4 * u + 1] = Sanitize(x.y);
        l[4 * u + 2] = Sanitize(x.z);
        l[4 * u + 3] = Sanitize(x.w);
      }
    } else {
#pragma unroll
      for (int u = 0; u < kLaneRun; ++u) l[u] = first + u < vocab ? view.Logit(first + u) : -kInf;
    }
#pragma unroll
    for (int u = 0; u < kLaneRun; ++u) {
      if (first + u < vocab) f(first + u, l[u]);
    }
  }
}

// What Select needs beyond the level.
struct SelectInput {
  bool weighted;    // mass = ToMass(w) (top-p); else 1 per token (top-k)
  bool need_id;     // resolve ties at the cut by id (top-p); else only the cut's logit matters
  float floor_l;    // candidates: l >= floor_l and l > -inf
  float top_p;      // weighted: limit = ceil(top_p * total)
  int k;            // count mode: limit = k
  double map_lo;    // lowest logit the first level's bins span (lower ones share the last bin)
  Weigher weigh;
};

__device__ __forceinline__ bool InLevel(const SelectLevel& lv, int t, float l) {
  if (lv.mode == kByLogit) return l >= lv.l_lo && l <= lv.l_hi;
  return l == lv.l_lo && t >= lv.id_lo && t <= lv.id_hi;
}

__device__ __forceinline__ int LevelBin(const SelectLevel& lv, int t, float l) {
  const double v = lv.mode == kByLogit ? -static_cast<double>(l) : static_cast<double>(t);
  const double x = __dmul_rn(__dsub_rn(v, lv.v_lo), lv.v_scale);
  if (!(x > 0.0)) return 0;
  if (x >= static_cast<double>(kNumBins - 1)) return kNumBins - 1;
  return static_cast<int>(x);
}

// Candidate test and mass of token t at level lv (mass 0: not a candidate).
__device__ __forceinline__ Mass CandidateMass(const SelectInput& in, const SelectLevel& lv, int t,
                                              float l) {
  if (!(l > -kInf) || l < in.floor_l || !InLevel(lv, t, l)) return {0, 0};
  if (lv.count_mode) return {0, 1};
  if (l < in.weigh.no_mass_below) return {0, 0};
  return ToMass(in.weigh(l));
}

// A candidate of lv in bin `bin` (the bin test first: it is cheaper than the weight).
__device__ __forceinline__ bool InBin(const SelectInput& in, const SelectLevel& lv, int t, float l,
                                      int bin) {
  if (!(l > -kInf) || l < in.floor_l || !InLevel(lv, t, l) || LevelBin(lv, t, l) != bin) {
    return false;
  }
  return !IsZero(CandidateMass(in, lv, t, l));
}

__device__ __forceinline__ double Scale(double lo, double hi) {
  const double span = hi - lo;
  return span > 0.0 ? static_cast<double>(kNumBins) / span : 0.0;
}

// The first level: bins linear in the logit over [map_lo, l_max], all logits candidates.
__device__ SelectLevel FirstLevel(double l_max, double map_lo, int vocab, bool weighted) {
  SelectLevel lv;
  lv.mode = kByLogit;
  lv.l_lo = -kInf;
  lv.l_hi = kInf;
  lv.id_lo = 0;
  lv.id_hi = vocab - 1;
  lv.v_lo = -l_max;
  lv.v_scale = Scale(-l_max, -map_lo);
  lv.count_mode = !weighted;
  lv.limit_from_total = weighted;
  lv.ahead = 0;
  lv.limit = 0;
  return lv;
}
// Finds the cut element (see the file comment); leaves it in sh.cut_l / sh.cut_id.
__device__ void Select(Shared& sh, const RowView view, const SelectInput in, int vocab) {
  const int tid = threadIdx.x;
  __syncthreads();  // every thread has read the last Select's answer (sh.cut_*, sh.done)
  if (tid == 0) {
    sh.level = FirstLevel(in.weigh.l_max, in.map_lo, vocab, in.weighted);
    sh.level.limit = static_cast<U128>(in.k);
    sh.done = false;
    sh.cut_l = sh.row.l_max;  // a safe answer should the search fail (it cannot)
    sh.cut_id = sh.row.l_argmax;
  }
  __syncthreads();
  for (;;) {
    const SelectLevel lv = sh.level;
    for (int b = tid; b < kNumBins; b += kThreads) {
      sh.bins.hist.count[b] = 0;
      sh.bins.hist.hi[b] = 0;
      sh.bins.hist.lo[b] = 0;
    }
    if (tid == 0) sh.found = -1;
    __syncthreads();
    ForEachToken(view.source, view.zero_row, vocab, [&](int t, float l) {
      const Mass m = CandidateMass(in, lv, t, l);
      if (IsZero(m)) return;
      const int b = LevelBin(lv, t, l);
      atomicAdd(&sh.bins.hist.count[b], 1u);
      if (!lv.count_mode) {
        atomicAdd(&sh.bins.hist.hi[b], m.hi);
        atomicAdd(&sh.bins.hist.lo[b], m.lo);
      }
    });
    __syncthreads();
    // The bin holding the cut: ahead + excl < limit <= ahead + excl + value (exactly one).
    const unsigned my_count = sh.bins.hist.count[tid];
    const U128 value = lv.count_mode ? static_cast<U128>(my_count)
                                     : Combine(sh.bins.hist.hi[tid], sh.bins.hist.lo[tid]);
    U128 total;
    const U128 excl = BlockExclusiveScan(value, &total, sh.reduce);
    const U128 limit = lv.limit_from_total ? CeilMul(in.top_p, total) : lv.limit;
    const U128 before = lv.ahead + excl;
    if (value != 0 && before < limit && limit <= before + value) {
      sh.found = tid;
      sh.found_count = my_count;
      sh.found_ahead = before;
    }
    if (tid == 0) {
      sh.level.limit = limit;
      sh.level.limit_from_total = false;
    }
    __syncthreads();
    const int found = sh.found;
    if (found < 0) return;  // unreachable: keeps the safe answer
    const unsigned count = sh.found_count;
    const U128 ahead = sh.found_ahead;

    if (count <= static_cast<unsigned>(kGatherCapacity)) {
      // Gather the bin, sort it in the order, scan its masses.
      if (tid == 0) sh.num_keys = 0;
      __syncthreads();
      ForEachToken(view.source, view.zero_row, vocab, [&](int t, float l) {
        if (!InBin(in, lv, t, l, found)) return;
        const int slot = atomicAdd(&sh.num_keys, 1);
        if (slot < kGatherCapacity) {
          sh.keys[slot] = (static_cast<u64>(DescendingKey(l)) << 32) | static_cast<unsigned>(t);
        }
      });
      __syncthreads();
      const int n = min(sh.num_keys, kGatherCapacity);
      BitonicSort(sh.keys, n);
      U128 m[2] = {0, 0};
      int ids[2] = {-1, -1};
      for (int e = 0; e < 2; ++e) {
        const int index = 2 * tid + e;
        if (index >= n) continue;
        ids[e] = static_cast<int>(sh.keys[index] & 0xffffffffu);
        m[e] = ToU128(CandidateMass(in, lv, ids[e], view.Logit(ids[e])));
      }
      U128 unused;
      U128 running = ahead + BlockExclusiveScan(m[0] + m[1], &unused, sh.reduce);
      for (int e = 0; e < 2; ++e) {
        if (ids[e] >= 0 && m[e] != 0 && running < limit && limit <= running + m[e]) {
          sh.cut_l = view.Logit(ids[e]);
          sh.cut_id = ids[e];
        }
        running += m[e];
      }
      __syncthreads();
      return;
    }

    // Narrow to the bin's range.
    float l_min = kInf, l_max = -kInf;
    int id_min = INT_MAX, id_max = -1;
    ForEachToken(view.source, view.zero_row, vocab, [&](int t, float l) {
      if (!InBin(in, lv, t, l, found)) return;
      l_min = fminf(l_min, l);
      l_max = fmaxf(l_max, l);
      id_min = min(id_min, t);
      id_max = max(id_max, t);
    });
    l_min = BlockReduce(l_min, [](float a, float b) { return fminf(a, b); }, sh.reduce);
    l_max = BlockReduce(l_max, [](float a, float b) { return fmaxf(a, b); }, sh.reduce);
    id_min = BlockReduce(id_min, [](int a, int b) { return min(a, b); }, sh.reduce);
    id_max = BlockReduce(id_max, [](int a, int b) { return max(a, b); }, sh.reduce);
    if (tid == 0) {
      SelectLevel& next = sh.level;
      next.ahead = ahead;
      if (lv.mode == kByLogit && l_min < l_max) {
        next.l_lo = l_min;
        next.l_hi = l_max;
        next.v_lo = -static_cast<double>(l_max);
        next.v_scale = Scale(-static_cast<double>(l_max), -static_cast<double>(l_min));
      } else if (lv.mode == kByLogit && !in.need_id) {
        sh.cut_l = l_min;  // one logit value: the threshold
        sh.cut_id = id_min;
        sh.done = true;
      } else if (lv.mode == kByLogit) {
        // Ties: the r-th (0-based) of the group in id order has ahead + r * w before it; the
        // cut is the q-th smallest id, q = the smallest q >= 1 with ahead + q * w >= limit.
        const U128 w = lv.count_mode ? static_cast<U128>(1)
                                     : ToU128(ToMass(in.weigh(l_min)));
        const U128 needed = limit - ahead;
        unsigned lo = 1, hi = count;
        while (lo < hi) {
          const unsigned mid = lo + (hi - lo) / 2;
          if (static_cast<U128>(mid) * w >= needed) {
            hi = mid;
          } else {
            lo = mid + 1;
          }
        }
        next.mode = kById;
        next.l_lo = l_min;
        next.l_hi = l_min;
        next.id_lo = id_min;
        next.id_hi = id_max;
        next.v_lo = static_cast<double>(id_min);
        next.v_scale = Scale(static_cast<double>(id_min), static_cast<double>(id_max));
        next.count_mode = true;
        next.ahead = 0;
        next.limit = lo;
      } else {
        next.id_lo = id_min;
        next.id_hi = id_max;
        next.v_lo = static_cast<double>(id_min);
        next.v_scale = Scale(static_cast<double>(id_min), static_cast<double>(id_max));
      }
    }
    __syncthreads();
    if (sh.done) return;
  }
}

// The distribution after steps 7-10: w of the tokens that survive top-k, top-p and min-p.
struct FinalWeights {
  Weigher weigh;
  float floor_l;  // top-k: l >= floor_l
  bool has_cut;   // top-p: l > cut_l, or l == cut_l and id <= cut_id
  float cut_l;
  int cut_id;
  double min_p;   // min-p: w >= min_p (max w is exp(0) = 1)
  __device__ double W(int t, float l) const {
    if (!(l > -kInf) || l < floor_l || l < weigh.no_mass_below) return 0.0;
    if (has_cut && !(l > cut_l || (l == cut_l && t <= cut_id))) return 0.0;
    const double w = weigh(l);
    if (min_p > 0.0 && !(w >= min_p)) return 0.0;
    return w;
  }
  __device__ Mass operator()(int t, float l) const { return ToMass(W(t, l)); }
};

// normalize(max(0, p - q)) of the rejection sampler, p = float(w / S); or p itself.
struct ResidualWeights {
  FinalWeights p;
  double sum;      // S, the final weights' sum
  const float* q;  // [vocab] or null: one-hot on draft
  int draft;
  bool use_p;
  __device__ double P(int t, float l) const {
    return static_cast<double>(static_cast<float>(__ddiv_rn(p.W(t, l), sum)));
  }
  __device__ Mass operator()(int t, float l) const {
    const double pt = P(t, l);
    if (use_p) return ToMass(pt);
    const double qt = q != nullptr ? static_cast<double>(q[t]) : (t == draft ? 1.0 : 0.0);
    return ToMass(fmax(0.0, __dsub_rn(pt, qt)));
  }
};

__device__ __forceinline__ int NumChunks(int vocab) {
  const int chunk_size = ChunkSize(vocab);
  return (vocab + chunk_size - 1) / chunk_size;
}

// The total of sh.bins.chunk (every thread).
__device__ U128 ChunkTotal(Shared& sh, int vocab) {
  const int c = threadIdx.x;
  const U128 mine = c < NumChunks(vocab) ? Combine(sh.bins.chunk.hi[c], sh.bins.chunk.lo[c]) : 0;
  return BlockReduce(mine, [](U128 a, U128 b) { return a + b; }, sh.reduce);
}

// Sums mass(t, l) over the id chunks into sh.bins.chunk; returns the total (every thread).
template <typename MassFn>
__device__ U128 ChunkSums(Shared& sh, const RowView& view, int vocab, const MassFn& mass) {
  __syncthreads();  // the bins' last user is done
  const int chunk_size = ChunkSize(vocab);
  for (int c = Warp(); c < NumChunks(vocab); c += kWarps) {
    u64 hi = 0, lo = 0;
    ForEachInChunk(view, c, chunk_size, vocab, [&](int t, float l) {
      const Mass m = mass(t, l);
      hi += m.hi;
      lo += m.lo;
    });
    hi = WarpSum(hi);
    lo = WarpSum(lo);
    if (Lane() == 0) {
      sh.bins.chunk.hi[c] = hi;
      sh.bins.chunk.lo[c] = lo;
    }
  }
  __syncthreads();
  return ChunkTotal(sh, vocab);
}

// The smallest id t with (mass of ids <= t) > target, target < total; after ChunkSums(mass).
template <typename MassFn>
__device__ int DrawFromChunks(Shared& sh, const RowView& view, int vocab, const MassFn& mass,
                              U128 target, int fallback) {
  const int chunk_size = ChunkSize(vocab);
  const int tid = threadIdx.x;
  if (tid == 0) {
    sh.found = -1;
    sh.token = fallback;
  }
  const U128 value =
      tid < NumChunks(vocab) ? Combine(sh.bins.chunk.hi[tid], sh.bins.chunk.lo[tid]) : 0;
  U128 total;
  const U128 excl = BlockExclusiveScan(value, &total, sh.reduce);  // syncs: found = -1 visible
  if (value != 0 && excl <= target && target < excl + value) {
    sh.found = tid;
    sh.found_ahead = excl;
  }
  __syncthreads();
  const int chunk = sh.found;
  if (chunk < 0) return sh.token;  // unreachable (block-uniform)
  // The chunk, one id per thread (chunk_size <= kThreads).
  const int t = chunk * chunk_size + tid;
  const U128 m = tid < chunk_size && t < vocab ? ToU128(mass(t, view.Logit(t))) : 0;
  U128 unused;
  const U128 before = sh.found_ahead + BlockExclusiveScan(m, &unused, sh.reduce);
  if (m != 0 && before <= target && target < before + m) sh.token = t;
  __syncthreads();
  return sh.token;
}

// Top-p without a second exact pass (the usual case; false: use Select and ChunkSums instead).
//   1. fp32 pass: approximate mass per bin of the first level -> bins [lo, hi] around the limit,
//      kApproxMargin x total either side
//   2. exact pass over the id chunks: S (top-k survivors), A = mass of bins < lo (surely kept:
//      their min-p survivors go into the chunk sums), candidates = bins lo..hi gathered
//   3. exact: limit = ceil(p * S); check A < limit <= A + candidates' mass; sort the candidates,
//      scan from A -> the cut; candidates up to the cut (min-p survivors) join the chunk sums.
// Leaves the cut in sh.cut_l / sh.cut_id and the final chunk sums in sh.bins.chunk.
// Bins linear in the logit over [lo, l_max] in fp32 (monotone: l > l' gives bin <= bin').
struct FastBins {
  float l_max;
  float scale;
  __device__ __forceinline__ int operator()(float l) const {
    const float x = (l_max - l) * scale;
    if (!(x > 0.0f)) return 0;
    if (!(x < static_cast<float>(kNumBins - 1))) return kNumBins - 1;
    return static_cast<int>(x);
  }
};

__device__ bool TopPFastPath(Shared& sh, const RowView& view, const Weigher& weigh,
                             double map_lo, float floor_l, float top_p, double min_p, int vocab) {
  const int tid = threadIdx.x;
  const float span = static_cast<float>(weigh.l_max - map_lo);
  float scale = span > 0.0f ? static_cast<float>(kNumBins) / span : 0.0f;
  if (!(scale < INFINITY)) scale = 0.0f;  // everything in bin 0: too many candidates, Select
  const FastBins bin_of{static_cast<float>(weigh.l_max), scale};
  __syncthreads();  // the bins' last user is done
  sh.bins.approx.count[tid] = 0;  // kNumBins == kThreads
  sh.bins.approx.mass[tid] = 0.0f;
  __syncthreads();
  const float l_max = static_cast<float>(weigh.l_max);
  const float inv_temperature = static_cast<float>(weigh.inv_temperature);
  ForEachToken(view.source, view.zero_row, vocab, [&](int t, float l) {
    if (!(l > -kInf) || l < floor_l) return;
    const float d = (l - l_max) * inv_temperature;
    if (d < kApproxNoMass) return;
    const int b = bin_of(l);
    atomicAdd(&sh.bins.approx.count[b], 1u);
    atomicAdd(&sh.bins.approx.mass[b], __expf(d));
  });
  __syncthreads();
  const double mass = sh.bins.approx.mass[tid];
  const unsigned count = sh.bins.approx.count[tid];
  double total;
  const double through = BlockExclusiveScan(mass, &total, sh.reduce) + mass;
  const double limit_approx = static_cast<double>(top_p) * total;
  const double margin = kApproxMargin * total;
  // Monotone in the bin: the first bins reaching limit -/+ margin.
  const int lo = BlockReduce(through < limit_approx - margin ? 1 : 0,
                             [](int a, int b) { return a + b; }, sh.reduce);
  const int hi = min(kNumBins - 1, BlockReduce(through < limit_approx + margin ? 1 : 0,
                                               [](int a, int b) { return a + b; }, sh.reduce));
  const int candidates = BlockReduce(tid >= lo && tid <= hi ? static_cast<int>(count) : 0,
                                     [](int a, int b) { return a + b; }, sh.reduce);
  if (candidates > kGatherCapacity) return false;

  // 2. The exact pass (the approximate histogram has been read: BlockReduce synced).
  if (tid == 0) {
    sh.num_keys = 0;
    sh.cut_index = -1;
  }
  __syncthreads();
  const int chunk_size = ChunkSize(vocab);
  u64 s_hi = 0, s_lo = 0, a_hi = 0, a_lo = 0;
  for (int c = Warp(); c < NumChunks(vocab); c += kWarps) {
    u64 c_hi = 0, c_lo = 0;
    ForEachInChunk(view, c, chunk_size, vocab, [&](int t, float l) {
      if (!(l > -kInf) || l < floor_l || l < weigh.no_mass_below) return;
      const double w = weigh(l);
      const Mass m = ToMass(w);
      if (IsZero(m)) return;
      s_hi += m.hi;
      s_lo += m.lo;
      const int b = bin_of(l);
      if (b < lo) {
        a_hi += m.hi;
        a_lo += m.lo;
        if (!(min_p > 0.0) || w >= min_p) {
          c_hi += m.hi;
          c_lo += m.lo;
        }
      } else if (b <= hi) {
        const int slot = atomicAdd(&sh.num_keys, 1);
        if (slot < kGatherCapacity) {
          sh.keys[slot] = (static_cast<u64>(DescendingKey(l)) << 32) | static_cast<unsigned>(t);
        }
      }
    });
    c_hi = WarpSum(c_hi);
    c_lo = WarpSum(c_lo);
    if (Lane() == 0) {
      sh.bins.chunk.hi[c] = c_hi;
      sh.bins.chunk.lo[c] = c_lo;
    }
  }
  const auto add = [](U128 a, U128 b) { return a + b; };
  const U128 sum = BlockReduce(Combine(s_hi, s_lo), add, sh.reduce);
  const U128 ahead = BlockReduce(Combine(a_hi, a_lo), add, sh.reduce);
  const U128 limit = CeilMul(top_p, sum);

  // 3. The cut among the sorted candidates.
  const int n = min(sh.num_keys, kGatherCapacity);
  BitonicSort(sh.keys, n);
  U128 m[2] = {0, 0};
  int ids[2] = {-1, -1};
  float ls[2] = {0.0f, 0.0f};
  double ws[2] = {0.0, 0.0};
  for (int e = 0; e < 2; ++e) {
    const int index = 2 * tid + e;
    if (index >= n) continue;
    ids[e] = static_cast<int>(sh.keys[index] & 0xffffffffu);
    ls[e] = view.Logit(ids[e]);
    ws[e] = weigh(ls[e]);
    m[e] = ToU128(ToMass(ws[e]));
  }
  U128 candidates_mass;
  U128 running = ahead + BlockExclusiveScan(m[0] + m[1], &candidates_mass, sh.reduce);
  if (!(ahead < limit && limit <= ahead + candidates_mass)) return false;  // block-uniform
  for (int e = 0; e < 2; ++e) {
    if (ids[e] >= 0 && m[e] != 0 && running < limit && limit <= running + m[e]) {
      sh.cut_l = ls[e];
      sh.cut_id = ids[e];
      sh.cut_index = 2 * tid + e;
    }
    running += m[e];
  }
  __syncthreads();
  const int cut_index = sh.cut_index;
  if (cut_index < 0) return false;  // unreachable
  for (int e = 0; e < 2; ++e) {
    if (ids[e] < 0 || 2 * tid + e > cut_index || (min_p > 0.0 && !(ws[e] >= min_p))) continue;
    const Mass mm = ToMass(ws[e]);
    atomicAdd(&sh.bins.chunk.hi[ids[e] / chunk_size], mm.hi);
    atomicAdd(&sh.bins.chunk.lo[ids[e] / chunk_size], mm.lo);
  }
  __syncthreads();
  return true;
}
// ---------------------------------------------------------------------------------------------
// Stages.

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

__global__ void __launch_bounds__(kThreads, 1) SamplingKernel(SamplingKernelParams p) {
  __shared__ Shared sh;
  RowState& s = sh.row;
  const int row = blockIdx.x;
  const int tid = threadIdx.x;
  const int vocab = p.vocab;
  const float* raw = p.logits + static_cast<size_t>(row) * vocab;
  char* workspace = static_cast<char*>(p.workspace) + static_cast<size_t>(row) * vocab * 8;
  float* ws = reinterpret_cast<float*>(workspace);
  int* counts = reinterpret_cast<int*>(workspace + static_cast<size_t>(vocab) * 4);

  if (tid < kExpTableSize) {
    sh.exp_table[tid] = kExp2TableHi[tid];
    sh.exp_table[kExpTableSize + tid] = kExp2TableLo[tid];
  }
  LoadRow(p, row, s);  // syncs
  const auto write_invalid = [&]() {
    if (tid != 0) return;
    p.sampled_token_ids[row] = -1;
    if (p.sampled_logprobs != nullptr) p.sampled_logprobs[row] = NAN;
    if (p.sampled_ranks != nullptr) p.sampled_ranks[row] = 0;
    if (p.draft_accepted != nullptr) p.draft_accepted[row] = 0;
  };
  if (s.invalid) {
    write_invalid();
    return;
  }

  // Steps 1-5.
  const int n = s.output_end - s.output_begin;
  const bool masking = n < s.min_tokens &&
                       (s.stop_end > s.stop_begin || (!s.ignore_eos && p.num_eos > 0));
  const bool modified =
      s.bias_end > s.bias_begin || masking ||
      (s.repetition != 1.0f && s.prompt_end - s.prompt_begin + n > 0) ||
      ((s.presence != 0.0f || s.frequency != 0.0f) && n > 0);
  if (modified) {
    ProcessLogits(p, sh, raw, ws, counts);
    if (s.invalid) {
      write_invalid();
      return;
    }
  }
  if (tid == 0) {
    s.source = modified ? ws : raw;
    s.zero_row = false;
  }
  __syncthreads();
  RowStats(sh, vocab, modified);
  if (s.num_finite == 0 && modified) {
    if (tid == 0) s.source = raw;  // nothing finite after processing: the raw row
    __syncthreads();
    RowStats(sh, vocab, false);
  }
  if (s.num_finite == 0) {
    __syncthreads();
    if (tid == 0) {  // nothing finite at all: uniform
      s.zero_row = true;
      s.l_max = 0.0f;
      s.l_argmax = 0;
      s.l_min_finite = 0.0f;
      s.num_finite = vocab;
    }
  }
  __syncthreads();
  const RowView view{s.source, s.zero_row};

  bool accepted = false;
  int token = s.l_argmax;
  if (s.temperature != 0.0f) {
    const double l_max = s.l_max;
    const double temperature = s.temperature;
    const Weigher weigh{l_max, temperature, __drcp_rn(temperature), sh.exp_table,
                        __double2float_rd(l_max + kSkipExponent * temperature)};
    const double min_p = s.min_p;
    float floor_l = -kInf;
    // 7. top-k: the k-th largest logit (counting ties); all kept if fewer are finite.
    if (s.top_k > 0 && s.top_k < vocab && s.top_k <= s.num_finite) {
      const SelectInput in{false, false, -kInf, 1.0f, s.top_k, s.l_min_finite, weigh};
      Select(sh, view, in, vocab);
      floor_l = sh.cut_l;
    }
    // 9. top-p: the cut of the kept order (fast path, else the general Select).
    bool has_cut = false;
    bool chunks_done = false;
    float cut_l = 0.0f;
    int cut_id = 0;
    if (s.top_p < 1.0f) {
      const double map_lo = fmax(fmax(static_cast<double>(s.l_min_finite), static_cast<double>(floor_l)),
                                 l_max - kMassRangeInTemperatures * temperature);
      chunks_done = TopPFastPath(sh, view, weigh, map_lo, floor_l, s.top_p, min_p, vocab);
      if (!chunks_done) {
        const SelectInput in{true, true, floor_l, s.top_p, 0, map_lo, weigh};
        Select(sh, view, in, vocab);
      }
      has_cut = true;
      cut_l = sh.cut_l;
      cut_id = sh.cut_id;
    }
    // 10-12.
    const FinalWeights weights{weigh, floor_l, has_cut, cut_l, cut_id, min_p};
    const U128 sum = chunks_done ? ChunkTotal(sh, vocab) : ChunkSums(sh, view, vocab, weights);
    const uint64_t position = static_cast<uint64_t>(n);
    if (s.draft < 0) {
      const U128 target = ScaleByUniform(sum, UniformBits(s.seed, position, kSampleStream));
      token = DrawFromChunks(sh, view, vocab, weights, target, s.l_argmax);
    } else {
      const double sum_d = U128ToDouble(sum) * kInvTwoPowMass;
      const float* q = p.draft_probs != nullptr
                           ? p.draft_probs + static_cast<size_t>(row) * vocab
                           : nullptr;
      ResidualWeights residual{weights, sum_d, q, s.draft, false};
      const double p_draft = residual.P(s.draft, view.Logit(s.draft));
      const double q_draft = q != nullptr ? static_cast<double>(q[s.draft]) : 1.0;
      const double u = static_cast<double>(UniformBits(s.seed, position, kAcceptStream)) *
                       kInvTwoPow53;
      accepted = q_draft > 0.0 && u < fmin(1.0, __ddiv_rn(p_draft, q_draft));
      if (accepted) {
        token = s.draft;
      } else {
        U128 residual_sum = ChunkSums(sh, view, vocab, residual);
        if (residual_sum == 0) {
          residual.use_p = true;
          residual_sum = ChunkSums(sh, view, vocab, residual);
        }
        const U128 target =
            ScaleByUniform(residual_sum, UniformBits(s.seed, position, kResidualStream));
        token = DrawFromChunks(sh, view, vocab, residual, target, s.l_argmax);
      }
    }
  } else {
    accepted = token == s.draft;
  }

  // Logprob and rank of the token under the raw row.
  const float x_token = s.raw_zero ? 0.0f : Sanitize(raw[token]);
  const double x_max = s.x_max;
  double sum = 0.0;
  int greater = 0;
  ForEachToken(raw, s.raw_zero, vocab, [&](int, float x) {
    greater += x > x_token ? 1 : 0;
    sum += static_cast<double>(expf(static_cast<float>(__dsub_rn(x, x_max))));
  });
  sum = BlockReduce(sum, [](double a, double b) { return a + b; }, sh.reduce);
  greater = BlockReduce(greater, [](int a, int b) { return a + b; }, sh.reduce);
  if (tid == 0) {
    p.sampled_token_ids[row] = token;
    if (p.sampled_logprobs != nullptr) {
      p.sampled_logprobs[row] =
          static_cast<float>(static_cast<double>(x_token) - (x_max + log(sum)));
    }
    if (p.sampled_ranks != nullptr) p.sampled_ranks[row] = 1 + greater;
    if (p.draft_accepted != nullptr) p.draft_accepted[row] = accepted ? 1 : 0;
  }
}

}  // namespace

size_t SamplingWorkspaceBytes(int num_rows, int vocab) {
  if (num_rows <= 0 || vocab <= 0) return 0;
  return static_cast<size_t>(num_rows) * static_cast<size_t>(vocab) * (sizeof(float) + sizeof(int));
}

cudaError_t LaunchSampling(const SamplingKernelParams& p, cudaStream_t stream) {
  if (p.num_rows < 0 || p.vocab < 1 || p.vocab > kMaxSamplingVocab || p.num_eos < 0) {
    return cudaErrorInvalidValue;
  }
  if (p.num_rows == 0) return cudaSuccess;
  const bool missing =
      p.logits == nullptr || p.temperature == nullptr || p.seed == nullptr ||
      p.workspace == nullptr || p.sampled_token_ids == nullptr ||
      (p.num_eos > 0 && p.eos_token_ids == nullptr) ||
      (p.prompt_offsets != nullptr && p.prompt_token_ids == nullptr) ||
      (p.output_offsets != nullptr && p.output_token_ids == nullptr) ||
      (p.logit_bias_offsets != nullptr &&
       (p.logit_bias_token_ids == nullptr || p.logit_bias_values == nullptr)) ||
      (p.stop_token_offsets != nullptr && p.stop_token_ids == nullptr) ||
      (p.draft_probs != nullptr && p.draft_token_ids == nullptr);
  if (missing) return cudaErrorInvalidValue;
  SamplingKernel<<<p.num_rows, kThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace specd::kernels
