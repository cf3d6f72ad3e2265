// Sampling kernel internals, part 1 of 7 (included by sampling.cu, see its file comment, and by
// greedy_sampling.cu): launch shape and policy constants, the exp table, and per-thread scalar
// math: the counter-based uniforms (Sampler::Uniform's SplitMix64), the double weights
// exp((l - l_max) / T) and their exact 80-bit fixed-point masses.
#pragma once

#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdint>

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

// A term of the raw row's log-normalizer sum exp(x - x_max) (the logprob of the chosen token):
// fp32 exp of the difference rounded from double; the callers sum the terms in double.
__device__ __forceinline__ double LogNormalizerTerm(float x, double x_max) {
  return static_cast<double>(expf(static_cast<float>(__dsub_rn(x, x_max))));
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

}  // namespace
}  // namespace specd::kernels
