// SeededRng: the load generator's random numbers (SplitMix64), identical on every platform and
// standard library, so that a workload's seed fixes its arrivals, lengths and prompts exactly.
// (std::*_distribution are implementation-defined; these are written out.) Not thread-safe: each
// user owns its own generator, derived from the workload seed and a stream number.
#pragma once

#include <cstdint>

namespace specd::bench {

class SeededRng {
 public:
  explicit SeededRng(uint64_t seed) : state_(seed) {}

  // An independent generator for one use of a seed: `stream` 0 for arrivals, 1 + i for
  // request i, so that request i's prompt does not depend on how many requests came before.
  static SeededRng ForStream(uint64_t seed, uint64_t stream);

  uint64_t Next();
  // Uniform in [0, 1), 53 random bits.
  double Uniform01();
  // Uniform over the integers [low, high]; precondition: low <= high.
  int64_t UniformInt(int64_t low, int64_t high);
  // Exponential with the given rate (mean 1 / rate); precondition: rate > 0.
  double Exponential(double rate);
  // Normal (Box-Muller, one draw per call).
  double Normal(double mean, double stddev);

 private:
  uint64_t state_;
};

}  // namespace specd::bench
