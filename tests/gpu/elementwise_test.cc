// The small Llama-layer kernels (embedding, RoPE + cache write, SiLU-and-mul, bias, row gather)
// against host references on random inputs. Outputs are poisoned (0xFFFF, a bf16 NaN) before each
// launch, so an element the kernel fails to write shows up, and so does one it writes but should
// not (a guard past the end, a cache slot no token maps to).
//
// Copies and bias adds must match bit for bit. SiLU-and-mul and RoPE are checked per element
// against fp64: the error may be at most half a bf16 ulp of the exact value (the one rounding to
// bf16) plus fp32 noise; RoPE reading a cos/sin table must equal the computed path bit for bit.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "engine/model/dtype.h"
#include "engine/model/model_config.h"
#include "engine/runner/rope_table.h"
#include "kernels/elementwise.h"
#include "tests/gpu/gpu_test_support.h"

namespace specd {
namespace {

using testing::AsBF16;
using testing::DeviceArray;
using testing::RandomBF16;

constexpr uint16_t kPoison = 0xFFFF;  // what cudaMemset(0xFF) leaves: a bf16 NaN
constexpr size_t kGuard = 37;         // poisoned elements past the end of an output
constexpr double kHalfUlp = 1.0 / 256;  // bf16 keeps 8 significant bits: rounding moves at most 2^-8 relative
constexpr double kFp32Noise = 1.0 / (1 << 18);

std::vector<int> RandomInts(size_t count, int bound, std::mt19937& rng) {
  std::uniform_int_distribution<int> uniform(0, bound - 1);
  std::vector<int> values(count);
  for (auto& value : values) value = uniform(rng);
  return values;
}

// How many of values[begin, end) are not the poison.
size_t CountWritten(const std::vector<uint16_t>& values, size_t begin, size_t end) {
  return static_cast<size_t>(std::count_if(values.begin() + static_cast<std::ptrdiff_t>(begin),
                                            values.begin() + static_cast<std::ptrdiff_t>(end),
                                            [](uint16_t v) { return v != kPoison; }));
}

// bf16(x + bias) with the sum in fp32, as a bf16 tensor add rounds it.
uint16_t AddRounded(uint16_t x, uint16_t bias) { return FloatToBF16(BF16ToFloat(x) + BF16ToFloat(bias)); }

void Synchronize() {
  CUDA_REQUIRE(cudaDeviceSynchronize());
  CUDA_REQUIRE(cudaGetLastError());
}

// out[r, :] = in[index[r], :] through `launch`. With `offset` 1 both arrays start one element past
// a 16-byte boundary, which forces the unvectorized path.
using RowCopyLaunch = std::function<cudaError_t(const __nv_bfloat16* in, const int* index, __nv_bfloat16* out,
                                                int rows, int width)>;
void CheckRowCopy(int num_in_rows, int rows, int width, size_t offset, const RowCopyLaunch& launch) {
  std::mt19937 rng(static_cast<uint32_t>(rows * 7919 + width));
  const auto in = RandomBF16(offset + static_cast<size_t>(num_in_rows) * width, rng, 0.0f, 1.0f);
  auto index = RandomInts(static_cast<size_t>(rows), num_in_rows, rng);
  index.front() = num_in_rows - 1;        // the last row
  if (rows > 2) index[1] = index.back();  // a repeat
  const size_t count = static_cast<size_t>(rows) * width;
  DeviceArray<uint16_t> d_in(in);
  DeviceArray<int> d_index(index);
  auto d_out = DeviceArray<uint16_t>::Poisoned(offset + count + kGuard);
  CUDA_REQUIRE(launch(AsBF16(d_in.get() + offset), d_index.get(), AsBF16(d_out.get() + offset), rows, width));
  Synchronize();

  const auto out = d_out.ToHost();
  size_t mismatches = 0;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < width; ++c) {
      const size_t got = offset + static_cast<size_t>(r) * width + c;
      const size_t want = offset + static_cast<size_t>(index[static_cast<size_t>(r)]) * width + c;
      mismatches += out[got] != in[want];
    }
  }
  CHECK(mismatches == 0);
  CHECK(CountWritten(out, 0, offset) == 0);
  CHECK(CountWritten(out, offset + count, out.size()) == 0);
}

// The RoPE kernel's inputs for one case, and what it must produce.
struct RopeCase {
  int tokens, num_heads, num_kv_heads, head_dim;
  bool with_bias;
  int row_width() const { return (num_heads + 2 * num_kv_heads) * head_dim; }
  int kv_width() const { return num_kv_heads * head_dim; }
};

struct RopeCheck {
  size_t bad_rotations = 0;  // q or k elements off the fp64 value by more than the bound
  size_t bad_copies = 0;     // v in the cache, or k and v in qkv, not bit for bit as expected
  double worst_error = 0.0;  // largest |got - exact|
};

// Checks one rotated pair element: got against the exact `want`, rotated from a and b.
void CheckRotated(uint16_t got_bits, double want, double a, double b, RopeCheck& check) {
  const double got = BF16ToFloat(got_bits);
  const double error = std::abs(got - want);
  check.worst_error = std::max(check.worst_error, std::isnan(error) ? INFINITY : error);
  const double bound = kHalfUlp * std::abs(want) + kFp32Noise * (std::abs(a) + std::abs(b));
  if (!(error <= bound)) ++check.bad_rotations;  // NaN (unwritten) counts as bad
}

// What every row kernel with arrays `arrays...` (valid stand-ins, in the order of its params)
// checks first: zero rows are a no-op whatever the pointers; negative rows, zero width or any
// null array are refused.
template <typename Params, typename... Arrays>
void CheckRowRefusals(cudaError_t (*launch)(const Params&, cudaStream_t), Arrays*... arrays) {
  CHECK(launch(Params{static_cast<Arrays*>(nullptr)..., 0, 64}, nullptr) == cudaSuccess);
  CHECK(launch(Params{arrays..., -1, 64}, nullptr) == cudaErrorInvalidValue);
  CHECK(launch(Params{arrays..., 1, 0}, nullptr) == cudaErrorInvalidValue);
  for (size_t null_index = 0; null_index < sizeof...(Arrays); ++null_index) {
    CAPTURE(null_index);
    size_t i = 0;
    CHECK(launch(Params{(i++ == null_index ? nullptr : arrays)..., 1, 8}, nullptr) == cudaErrorInvalidValue);
  }
}

}  // namespace

TEST_CASE("embedding copies the table row of each token id", "[gpu]") {
  const auto [tokens, hidden, offset] = GENERATE(std::make_tuple(1, 64, 0), std::make_tuple(7, 4096, 0),
                                                 std::make_tuple(33, 13, 0), std::make_tuple(33, 64, 1));
  CAPTURE(tokens, hidden, offset);
  CheckRowCopy(301, tokens, hidden, static_cast<size_t>(offset),
               [](const __nv_bfloat16* in, const int* index, __nv_bfloat16* out, int rows, int width) {
                 return kernels::LaunchEmbedding(kernels::EmbeddingParams{index, in, out, rows, width}, nullptr);
               });
}

TEST_CASE("gather rows copies the chosen rows in order", "[gpu]") {
  const auto [rows, width, offset] = GENERATE(std::make_tuple(1, 13, 0), std::make_tuple(7, 64, 0),
                                              std::make_tuple(33, 4096, 0), std::make_tuple(7, 64, 1));
  CAPTURE(rows, width, offset);
  CheckRowCopy(40, rows, width, static_cast<size_t>(offset),
               [](const __nv_bfloat16* in, const int* index, __nv_bfloat16* out, int num_rows, int num_cols) {
                 return kernels::LaunchGatherRows(kernels::GatherRowsParams{in, index, out, num_rows, num_cols},
                                                  nullptr);
               });
}

TEST_CASE("silu and mul matches an fp64 reference", "[gpu]") {
  const auto [tokens, inter, offset] = GENERATE(std::make_tuple(1, 64, 0), std::make_tuple(7, 7, 0),
      std::make_tuple(33, 1000, 0), std::make_tuple(5, 14336, 0), std::make_tuple(7, 64, 1));
  CAPTURE(tokens, inter, offset);
  std::mt19937 rng(static_cast<uint32_t>(tokens * 31 + inter));
  const size_t off = static_cast<size_t>(offset);
  const size_t count = static_cast<size_t>(tokens) * inter;
  std::vector<uint16_t> gate_up = RandomBF16(off + 2 * count, rng, 0.0f, 3.0f);
  for (int t = 0; t < tokens; ++t) {  // the up halves: a different distribution from the gates
    const auto up = RandomBF16(static_cast<size_t>(inter), rng, 0.5f, 1.0f);
    std::copy(up.begin(), up.end(), gate_up.begin() + static_cast<std::ptrdiff_t>(off + (2 * t + 1) * static_cast<size_t>(inter)));
  }
  DeviceArray<uint16_t> d_gate_up(gate_up);
  auto d_out = DeviceArray<uint16_t>::Poisoned(off + count + kGuard);
  const kernels::SiluMulParams params{AsBF16(d_gate_up.get() + off), AsBF16(d_out.get() + off), tokens, inter};
  CUDA_REQUIRE(kernels::LaunchSiluMul(params, nullptr));
  Synchronize();

  const auto out = d_out.ToHost();
  size_t bad = 0;
  double worst = 0.0;
  for (int t = 0; t < tokens; ++t) {
    for (int i = 0; i < inter; ++i) {
      const size_t row = off + 2 * static_cast<size_t>(t) * inter;
      const double g = BF16ToFloat(gate_up[row + i]);
      const double u = BF16ToFloat(gate_up[row + inter + i]);
      const double want = g / (1.0 + std::exp(-g)) * u;
      const double error = std::abs(BF16ToFloat(out[off + static_cast<size_t>(t) * inter + i]) - want);
      worst = std::max(worst, std::isnan(error) ? INFINITY : error);
      if (!(error <= (kHalfUlp + kFp32Noise) * std::abs(want) + 1e-30)) ++bad;
    }
  }
  CAPTURE(worst);
  CHECK(bad == 0);
  CHECK(CountWritten(out, 0, off) == 0);
  CHECK(CountWritten(out, off + count, out.size()) == 0);
}

TEST_CASE("add bias rounds the fp32 sum to bf16, row by row", "[gpu]") {
  const auto [tokens, width, offset] = GENERATE(std::make_tuple(1, 64, 0), std::make_tuple(7, 7, 0),
      std::make_tuple(33, 4096, 0), std::make_tuple(3, 32768, 0), std::make_tuple(5, 64, 1));
  CAPTURE(tokens, width, offset);
  std::mt19937 rng(static_cast<uint32_t>(tokens * 131 + width));
  const size_t off = static_cast<size_t>(offset);
  const size_t count = static_cast<size_t>(tokens) * width;
  const auto x = RandomBF16(off + count + kGuard, rng, 0.0f, 2.0f);  // the guard must stay as it was
  const auto bias = RandomBF16(off + static_cast<size_t>(width), rng, 0.0f, 1.0f);
  DeviceArray<uint16_t> d_x(x);
  DeviceArray<uint16_t> d_bias(bias);
  const kernels::AddBiasParams params{AsBF16(d_x.get() + off), AsBF16(d_bias.get() + off), tokens, width};
  CUDA_REQUIRE(kernels::LaunchAddBias(params, nullptr));
  Synchronize();

  std::vector<uint16_t> want = x;
  for (size_t k = 0; k < count; ++k) want[off + k] = AddRounded(x[off + k], bias[off + k % static_cast<size_t>(width)]);
  const auto got = d_x.ToHost();
  size_t mismatches = 0;
  for (size_t k = 0; k < got.size(); ++k) mismatches += got[k] != want[k];
  CHECK(mismatches == 0);
}

TEST_CASE("RoPE + cache write matches an fp64 reference and writes only the token slots", "[gpu]") {
  const int tokens = GENERATE(1, 7, 33);
  const int gqa_ratio = GENERATE(1, 4, 8);
  const int head_dim = GENERATE(64, 128);
  const bool with_bias = GENERATE(false, true);
  const RopeCase c{tokens, 2 * gqa_ratio, 2, head_dim, with_bias};
  CAPTURE(tokens, gqa_ratio, head_dim, with_bias);
  std::mt19937 rng(static_cast<uint32_t>(tokens * 1000 + gqa_ratio * 100 + head_dim + with_bias));

  // Llama 3's frequencies, as the CUDA runner uploads them.
  RopeConfig rope;
  rope.type = RopeType::kLlama3;
  rope.theta = 500000.0;
  rope.factor = 8.0;
  const std::vector<float> inv_freq = RopeTable(rope, head_dim).inv_freq();

  // Slots: distinct, shuffled over several 16-slot blocks; one padding token (-1) when there are
  // several tokens. Positions up to 128k, where the angles are large.
  constexpr int kBlockSize = 16;
  const int num_slots = (tokens / kBlockSize * 2 + 3) * kBlockSize;
  std::vector<int64_t> all_slots(static_cast<size_t>(num_slots));
  std::iota(all_slots.begin(), all_slots.end(), int64_t{0});
  std::shuffle(all_slots.begin(), all_slots.end(), rng);
  std::vector<int64_t> slots(all_slots.begin(), all_slots.begin() + tokens);
  if (tokens > 1) slots[static_cast<size_t>(tokens / 2)] = -1;
  std::vector<int> positions = RandomInts(static_cast<size_t>(tokens), 131072, rng);
  positions.front() = 0;

  const size_t row_width = static_cast<size_t>(c.row_width());
  const size_t kv_width = static_cast<size_t>(c.kv_width());
  const auto qkv = RandomBF16(static_cast<size_t>(tokens) * row_width, rng, 0.0f, 1.0f);
  const auto bias = with_bias ? RandomBF16(row_width, rng, 0.0f, 0.5f) : std::vector<uint16_t>();
  DeviceArray<uint16_t> d_qkv(qkv);
  std::optional<DeviceArray<uint16_t>> d_bias;
  if (with_bias) d_bias.emplace(bias);
  DeviceArray<int> d_positions(positions);
  DeviceArray<int64_t> d_slots(slots);
  DeviceArray<float> d_inv_freq(inv_freq);
  const size_t cache_count = static_cast<size_t>(num_slots) * kv_width;
  auto d_k_cache = DeviceArray<uint16_t>::Poisoned(cache_count);
  auto d_v_cache = DeviceArray<uint16_t>::Poisoned(cache_count);

  kernels::RopeCacheWriteParams params;
  params.qkv = AsBF16(d_qkv.get());
  params.qkv_bias = with_bias ? AsBF16(d_bias->get()) : nullptr;
  params.positions = d_positions.get();
  params.slots = d_slots.get();
  params.inv_freq = d_inv_freq.get();
  params.k_cache = AsBF16(d_k_cache.get());
  params.v_cache = AsBF16(d_v_cache.get());
  params.num_tokens = tokens;
  params.num_heads = c.num_heads;
  params.num_kv_heads = c.num_kv_heads;
  params.head_dim = head_dim;
  CUDA_REQUIRE(kernels::LaunchRopeCacheWrite(params, nullptr));
  Synchronize();

  const auto got_qkv = d_qkv.ToHost();
  const auto k_cache = d_k_cache.ToHost();
  const auto v_cache = d_v_cache.ToHost();
  const int half = head_dim / 2;
  const size_t q_width = static_cast<size_t>(c.num_heads) * head_dim;
  RopeCheck check;
  for (int t = 0; t < tokens; ++t) {
    const size_t row = static_cast<size_t>(t) * row_width;
    const int64_t slot = slots[static_cast<size_t>(t)];
    // The bias-added row, in bf16: the values the rotation starts from.
    std::vector<uint16_t> x(qkv.begin() + static_cast<std::ptrdiff_t>(row),
                            qkv.begin() + static_cast<std::ptrdiff_t>(row + row_width));
    if (with_bias) {
      for (size_t col = 0; col < row_width; ++col) x[col] = AddRounded(x[col], bias[col]);
    }
    for (int head = 0; head < c.num_heads + c.num_kv_heads; ++head) {
      const bool is_q = head < c.num_heads;
      if (!is_q && slot < 0) continue;
      const size_t col = static_cast<size_t>(head) * head_dim;
      const size_t out = is_q ? row + col
                              : static_cast<size_t>(slot) * kv_width + (col - q_width);
      const std::vector<uint16_t>& dst = is_q ? got_qkv : k_cache;
      for (int i = 0; i < half; ++i) {
        // The angle in fp32, its cos and sin exact: transformers' numbers.
        const float angle = static_cast<float>(positions[static_cast<size_t>(t)]) * inv_freq[static_cast<size_t>(i)];
        const double cos_a = std::cos(static_cast<double>(angle));
        const double sin_a = std::sin(static_cast<double>(angle));
        const double a = BF16ToFloat(x[col + static_cast<size_t>(i)]);
        const double b = BF16ToFloat(x[col + static_cast<size_t>(i + half)]);
        CheckRotated(dst[out + static_cast<size_t>(i)], a * cos_a - b * sin_a, a, b, check);
        CheckRotated(dst[out + static_cast<size_t>(i + half)], b * cos_a + a * sin_a, a, b, check);
      }
    }
    // k and v stay as they were in qkv; v, bias added, goes to the cache as is.
    for (size_t col = q_width; col < row_width; ++col) check.bad_copies += got_qkv[row + col] != qkv[row + col];
    if (slot >= 0) {
      for (size_t e = 0; e < kv_width; ++e) {
        check.bad_copies += v_cache[static_cast<size_t>(slot) * kv_width + e] != x[q_width + kv_width + e];
      }
    }
  }
  CAPTURE(check.worst_error);
  CHECK(check.bad_rotations == 0);
  CHECK(check.bad_copies == 0);

  // Slots no token maps to (the padding token's included) keep their poison.
  const std::set<int64_t> written(slots.begin(), slots.end());
  size_t stray_writes = 0;
  for (int64_t s = 0; s < num_slots; ++s) {
    if (written.count(s) > 0) continue;
    const size_t begin = static_cast<size_t>(s) * kv_width;
    stray_writes += CountWritten(k_cache, begin, begin + kv_width) + CountWritten(v_cache, begin, begin + kv_width);
  }
  CHECK(stray_writes == 0);
}

// The rope_q_cache pair's optimized variant: a write reading LaunchRopeCosSinTable's table must
// produce exactly what the computed path produces (q in qkv, k and v in the cache).
TEST_CASE("RoPE + cache write reading a cos/sin table equals the computed path bit for bit", "[gpu]") {
  const int head_dim = GENERATE(64, 128);
  const bool with_bias = GENERATE(false, true);
  CAPTURE(head_dim, with_bias);
  constexpr int kTokens = 57, kNumHeads = 32, kNumKvHeads = 8, kMaxPosition = 131072;
  std::mt19937 rng(static_cast<uint32_t>(head_dim + with_bias));
  RopeConfig rope;
  rope.type = RopeType::kLlama3;
  rope.theta = 500000.0;
  rope.factor = 8.0;
  const std::vector<float> inv_freq = RopeTable(rope, head_dim).inv_freq();
  const size_t row_width = static_cast<size_t>(kNumHeads + 2 * kNumKvHeads) * head_dim;
  const size_t cache_count = static_cast<size_t>(kTokens) * kNumKvHeads * head_dim;
  const auto qkv = RandomBF16(kTokens * row_width, rng, 0.0f, 1.0f);
  std::vector<int> positions = RandomInts(kTokens, kMaxPosition, rng);
  positions.front() = kMaxPosition - 1;  // the table's last row
  std::vector<int64_t> slots(kTokens);
  std::iota(slots.begin(), slots.end(), int64_t{0});
  DeviceArray<uint16_t> d_bias(RandomBF16(row_width, rng, 0.0f, 0.5f));
  DeviceArray<int> d_positions(positions);
  DeviceArray<int64_t> d_slots(slots);
  DeviceArray<float> d_inv_freq(inv_freq);
  DeviceArray<float2> d_table(std::vector<float2>(static_cast<size_t>(kMaxPosition) * head_dim / 2));
  CUDA_REQUIRE(kernels::LaunchRopeCosSinTable({d_inv_freq.get(), d_table.get(), kMaxPosition, head_dim}, nullptr));

  // Each path on its own copy of qkv and its own caches; the table path gets no inv_freq.
  const auto run = [&](const float2* table) {
    DeviceArray<uint16_t> d_qkv(qkv);
    auto d_k_cache = DeviceArray<uint16_t>::Poisoned(cache_count);
    auto d_v_cache = DeviceArray<uint16_t>::Poisoned(cache_count);
    kernels::RopeCacheWriteParams params;
    params.qkv = AsBF16(d_qkv.get());
    params.qkv_bias = with_bias ? AsBF16(d_bias.get()) : nullptr;
    params.positions = d_positions.get();
    params.slots = d_slots.get();
    params.inv_freq = table == nullptr ? d_inv_freq.get() : nullptr;
    params.cos_sin = table;
    params.k_cache = AsBF16(d_k_cache.get());
    params.v_cache = AsBF16(d_v_cache.get());
    params.num_tokens = kTokens;
    params.num_heads = kNumHeads;
    params.num_kv_heads = kNumKvHeads;
    params.head_dim = head_dim;
    CUDA_REQUIRE(kernels::LaunchRopeCacheWrite(params, nullptr));
    Synchronize();
    return std::make_tuple(d_qkv.ToHost(), d_k_cache.ToHost(), d_v_cache.ToHost());
  };
  const auto computed = run(nullptr);
  const auto from_table = run(d_table.get());
  CHECK(std::get<0>(from_table) == std::get<0>(computed));
  CHECK(std::get<1>(from_table) == std::get<1>(computed));
  CHECK(std::get<2>(from_table) == std::get<2>(computed));
  CHECK(std::get<0>(from_table) != qkv);  // q was rotated
}

TEST_CASE("elementwise launchers refuse bad shapes and do nothing for zero tokens", "[gpu]") {
  // Stand-in pointers for the checks that must fail before any launch.
  DeviceArray<uint16_t> dummy(std::vector<uint16_t>(64, 0x3F80));
  auto* bf = AsBF16(dummy.get());
  auto* ints = reinterpret_cast<int*>(dummy.get());

  SECTION("embedding") {
    CheckRowRefusals(kernels::LaunchEmbedding, ints, bf, bf);
    CHECK(kernels::LaunchEmbedding({ints, bf, bf, 1, -8}, nullptr) == cudaErrorInvalidValue);
  }
  SECTION("gather rows") { CheckRowRefusals(kernels::LaunchGatherRows, bf, ints, bf); }
  SECTION("silu and mul") { CheckRowRefusals(kernels::LaunchSiluMul, bf, bf); }
  SECTION("add bias") { CheckRowRefusals(kernels::LaunchAddBias, bf, bf); }
  SECTION("rope + cache write") {
    kernels::RopeCacheWriteParams empty;  // zero tokens, null arrays
    empty.num_heads = 8;
    empty.num_kv_heads = 2;
    empty.head_dim = 64;
    CHECK(kernels::LaunchRopeCacheWrite(empty, nullptr) == cudaSuccess);

    kernels::RopeCacheWriteParams valid = empty;
    valid.qkv = bf;
    valid.positions = ints;
    valid.slots = reinterpret_cast<const int64_t*>(dummy.get());
    valid.inv_freq = reinterpret_cast<const float*>(dummy.get());
    valid.k_cache = bf;
    valid.v_cache = bf;
    valid.num_tokens = 1;
    const auto refused = [&](const std::function<void(kernels::RopeCacheWriteParams&)>& change) {
      kernels::RopeCacheWriteParams p = valid;
      change(p);
      return kernels::LaunchRopeCacheWrite(p, nullptr) == cudaErrorInvalidValue;
    };
    CHECK(refused([](auto& p) { p.num_tokens = -1; }));
    CHECK(refused([](auto& p) { p.head_dim = 0; }));
    CHECK(refused([](auto& p) { p.head_dim = 63; }));
    CHECK(refused([](auto& p) { p.head_dim = -64; }));
    CHECK(refused([](auto& p) { p.head_dim = 2048; }));
    CHECK(refused([](auto& p) { p.num_heads = 6; p.num_kv_heads = 4; }));
    CHECK(refused([](auto& p) { p.num_kv_heads = 0; }));
    CHECK(refused([](auto& p) { p.num_heads = 0; }));
    CHECK(refused([](auto& p) { p.num_heads = -8; }));
    CHECK(refused([](auto& p) { p.qkv = nullptr; }));
    CHECK(refused([](auto& p) { p.positions = nullptr; }));
    CHECK(refused([](auto& p) { p.slots = nullptr; }));
    CHECK(refused([](auto& p) { p.inv_freq = nullptr; }));
    CHECK(refused([](auto& p) { p.k_cache = nullptr; }));
    CHECK(refused([](auto& p) { p.v_cache = nullptr; }));
    // Zero tokens is still refused for a bad shape.
    CHECK(refused([](auto& p) { p.num_tokens = 0; p.head_dim = 7; }));
  }
  SECTION("rope cos/sin table") {
    auto* table = reinterpret_cast<float2*>(dummy.get());
    const auto* inv_freq = reinterpret_cast<const float*>(dummy.get());
    CHECK(kernels::LaunchRopeCosSinTable({nullptr, nullptr, 0, 64}, nullptr) == cudaSuccess);
    CHECK(kernels::LaunchRopeCosSinTable({inv_freq, table, -1, 64}, nullptr) == cudaErrorInvalidValue);
    CHECK(kernels::LaunchRopeCosSinTable({inv_freq, table, 1, 63}, nullptr) == cudaErrorInvalidValue);
    CHECK(kernels::LaunchRopeCosSinTable({inv_freq, table, 1, 2048}, nullptr) == cudaErrorInvalidValue);
    CHECK(kernels::LaunchRopeCosSinTable({nullptr, table, 1, 64}, nullptr) == cudaErrorInvalidValue);
    CHECK(kernels::LaunchRopeCosSinTable({inv_freq, nullptr, 1, 64}, nullptr) == cudaErrorInvalidValue);
  }
  Synchronize();  // nothing was launched, so nothing failed
}

}  // namespace specd
