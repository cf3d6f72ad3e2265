// The skinny GEMM (decode and verify products) against an fp64 reference on random inputs, every
// row count 1..8 (CUDA cores for 1 row or `in` not a multiple of 32, tensor cores otherwise), odd
// output widths, bf16 and fp32 outputs, poisoned first. fp32 accumulation in
// another order than the reference: bf16 outputs may be one bf16 step off, fp32 ones within a
// small multiple of fp32 rounding of the sum of |products| (1e-5 of it).
#include <cmath>
#include <random>
#include <utility>
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

// Outputs of rows 0 .. rows - 1 (`got`: [rows, out], bf16 or fp32) off the fp64 product of x
// ([rows, in]) and w ([out, in]) by more than the tolerance the file's comment gives.
int CountOffReference(const std::vector<uint16_t>& x_host, const std::vector<uint16_t>& w_host, int rows, int in,
                      int out, bool f32_out, const std::vector<uint8_t>& got) {
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
  return bad;
}

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
    CHECK(CountOffReference(x_host, w_host, rows, in, out, f32_out, got) == 0);
    // Rows past `rows` stay poisoned.
    const size_t first_untouched = static_cast<size_t>(rows) * out * (f32_out ? 4 : 2);
    if (first_untouched < y_bytes) CHECK(got[first_untouched] == 0xFF);
  }
}

// A one-row product that feeds another may take two features a warp where one would not (the
// Llama-3.2-1B down_proj and the Llama-3.1-8B o_proj on an H100: skinny_gemm.cu, TwoFeaturesAWarp).
// A feature's loads keep their order, so the bits must not change.
TEST_CASE("skinny GEMM gives the same bits when it feeds another product", "[gpu]") {
  const auto [in, out] = GENERATE(std::pair{8192, 2048}, std::pair{4096, 4096}, std::pair{2048, 2048});
  const bool f32_out = GENERATE(false, true);
  CAPTURE(in, out, f32_out);
  std::mt19937 rng(static_cast<unsigned>(in + out));
  const auto w_host = RandomBF16(static_cast<size_t>(out) * in, rng, 0.0f, 0.05f);
  const auto x_host = RandomBF16(static_cast<size_t>(in), rng, 0.0f, 1.0f);
  const DeviceArray<uint16_t> w(w_host);
  const DeviceArray<uint16_t> x(x_host);
  const auto run = [&](bool feeds_product) {
    const auto d_y = DeviceArray<uint8_t>::Poisoned(static_cast<size_t>(out) * (f32_out ? 4 : 2));
    kernels::SkinnyGemmParams p{AsBF16(x.get()), AsBF16(w.get()),
                                f32_out ? nullptr : reinterpret_cast<__nv_bfloat16*>(d_y.get()),
                                f32_out ? reinterpret_cast<float*>(d_y.get()) : nullptr, 1, in, out};
    p.feeds_product = feeds_product;
    REQUIRE(kernels::LaunchSkinnyGemm(p, nullptr) == cudaSuccess);
    return d_y.ToHost();
  };
  const std::vector<uint8_t> alone = run(false), feeding = run(true);
  CHECK(CountOffReference(x_host, w_host, 1, in, out, f32_out, feeding) == 0);
  CHECK(feeding == alone);
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
