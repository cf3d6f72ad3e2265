// The fused residual-add + RMSNorm kernel against an fp64 reference on random inputs, with the
// output poisoned before each run. Its error must stay within about twice that of an fp32
// implementation rounded to bf16 the same way.
#include <cmath>
#include <optional>
#include <random>
#include <vector>

#include <catch2/catch.hpp>
#include <cuda_runtime.h>

#include "engine/model/dtype.h"
#include "kernels/rms_norm.h"
#include "tests/gpu/gpu_test_support.h"

namespace specd {
namespace {

using testing::RandomBF16;

struct Reference {
  std::vector<double> exact;      // fp64 from the bf16 inputs
  std::vector<float> same_precision;  // fp32 arithmetic, output rounded to bf16
  std::vector<uint16_t> residual;     // the bf16 residual stream after the add
};

Reference ComputeReference(const std::vector<uint16_t>& input, const std::vector<uint16_t>& residual,
                           const std::vector<uint16_t>& weight, int tokens, int hidden, float eps) {
  Reference ref{std::vector<double>(input.size()), std::vector<float>(input.size()), residual};
  for (int t = 0; t < tokens; ++t) {
    double sum_sq = 0.0;
    float sum_sq_f = 0.0f;
    for (int i = 0; i < hidden; ++i) {
      const size_t k = static_cast<size_t>(t) * hidden + i;
      const float x = BF16ToFloat(input[k]) + (residual.empty() ? 0.0f : BF16ToFloat(residual[k]));
      if (!residual.empty()) ref.residual[k] = FloatToBF16(x);
      const float rounded = residual.empty() ? x : BF16ToFloat(ref.residual[k]);
      sum_sq += static_cast<double>(rounded) * rounded;
      sum_sq_f += rounded * rounded;
    }
    const double inv = 1.0 / std::sqrt(sum_sq / hidden + eps);
    const float inv_f = 1.0f / std::sqrt(sum_sq_f / hidden + eps);
    for (int i = 0; i < hidden; ++i) {
      const size_t k = static_cast<size_t>(t) * hidden + i;
      const float x = residual.empty() ? BF16ToFloat(input[k]) : BF16ToFloat(ref.residual[k]);
      ref.exact[k] = x * inv * BF16ToFloat(weight[static_cast<size_t>(i)]);
      ref.same_precision[k] = BF16ToFloat(FloatToBF16(x * inv_f * BF16ToFloat(weight[static_cast<size_t>(i)])));
    }
  }
  return ref;
}

}  // namespace

TEST_CASE("fused residual add + RMSNorm matches an fp64 reference", "[gpu]") {
  std::mt19937 rng(1234);
  const auto [tokens, hidden, with_residual] = GENERATE(std::make_tuple(1, 64, false),
      std::make_tuple(7, 128, true), std::make_tuple(33, 4096, true), std::make_tuple(5, 8200, true),
      std::make_tuple(3, 16384, false));
  CAPTURE(tokens, hidden, with_residual);
  const size_t count = static_cast<size_t>(tokens) * hidden;
  const float eps = 1e-5f;
  const auto input = RandomBF16(count, rng, 0.0f, 1.0f);
  const auto residual = with_residual ? RandomBF16(count, rng, 0.5f, 2.0f) : std::vector<uint16_t>();
  const auto weight = RandomBF16(static_cast<size_t>(hidden), rng, 1.0f, 0.3f);
  const Reference ref = ComputeReference(input, residual, weight, tokens, hidden, eps);

  const testing::DeviceArray<uint16_t> d_input(input);
  const testing::DeviceArray<uint16_t> d_weight(weight);
  std::optional<testing::DeviceArray<uint16_t>> d_residual;
  if (with_residual) d_residual.emplace(residual);
  const testing::DeviceArray<uint16_t> d_output(std::vector<uint16_t>(count, 0x7FC1));  // poison: NaN
  kernels::RmsNormParams params;
  params.input = testing::AsBF16(d_input.get());
  params.residual = d_residual ? testing::AsBF16(d_residual->get()) : nullptr;
  params.weight = testing::AsBF16(d_weight.get());
  params.output = testing::AsBF16(d_output.get());
  params.num_tokens = tokens;
  params.hidden_size = hidden;
  params.eps = eps;
  CUDA_REQUIRE(kernels::LaunchRmsNorm(params, nullptr));
  CUDA_REQUIRE(cudaDeviceSynchronize());

  const std::vector<float> got = testing::BF16ToFloats(d_output.ToHost());
  testing::RequireAllFinite(got);  // every element written
  testing::CheckErrorNearReference(ref.exact, ref.same_precision, got);
  if (with_residual) CHECK(d_residual->ToHost() == ref.residual);
}

TEST_CASE("RMSNorm refuses a hidden size it cannot vectorize", "[gpu]") {
  kernels::RmsNormParams params;
  params.num_tokens = 1;
  params.hidden_size = 100;
  CHECK(kernels::LaunchRmsNorm(params, nullptr) == cudaErrorInvalidValue);
}

}  // namespace specd
