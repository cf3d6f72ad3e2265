// The fused residual-add + RMSNorm kernel against an fp64 reference on random inputs, with the
// output poisoned before each run. Its error must stay within about twice that of an fp32
// implementation rounded to bf16 the same way.
#include <cmath>
#include <random>
#include <vector>

#include <catch2/catch.hpp>
#include <cuda_runtime.h>

#include "engine/model/dtype.h"
#include "kernels/rms_norm.h"

namespace specd {
namespace {

#define CUDA_REQUIRE(call) REQUIRE((call) == cudaSuccess)

std::vector<uint16_t> RandomBF16(size_t count, std::mt19937& rng, float mean, float stddev) {
  std::normal_distribution<float> normal(mean, stddev);
  std::vector<uint16_t> values(count);
  for (auto& value : values) value = FloatToBF16(normal(rng));
  return values;
}

template <typename T>
T* ToDevice(const std::vector<T>& host) {
  T* device = nullptr;
  REQUIRE(cudaMalloc(&device, host.size() * sizeof(T)) == cudaSuccess);
  REQUIRE(cudaMemcpy(device, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
  return device;
}

template <typename T>
std::vector<T> ToHost(const T* device, size_t count) {
  std::vector<T> host(count);
  REQUIRE(cudaMemcpy(host.data(), device, count * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
  return host;
}

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

double RelativeError(const std::vector<double>& exact, const std::vector<float>& got) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < exact.size(); ++i) {
    diff += (got[i] - exact[i]) * (got[i] - exact[i]);
    norm += exact[i] * exact[i];
  }
  return std::sqrt(diff / norm);
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

  auto* d_input = ToDevice(input);
  auto* d_weight = ToDevice(weight);
  auto* d_residual = with_residual ? ToDevice(residual) : nullptr;
  auto* d_output = ToDevice(std::vector<uint16_t>(count, 0x7FC1));  // poison: NaN
  kernels::RmsNormParams params;
  params.input = reinterpret_cast<const __nv_bfloat16*>(d_input);
  params.residual = reinterpret_cast<__nv_bfloat16*>(d_residual);
  params.weight = reinterpret_cast<const __nv_bfloat16*>(d_weight);
  params.output = reinterpret_cast<__nv_bfloat16*>(d_output);
  params.num_tokens = tokens;
  params.hidden_size = hidden;
  params.eps = eps;
  CUDA_REQUIRE(kernels::LaunchRmsNorm(params, nullptr));
  CUDA_REQUIRE(cudaDeviceSynchronize());

  std::vector<float> got;
  for (uint16_t bits : ToHost(d_output, count)) got.push_back(BF16ToFloat(bits));
  for (float value : got) REQUIRE(std::isfinite(value));  // every element written
  const double kernel_error = RelativeError(ref.exact, got);
  const double reference_error = RelativeError(ref.exact, ref.same_precision);
  CAPTURE(kernel_error, reference_error);
  CHECK(kernel_error <= 2.0 * reference_error + 1e-6);
  if (with_residual) CHECK(ToHost(d_residual, count) == ref.residual);
  for (void* p : {static_cast<void*>(d_input), static_cast<void*>(d_weight),
                  static_cast<void*>(d_residual), static_cast<void*>(d_output)}) {
    cudaFree(p);
  }
}

TEST_CASE("RMSNorm refuses a hidden size it cannot vectorize", "[gpu]") {
  kernels::RmsNormParams params;
  params.num_tokens = 1;
  params.hidden_size = 100;
  CHECK(kernels::LaunchRmsNorm(params, nullptr) == cudaErrorInvalidValue);
}

}  // namespace specd
