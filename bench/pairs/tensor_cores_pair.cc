#include "bench/pairs/tensor_cores_pair.h"

#include <memory>
#include <optional>
#include <random>
#include <vector>

#include <cublas_v2.h>

#include "bench/pairs/device_memory.h"
#include "bench/pairs/gpu_arrays.h"
#include "bench/pairs/gpu_iteration_timer.h"
#include "bench/pairs/pair_kernels.h"
#include "bench/pairs/repository_path.h"
#include "engine/model/model_config.h"
#include "engine/runner/cuda/lt_gemm.h"

namespace specd::bench {
namespace {

constexpr char kShape[] = "bench/shapes/llama-3.1-8b";
constexpr int64_t kRows = 512, kRowsQuick = 128;
constexpr float kActivationScale = 1.0f;
constexpr float kWeightScale = 0.02f;
constexpr uint64_t kSeed = 30;

// One product's operands and output: bf16 for the optimized variant, fp32 copies for the baseline
// (whose bf16 originals are freed once widened).
struct Product {
  int64_t rows = 0, in = 0, out = 0;
  DeviceBuffer<__nv_bfloat16> x, w, y;  // [rows, in], [out, in], [rows, out]
  DeviceBuffer<float> x32, w32, y32;    // the same, fp32
};

StatusOr<DeviceBuffer<float>> Widen(const DeviceBuffer<__nv_bfloat16>& bf16, const std::string& what) {
  DeviceBuffer<float> widened;
  SPECD_RETURN_IF_ERROR(widened.Allocate(bf16.size(), what));
  const WidenBf16Params params{.in = bf16.get(), .out = widened.get(), .count = static_cast<int64_t>(bf16.size())};
  SPECD_RETURN_IF_ERROR(CudaStatus(LaunchWidenBf16(params, nullptr), "widening " + what));
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaDeviceSynchronize(), "widening " + what));
  return widened;
}

StatusOr<Product> MakeProduct(int64_t rows, int64_t in, int64_t out, uint64_t seed, bool fp32) {
  Product p;
  p.rows = rows;
  p.in = in;
  p.out = out;
  SPECD_ASSIGN_OR_RETURN(p.x, RandomBf16Array(rows * in, seed, kActivationScale, "activations"));
  SPECD_ASSIGN_OR_RETURN(p.w, RandomBf16Array(out * in, seed + 1, kWeightScale, "weights"));
  if (!fp32) {
    SPECD_RETURN_IF_ERROR(p.y.Allocate(static_cast<size_t>(rows * out), "output"));
    return p;
  }
  SPECD_ASSIGN_OR_RETURN(p.x32, Widen(p.x, "fp32 activations"));
  SPECD_ASSIGN_OR_RETURN(p.w32, Widen(p.w, "fp32 weights"));
  p.x = {};
  p.w = {};
  SPECD_RETURN_IF_ERROR(p.y32.Allocate(static_cast<size_t>(rows * out), "fp32 output"));
  return p;
}

// A layer's products: qkv, o, gate_up, down.
StatusOr<std::vector<Product>> MakeLayer(const ModelConfig& c, int64_t rows, bool fp32) {
  const int64_t shapes[][2] = {{c.hidden_size, c.q_size() + 2 * c.kv_size()},
                               {c.q_size(), c.hidden_size},
                               {c.hidden_size, 2 * c.intermediate_size},
                               {c.intermediate_size, c.hidden_size}};
  std::vector<Product> layer;
  for (const auto& [in, out] : shapes) {
    SPECD_ASSIGN_OR_RETURN(Product p, MakeProduct(rows, in, out, kSeed + 2 * layer.size(), fp32));
    layer.push_back(std::move(p));
  }
  return layer;
}

// cuBLAS in pedantic math mode: true fp32 products, no TF32 and no reduced-precision shortcuts.
class PedanticCublas {
 public:
  static StatusOr<std::unique_ptr<PedanticCublas>> Create() {
    std::unique_ptr<PedanticCublas> cublas(new PedanticCublas);
    SPECD_RETURN_IF_ERROR(CublasStatus(cublasCreate(&cublas->handle_), "creating a cuBLAS handle"));
    SPECD_RETURN_IF_ERROR(CublasStatus(cublasSetMathMode(cublas->handle_, CUBLAS_PEDANTIC_MATH), "cuBLAS math mode"));
    return cublas;
  }
  ~PedanticCublas() {
    if (handle_ != nullptr) cublasDestroy(handle_);
  }

  // Column-major: y^T [out, rows] = w [out, in] (read transposed from its [in, out] view) * x^T.
  Status Sgemm(const Product& p) const {
    const float one = 1.0f, zero = 0.0f;
    const cublasStatus_t status =
        cublasSgemm(handle_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(p.out), static_cast<int>(p.rows),
                    static_cast<int>(p.in), &one, p.w32.get(), static_cast<int>(p.in), p.x32.get(),
                    static_cast<int>(p.in), &zero, p.y32.get(), static_cast<int>(p.out));
    return CublasStatus(status, "cublasSgemm");
  }

 private:
  PedanticCublas() = default;
  cublasHandle_t handle_ = nullptr;
};

// Row `row` of a [rows, width] operand, whichever precision the variant holds, as floats.
StatusOr<std::vector<float>> OperandRow(const DeviceBuffer<__nv_bfloat16>& bf16, const DeviceBuffer<float>& fp32,
                                        int64_t row, int64_t width) {
  if (fp32.get() != nullptr) return DownloadArray(fp32.get() + row * width, static_cast<size_t>(width));
  return DownloadBf16AsFloats(bf16.get() + row * width, static_cast<size_t>(width));
}

// kSampledOutputs random entries of the product and their fp64 dot products.
Status AppendSample(const Product& p, uint64_t seed, PairOutputs& outputs) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> any_row(0, p.rows - 1), any_col(0, p.out - 1);
  for (int i = 0; i < TensorCoresPair::kSampledOutputs; ++i) {
    const int64_t row = any_row(rng), col = any_col(rng);
    SPECD_ASSIGN_OR_RETURN(const std::vector<float> x, OperandRow(p.x, p.x32, row, p.in));
    SPECD_ASSIGN_OR_RETURN(const std::vector<float> w, OperandRow(p.w, p.w32, col, p.in));
    double dot = 0.0;
    for (int64_t k = 0; k < p.in; ++k) dot += double{x[k]} * w[k];
    outputs.reference.push_back(dot);
    SPECD_ASSIGN_OR_RETURN(const std::vector<float> y, OperandRow(p.y, p.y32, row * p.out + col, 1));
    outputs.values.push_back(y[0]);
  }
  return OkStatus();
}

}  // namespace

StatusOr<VariantRun> TensorCoresPair::Run(Variant variant, const RunSettings& settings) {
  const bool fp32 = variant == Variant::kBaseline;
  const int64_t rows = settings.quick ? kRowsQuick : kRows;
  SPECD_ASSIGN_OR_RETURN(const ModelConfig config, LoadModelConfig(RepositoryPath(kShape)));
  const std::optional<int64_t> memory_before = DeviceMemoryInUse();
  SPECD_ASSIGN_OR_RETURN(const std::vector<Product> layer, MakeLayer(config, rows, fp32));
  VariantRun run;
  run.memory_bytes = DeviceMemoryGrowth(memory_before, DeviceMemoryInUse());
  run.tokens_per_iteration = static_cast<double>(rows);
  std::unique_ptr<PedanticCublas> cublas;
  std::unique_ptr<LtGemm> lt_gemm;
  if (fp32) {
    SPECD_ASSIGN_OR_RETURN(cublas, PedanticCublas::Create());
  } else {
    SPECD_ASSIGN_OR_RETURN(lt_gemm, LtGemm::Create(/*batch_invariant=*/false, rows));
  }
  SPECD_ASSIGN_OR_RETURN(run.samples_ms, TimeGpuIterations(settings.repeats, [&]() -> Status {
                           for (const Product& p : layer) {
                             SPECD_RETURN_IF_ERROR(fp32 ? cublas->Sgemm(p)
                                                        : lt_gemm->Run(p.x.get(), p.w.get(), p.y.get(), nullptr,
                                                                       p.rows, p.in, p.out, nullptr));
                           }
                           return OkStatus();
                         }));
  for (size_t i = 0; i < layer.size(); ++i) SPECD_RETURN_IF_ERROR(AppendSample(layer[i], kSeed + i, run.outputs));
  return run;
}

}  // namespace specd::bench
