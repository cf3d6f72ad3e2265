#include "engine/runner/cuda/lt_gemm.h"

namespace specd {
namespace {

constexpr size_t kWorkspaceBytes = 32 << 20;

}  // namespace

struct LtGemm::Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t w = nullptr, x = nullptr, y = nullptr;
  cublasLtMatmulAlgo_t algo{};

  ~Plan() {
    if (y) cublasLtMatrixLayoutDestroy(y);
    if (x) cublasLtMatrixLayoutDestroy(x);
    if (w) cublasLtMatrixLayoutDestroy(w);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

StatusOr<std::unique_ptr<LtGemm>> LtGemm::Create() {
  std::unique_ptr<LtGemm> gemm(new LtGemm());
  SPECD_RETURN_IF_ERROR(CublasStatus(cublasLtCreate(&gemm->handle_), "cublasLtCreate"));
  SPECD_RETURN_IF_ERROR(gemm->workspace_.Allocate(kWorkspaceBytes, "the cuBLASLt workspace"));
  return gemm;
}

LtGemm::~LtGemm() {
  plans_.clear();
  if (handle_) cublasLtDestroy(handle_);
}

StatusOr<const LtGemm::Plan*> LtGemm::PlanFor(const Shape& shape) {
  if (auto it = plans_.find(shape); it != plans_.end()) return it->second.get();
  const auto [rows, in, out, f32_out] = shape;
  auto plan = std::make_unique<Plan>();
  SPECD_RETURN_IF_ERROR(CublasStatus(cublasLtMatmulDescCreate(&plan->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "matmul desc"));
  const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
  cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof(transpose));
  cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof(keep));
  // Column-major views: w is [in, out] (transposed by the op), x is [in, rows], y is [out, rows].
  SPECD_RETURN_IF_ERROR(CublasStatus(cublasLtMatrixLayoutCreate(&plan->w, CUDA_R_16BF, in, out, in), "w layout"));
  SPECD_RETURN_IF_ERROR(CublasStatus(cublasLtMatrixLayoutCreate(&plan->x, CUDA_R_16BF, in, rows, in), "x layout"));
  SPECD_RETURN_IF_ERROR(CublasStatus(
      cublasLtMatrixLayoutCreate(&plan->y, f32_out ? CUDA_R_32F : CUDA_R_16BF, out, rows, out), "y layout"));
  cublasLtMatmulPreference_t preference = nullptr;
  SPECD_RETURN_IF_ERROR(CublasStatus(cublasLtMatmulPreferenceCreate(&preference), "preference"));
  const size_t workspace = workspace_.bytes();
  cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace,
                                       sizeof(workspace));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(handle_, plan->op, plan->w, plan->x, plan->y,
                                                               plan->y, preference, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(preference);
  SPECD_RETURN_IF_ERROR(CublasStatus(status, "cublasLtMatmulAlgoGetHeuristic"));
  if (found == 0) {
    return InternalError("cuBLASLt has no algorithm for a " + std::to_string(rows) + "x" + std::to_string(in) +
                         " by " + std::to_string(out) + "x" + std::to_string(in) + " product");
  }
  plan->algo = result.algo;
  const Plan* raw = plan.get();
  plans_.emplace(shape, std::move(plan));
  return raw;
}

Status LtGemm::Run(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y_bf16, float* y_f32,
                   int64_t rows, int64_t in, int64_t out, cudaStream_t stream) {
  if (rows == 0) return OkStatus();
  SPECD_ASSIGN_OR_RETURN(const Plan* plan, PlanFor({rows, in, out, y_f32 != nullptr}));
  const float alpha = 1.0f, beta = 0.0f;
  void* y = y_f32 != nullptr ? static_cast<void*>(y_f32) : static_cast<void*>(y_bf16);
  return CublasStatus(cublasLtMatmul(handle_, plan->op, &alpha, w, plan->w, x, plan->x, &beta, y, plan->y, y,
                                     plan->y, &plan->algo, workspace_.get(), workspace_.bytes(), stream),
                      "cublasLtMatmul");
}

}  // namespace specd
