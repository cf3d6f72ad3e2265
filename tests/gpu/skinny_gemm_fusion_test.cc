// The skinny GEMM's fusions (a norm in the prologue, a residual add or SiLU·mul in the epilogue)
// against the separate kernels they replace, on random inputs: the same bits, every row count 1..8,
// on both paths (CUDA cores: `in` not a multiple of 32 or one row; tensor cores otherwise). The
// one-row RoPE + cache-write epilogue likewise, against the product then LaunchRopeCacheWrite.
#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <tuple>
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

// One token's qkv product with RoPE and the cache write fused, against the product then the RoPE
// kernel: the qkv row, K cache and V cache must hold the same bits, cache slots other than the
// token's untouched. Shapes: Llama-3.2-1B (one feature a warp), Llama-3.1-8B (two a warp), an
// `in` of 14336 (four warps a feature) and an odd-sized one whose last block is part-filled.
TEST_CASE("skinny GEMM RoPE + cache-write epilogue gives the RoPE kernel's bits", "[gpu]") {
  const auto [num_heads, num_kv_heads, head_dim, in] =
      GENERATE(std::tuple{32, 8, 64, 2048}, std::tuple{32, 8, 128, 4096}, std::tuple{4, 2, 64, 14336},
               std::tuple{6, 3, 64, 392});
  const bool with_bias = GENERATE(false, true);
  const bool padding = GENERATE(false, true);  // slot -1: no cache write
  const bool table = GENERATE(false, true);    // cos/sin from a table instead of inv_freq
  CAPTURE(num_heads, num_kv_heads, head_dim, in, with_bias, padding, table);
  const int out = (num_heads + 2 * num_kv_heads) * head_dim, half = head_dim / 2;
  const int kv_width = num_kv_heads * head_dim, num_slots = 48, position = 100003;
  std::mt19937 rng(static_cast<unsigned>(out + in + 2 * with_bias + padding));
  const Operands o = RandomOperands(in, out, rng);
  std::vector<float> inv_freq(static_cast<size_t>(half));
  for (int i = 0; i < half; ++i) inv_freq[static_cast<size_t>(i)] = std::pow(500000.0f, -2.0f * i / head_dim);
  const DeviceArray<float> d_inv_freq(inv_freq);
  std::optional<DeviceArray<float2>> cos_sin;  // [position + 1, half]
  if (table) {
    cos_sin.emplace(std::vector<float2>(static_cast<size_t>(position + 1) * half));
    const kernels::RopeCosSinTableParams fill{d_inv_freq.get(), cos_sin->get(), position + 1, head_dim};
    CUDA_REQUIRE(kernels::LaunchRopeCosSinTable(fill, nullptr));
  }
  const DeviceArray<int> d_position(std::vector<int>{position});
  const DeviceArray<int64_t> d_slot(std::vector<int64_t>{padding ? -1 : 29});
  const DeviceArray<uint16_t> bias(RandomBF16(static_cast<size_t>(out), rng, 0.0f, 0.5f));
  struct Outputs {
    DeviceArray<uint16_t> qkv, k_cache, v_cache;
  };
  const auto outputs = [&] {
    return Outputs{DeviceArray<uint16_t>::Poisoned(static_cast<size_t>(out)),
                   DeviceArray<uint16_t>::Poisoned(static_cast<size_t>(num_slots) * kv_width),
                   DeviceArray<uint16_t>::Poisoned(static_cast<size_t>(num_slots) * kv_width)};
  };
  const auto rope_params = [&](Outputs& y) {
    kernels::RopeCacheWriteParams rope;
    rope.qkv = AsBF16(y.qkv.get());
    rope.qkv_bias = with_bias ? AsBF16(bias.get()) : nullptr;
    rope.positions = d_position.get();
    rope.slots = d_slot.get();
    rope.inv_freq = table ? nullptr : d_inv_freq.get();
    rope.cos_sin = table ? cos_sin->get() : nullptr;
    rope.k_cache = AsBF16(y.k_cache.get());
    rope.v_cache = AsBF16(y.v_cache.get());
    rope.num_tokens = 1;
    rope.num_heads = num_heads;
    rope.num_kv_heads = num_kv_heads;
    rope.head_dim = head_dim;
    return rope;
  };
  Outputs separate = outputs();
  CUDA_REQUIRE(kernels::LaunchSkinnyGemm(Product(o.x.get(), o, separate.qkv.get(), 1, in, out), nullptr));
  CUDA_REQUIRE(kernels::LaunchRopeCacheWrite(rope_params(separate), nullptr));
  Outputs fused = outputs();
  auto product = Product(o.x.get(), o, fused.qkv.get(), 1, in, out);
  product.epilogue = SkinnyEpilogue::kRopeCacheWrite;
  product.rope = rope_params(fused);
  product.rope.qkv = nullptr;  // the product's y is the row
  product.rope.num_tokens = 0;
  CUDA_REQUIRE(kernels::LaunchSkinnyGemm(product, nullptr));
  const std::vector<uint16_t> want_k = separate.k_cache.ToHost();
  CHECK(fused.qkv.ToHost() == separate.qkv.ToHost());
  CHECK(fused.k_cache.ToHost() == want_k);
  CHECK(fused.v_cache.ToHost() == separate.v_cache.ToHost());
  // The separate path wrote the token's slot (and only it) unless the token is padding.
  const size_t written = static_cast<size_t>(std::count_if(want_k.begin(), want_k.end(), [](uint16_t v) { return v != 0xFFFF; }));
  CHECK(written == (padding ? 0u : static_cast<size_t>(kv_width)));
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

  const DeviceArray<int> position(std::vector<int>{3});
  const DeviceArray<int64_t> slot(std::vector<int64_t>{0});
  const DeviceArray<float> inv_freq(std::vector<float>{1.0f, 0.5f});
  kernels::SkinnyGemmParams rope{buffer, buffer, buffer + 1024, nullptr, 1, 8, 8};
  rope.epilogue = SkinnyEpilogue::kRopeCacheWrite;
  rope.rope.positions = position.get();
  rope.rope.slots = slot.get();
  rope.rope.inv_freq = inv_freq.get();
  rope.rope.k_cache = buffer + 2048;
  rope.rope.v_cache = buffer + 3072;
  rope.rope.num_heads = 2;
  rope.rope.num_kv_heads = 1;
  rope.rope.head_dim = 2;  // (2 + 2 * 1) * 2 = 8 columns
  CHECK(kernels::SkinnyGemmSupports(rope));
  bad = rope;
  bad.rows = 2;  // one token only
  CHECK(kernels::LaunchSkinnyGemm(bad, nullptr) == cudaErrorInvalidValue);
  bad = rope;
  bad.rope.head_dim = 4;  // (2 + 2) * 4 = 16 columns, not out
  CHECK(kernels::LaunchSkinnyGemm(bad, nullptr) == cudaErrorInvalidValue);
  bad = rope;
  bad.rope.slots = nullptr;
  CHECK(kernels::LaunchSkinnyGemm(bad, nullptr) == cudaErrorInvalidValue);
  bad = rope;
  bad.rope.inv_freq = nullptr;  // and no table
  CHECK(kernels::LaunchSkinnyGemm(bad, nullptr) == cudaErrorInvalidValue);
  bad = rope;
  bad.y_bf16 = nullptr;
  bad.y_f32 = reinterpret_cast<float*>(buffer + 1024);
  CHECK(kernels::LaunchSkinnyGemm(bad, nullptr) == cudaErrorInvalidValue);
}

}  // namespace specd
