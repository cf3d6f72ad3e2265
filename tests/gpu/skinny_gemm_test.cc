// The skinny GEMM (decode and verify products) against an fp64 reference on random inputs, every
// row count 1..8 (CUDA cores for 1 row or `in` not a multiple of 32, tensor cores otherwise), odd
// output widths, bf16 and fp32 outputs, poisoned first. fp32 accumulation in
// another order than the reference: bf16 outputs may be one bf16 step off, fp32 ones within a
// small multiple of fp32 rounding of the sum of |products| (1e-5 of it).
#include <cmath>
#include <random>
#include <vector>

#include <catch2/catch.hpp>
#include <cuda_runtime.h>

#include "engine/model/dtype.h"
#include "kernels/skinny_gemm.h"
#include "tests/gpu/gpu_test_support.h"

namespace specd {
namespace {

using testing::AsBF16;
using testing::DeviceArray;
using testing::RandomBF16;

}  // namespace

TEST_CASE("skinny GEMM matches an fp64 reference", "[gpu]") {
  // 96, 4096: tensor cores for 2+ rows (96: fewer steps than warps); one row: 6000 splits each
  // feature over 2 warps, 8200 over 4 (kernels/skinny_gemm.cu, SplitFor).
  const int in = GENERATE(8, 96, 392, 4096, 6000, 8200);
  const int out = GENERATE(1, 17, 1000, 4099, 8451);  // 8451: two features a warp
  const bool f32_out = GENERATE(false, true);
  std::mt19937 rng(static_cast<unsigned>(in * 31 + out));
  const auto w_host = RandomBF16(static_cast<size_t>(out) * in, rng, 0.0f, 0.05f);
  const auto x_host = RandomBF16(static_cast<size_t>(kernels::kSkinnyGemmMaxRows) * in, rng, 0.0f, 1.0f);
  const DeviceArray<uint16_t> w(w_host);
  const DeviceArray<uint16_t> x(x_host);
  const size_t y_bytes = static_cast<size_t>(kernels::kSkinnyGemmMaxRows) * out * (f32_out ? 4 : 2);
  const auto d_y = DeviceArray<uint8_t>::Poisoned(y_bytes);
  void* y = d_y.get();
  for (int rows = 1; rows <= kernels::kSkinnyGemmMaxRows; ++rows) {
    CAPTURE(in, out, f32_out, rows);
    REQUIRE(cudaMemset(y, 0xFF, y_bytes) == cudaSuccess);
    kernels::SkinnyGemmParams p{AsBF16(x.get()), AsBF16(w.get()),
                                f32_out ? nullptr : static_cast<__nv_bfloat16*>(y),
                                f32_out ? static_cast<float*>(y) : nullptr, rows, in, out};
    REQUIRE(kernels::LaunchSkinnyGemm(p, nullptr) == cudaSuccess);
    const std::vector<uint8_t> got = d_y.ToHost();
    int bad = 0;
    for (int r = 0; r < rows; ++r) {
      for (int o = 0; o < out; ++o) {
        double exact = 0, magnitude = 0;
        for (int i = 0; i < in; ++i) {
          const double product = static_cast<double>(BF16ToFloat(x_host[static_cast<size_t>(r) * in + i])) *
                                 BF16ToFloat(w_host[static_cast<size_t>(o) * in + i]);
          exact += product;
          magnitude += std::abs(product);
        }
        const size_t at = static_cast<size_t>(r) * out + o;
        const double value = f32_out ? reinterpret_cast<const float*>(got.data())[at]
                                     : BF16ToFloat(reinterpret_cast<const uint16_t*>(got.data())[at]);
        const double tolerance = (f32_out ? 0.0 : std::abs(exact) * 0x1p-8) + 1e-5 * magnitude;
        if (!(std::abs(value - exact) <= tolerance)) ++bad;
      }
    }
    CHECK(bad == 0);
    // Rows past `rows` stay poisoned.
    const size_t first_untouched = static_cast<size_t>(rows) * out * (f32_out ? 4 : 2);
    if (first_untouched < y_bytes) CHECK(got[first_untouched] == 0xFF);
  }
}

TEST_CASE("skinny GEMM refuses shapes it cannot take", "[gpu]") {
  const auto d_buffer = DeviceArray<uint16_t>::Poisoned(2048);
  __nv_bfloat16* buffer = AsBF16(d_buffer.get());
  const kernels::SkinnyGemmParams good{buffer, buffer, buffer + 1024, nullptr, 1, 8, 8};
  CHECK(kernels::SkinnyGemmSupports(good));
  auto bad = good;
  bad.rows = kernels::kSkinnyGemmMaxRows + 1;
  CHECK(kernels::LaunchSkinnyGemm(bad, nullptr) == cudaErrorInvalidValue);
  bad = good;
  bad.in = 12;  // not a multiple of 8
  CHECK(kernels::LaunchSkinnyGemm(bad, nullptr) == cudaErrorInvalidValue);
  bad = good;
  bad.x = buffer + 1;  // not 16-byte aligned
  CHECK(kernels::LaunchSkinnyGemm(bad, nullptr) == cudaErrorInvalidValue);
  bad = good;
  bad.y_f32 = reinterpret_cast<float*>(buffer + 1536);  // two outputs
  CHECK(kernels::LaunchSkinnyGemm(bad, nullptr) == cudaErrorInvalidValue);
}

}  // namespace specd
