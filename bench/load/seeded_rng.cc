// SplitMix64 and the distributions built on it (see seeded_rng.h).
#include "bench/load/seeded_rng.h"

#include <cmath>
#include <numbers>

namespace specd::bench {
namespace {

constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;  // SplitMix64's increment
constexpr double kTwoToMinus53 = 1.0 / 9007199254740992.0;

}  // namespace

SeededRng SeededRng::ForStream(uint64_t seed, uint64_t stream) {
  // One SplitMix64 output of (seed, stream) mixed together seeds the stream's generator.
  SeededRng mixer(seed ^ (stream * kGoldenGamma + 0x632be59bd9b4e019ULL));
  return SeededRng(mixer.Next());
}

uint64_t SeededRng::Next() {
  uint64_t z = (state_ += kGoldenGamma);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double SeededRng::Uniform01() { return static_cast<double>(Next() >> 11) * kTwoToMinus53; }

int64_t SeededRng::UniformInt(int64_t low, int64_t high) {
  const auto span = static_cast<uint64_t>(high - low) + 1;
  // span == 0 only for the full 64-bit range; the modulo bias of < 2^-40 for the spans a
  // workload uses (token ids, lengths) does not matter here.
  return span == 0 ? static_cast<int64_t>(Next()) : low + static_cast<int64_t>(Next() % span);
}

double SeededRng::Exponential(double rate) { return -std::log1p(-Uniform01()) / rate; }

double SeededRng::Normal(double mean, double stddev) {
  const double u1 = 1.0 - Uniform01();  // (0, 1]: log(u1) is finite
  const double u2 = Uniform01();
  return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace specd::bench
