// SeededRng: SplitMix64's published outputs, the ranges of its distributions, and independent
// streams per seed.
#include <algorithm>
#include <cmath>

#include <catch2/catch.hpp>

#include "bench/load/seeded_rng.h"

namespace specd::bench {

TEST_CASE("seeded rng: SplitMix64 reference outputs for seed 0", "[cpu]") {
  SeededRng rng(0);
  CHECK(rng.Next() == 0xe220a8397b1dcdafULL);
  CHECK(rng.Next() == 0x6e789e6aa1b965f4ULL);
  CHECK(rng.Next() == 0x06c45d188009454fULL);
}

TEST_CASE("seeded rng: distributions stay in range and have the right means", "[cpu]") {
  SeededRng rng(42);
  constexpr int kDraws = 20000;
  double uniform_sum = 0, exponential_sum = 0, normal_sum = 0;
  int64_t low = 100, high = 0;
  for (int i = 0; i < kDraws; ++i) {
    const double u = rng.Uniform01();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    uniform_sum += u;
    const int64_t k = rng.UniformInt(3, 7);
    low = std::min(low, k);
    high = std::max(high, k);
    exponential_sum += rng.Exponential(4.0);
    normal_sum += rng.Normal(10.0, 2.0);
  }
  CHECK(low == 3);
  CHECK(high == 7);
  CHECK(uniform_sum / kDraws == Approx(0.5).margin(0.01));
  CHECK(exponential_sum / kDraws == Approx(0.25).margin(0.01));
  CHECK(normal_sum / kDraws == Approx(10.0).margin(0.05));
}

TEST_CASE("seeded rng: streams of one seed differ, the same stream repeats", "[cpu]") {
  CHECK(SeededRng::ForStream(7, 0).Next() == SeededRng::ForStream(7, 0).Next());
  CHECK(SeededRng::ForStream(7, 0).Next() != SeededRng::ForStream(7, 1).Next());
  CHECK(SeededRng::ForStream(7, 1).Next() != SeededRng::ForStream(8, 1).Next());
}

}  // namespace specd::bench
