// The skinny GEMM's fusions (a norm in the prologue, a residual add or SiLU·mul in the epilogue)
// against the separate kernels they replace, on random inputs: the same bits, every row count 1..8,
// on both paths (CUDA cores: `in` not a multiple of 32 or one row; tensor cores otherwise).
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/elementwise.h"
#include "kernels/rms_norm.h"
#include "kernels/skinny_gemm.h"
#include "tests/gpu/gpu_test_support.h"

namespace specd {
namespace {

using kernels::SkinnyEpilogue;
using testing::AsBF16;
using testing::DeviceArray;
using testing::RandomBF16;

constexpr float kEps = 1e-5f;
constexpr int kMaxRows = kernels::kSkinnyGemmMaxRows;

struct Operands {
  DeviceArray<uint16_t> x;       // [kMaxRows, in]: the residual stream, or a product's input
  DeviceArray<uint16_t> w;       // [out, in]
  DeviceArray<uint16_t> weight;  // [in]: the norm's
  DeviceArray<uint16_t> y;       // [kMaxRows, out]: the residual to add to, for kAddToOutput
};

Operands RandomOperands(int in, int out, std::mt19937& rng) {
  return {DeviceArray<uint16_t>(RandomBF16(static_cast<size_t>(kMaxRows) * in, rng, 0.0f, 1.0f)),
          DeviceArray<uint16_t>(RandomBF16(static_cast<size_t>(out) * in, rng, 0.0f, 0.05f)),
          DeviceArray<uint16_t>(RandomBF16(static_cast<size_t>(in), rng, 1.0f, 0.1f)),
          DeviceArray<uint16_t>(RandomBF16(static_cast<size_t>(kMaxRows) * out, rng, 0.0f, 1.0f))};
}

kernels::SkinnyGemmParams Product(const uint16_t* x, const Operands& o, uint16_t* y, int rows, int in, int out) {
  return {AsBF16(const_cast<uint16_t*>(x)), AsBF16(o.w.get()), AsBF16(y), nullptr, rows, in, out};
}

}  // namespace

TEST_CASE("skinny GEMM fusions give the separate kernels' bits", "[gpu]") {
  const int in = GENERATE(392, 4096);  // 392: CUDA cores for every row count; 4096: 64 KiB normalized
  const int out = GENERATE(1000, 8464);  // 8464: two features a warp
  std::mt19937 rng(static_cast<unsigned>(in + out));
  const Operands o = RandomOperands(in, out, rng);
  const auto normed = DeviceArray<uint16_t>::Poisoned(static_cast<size_t>(kMaxRows) * in);
  const auto product = DeviceArray<uint16_t>::Poisoned(static_cast<size_t>(kMaxRows) * out);
  // Separately: the norm kernel, then the product of its output.
  const auto normed_product = [&](int rows) {
    const kernels::RmsNormParams norm{AsBF16(o.x.get()), nullptr, AsBF16(o.weight.get()), AsBF16(normed.get()),
                                      rows, in, kEps};
    CUDA_REQUIRE(kernels::LaunchRmsNorm(norm, nullptr));
    CUDA_REQUIRE(kernels::LaunchSkinnyGemm(Product(normed.get(), o, product.get(), rows, in, out), nullptr));
  };
  const auto norm_in_prologue = [&](int rows) {
    normed_product(rows);
    const auto fused_y = DeviceArray<uint16_t>::Poisoned(static_cast<size_t>(rows) * out);
    auto fused = Product(o.x.get(), o, fused_y.get(), rows, in, out);
    fused.norm_weight = AsBF16(o.weight.get());
    fused.norm_eps = kEps;
    CUDA_REQUIRE(kernels::LaunchSkinnyGemm(fused, nullptr));
    CHECK(fused_y.ToHost() == testing::ToHost(product.get(), fused_y.size()));
  };
  const auto residual_add_in_epilogue = [&](int rows) {
    // Separately: the product, then the norm kernel's residual add (its normed output unused).
    const DeviceArray<uint16_t> residual(o.y.ToHost());
    CUDA_REQUIRE(kernels::LaunchSkinnyGemm(Product(o.x.get(), o, product.get(), rows, in, out), nullptr));
    const auto unused = DeviceArray<uint16_t>::Poisoned(static_cast<size_t>(kMaxRows) * out);
    const kernels::RmsNormParams add{AsBF16(product.get()), AsBF16(residual.get()), AsBF16(o.w.get()),
                                     AsBF16(unused.get()), rows, out, kEps};
    CUDA_REQUIRE(kernels::LaunchRmsNorm(add, nullptr));
    const DeviceArray<uint16_t> fused_y(o.y.ToHost());
    auto fused = Product(o.x.get(), o, fused_y.get(), rows, in, out);
    fused.epilogue = SkinnyEpilogue::kAddToOutput;
    CUDA_REQUIRE(kernels::LaunchSkinnyGemm(fused, nullptr));
    CHECK(fused_y.ToHost() == residual.ToHost());  // rows past `rows` untouched in both
  };
  const auto norm_in_silu_out = [&](int rows) {
    normed_product(rows);
    const int half = out / 2;
    const auto separate = DeviceArray<uint16_t>::Poisoned(static_cast<size_t>(rows) * half);
    const kernels::SiluMulParams silu{AsBF16(product.get()), AsBF16(separate.get()), rows, half};
    CUDA_REQUIRE(kernels::LaunchSiluMul(silu, nullptr));
    const auto fused_y = DeviceArray<uint16_t>::Poisoned(static_cast<size_t>(rows) * half);
    auto fused = Product(o.x.get(), o, fused_y.get(), rows, in, out);
    fused.norm_weight = AsBF16(o.weight.get());
    fused.norm_eps = kEps;
    fused.epilogue = SkinnyEpilogue::kSiluMul;
    CUDA_REQUIRE(kernels::LaunchSkinnyGemm(fused, nullptr));
    CHECK(fused_y.ToHost() == separate.ToHost());
  };
  for (int rows = 1; rows <= kMaxRows; ++rows) {
    CAPTURE(in, out, rows);
    norm_in_prologue(rows);
    residual_add_in_epilogue(rows);
    norm_in_silu_out(rows);
  }
}

TEST_CASE("skinny GEMM refuses fusions it cannot take", "[gpu]") {
  const auto d_buffer = DeviceArray<uint16_t>::Poisoned(4096);
  __nv_bfloat16* buffer = AsBF16(d_buffer.get());
  kernels::SkinnyGemmParams good{buffer, buffer, buffer + 1024, nullptr, 1, 8, 8, buffer + 2048};
  good.epilogue = SkinnyEpilogue::kSiluMul;
  CHECK(kernels::SkinnyGemmSupports(good));
  auto bad = good;
  bad.out = 7;  // SiLU needs gate and up rows
  CHECK(kernels::LaunchSkinnyGemm(bad, nullptr) == cudaErrorInvalidValue);
  bad = good;
  bad.y_bf16 = nullptr;
  bad.y_f32 = reinterpret_cast<float*>(buffer + 1024);  // fusions write bf16
  CHECK(kernels::LaunchSkinnyGemm(bad, nullptr) == cudaErrorInvalidValue);
  bad = good;
  bad.norm_weight = buffer + 1;  // not 16-byte aligned
  CHECK(kernels::LaunchSkinnyGemm(bad, nullptr) == cudaErrorInvalidValue);
  bad = good;
  bad.rows = kMaxRows;
  bad.in = 16384;  // 8 normalized rows of 16384 do not fit in shared memory
  CHECK(kernels::LaunchSkinnyGemm(bad, nullptr) == cudaErrorInvalidValue);
}

}  // namespace specd
