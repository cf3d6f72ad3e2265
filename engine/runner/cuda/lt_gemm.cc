#include "engine/runner/cuda/lt_gemm.h"

#include <vector>

#include "kernels/skinny_gemm.h"

namespace specd {
namespace {

constexpr size_t kWorkspaceBytes = 32 << 20;
constexpr int kCandidateAlgos = 16;

std::string Describe(int64_t rows, int64_t in, int64_t out) {
  return "a " + std::to_string(rows) + "x" + std::to_string(in) + " by " + std::to_string(out) + "x" +
         std::to_string(in) + " product";
}

bool HasSplitK(const cublasLtMatmulAlgo_t& algo) {
  uint32_t splits = 1;
  size_t written = 0;
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splits, sizeof(splits), &written);
  return splits > 1;
}

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

  Status Describe(int64_t rows, int64_t in, int64_t out, bool f32_out) {
    SPECD_RETURN_IF_ERROR(CublasStatus(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "matmul desc"));
    const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof(transpose));
    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof(keep));
    // Column-major views: w is [in, out] (transposed by the op), x is [in, rows], y is [out, rows].
    SPECD_RETURN_IF_ERROR(CublasStatus(cublasLtMatrixLayoutCreate(&w, CUDA_R_16BF, in, out, in), "w layout"));
    SPECD_RETURN_IF_ERROR(CublasStatus(cublasLtMatrixLayoutCreate(&x, CUDA_R_16BF, in, rows, in), "x layout"));
    return CublasStatus(cublasLtMatrixLayoutCreate(&y, f32_out ? CUDA_R_32F : CUDA_R_16BF, out, rows, out), "y layout");
  }
};

LtGemm::LtGemm(bool batch_invariant, int64_t max_rows, bool fast_small)
    : batch_invariant_(batch_invariant), max_rows_(max_rows), fast_small_(fast_small && !batch_invariant) {}

StatusOr<std::unique_ptr<LtGemm>> LtGemm::Create(bool batch_invariant, int64_t max_rows, bool fast_small) {
  std::unique_ptr<LtGemm> gemm(new LtGemm(batch_invariant, max_rows, fast_small));
  SPECD_RETURN_IF_ERROR(CublasStatus(cublasLtCreate(&gemm->handle_), "cublasLtCreate"));
  SPECD_RETURN_IF_ERROR(gemm->workspace_.Allocate(kWorkspaceBytes, "the cuBLASLt workspace"));
  return gemm;
}

LtGemm::~LtGemm() {
  plans_.clear();
  if (handle_) cublasLtDestroy(handle_);
}

// cuBLASLt's heuristic candidates for the plan's shape, best first (split-K-free ones only in
// batch-invariant mode).
StatusOr<std::vector<cublasLtMatmulAlgo_t>> LtGemm::Candidates(const Plan& plan, const Shape& shape) {
  const auto [rows, in, out, f32_out] = shape;
  cublasLtMatmulPreference_t preference = nullptr;
  SPECD_RETURN_IF_ERROR(CublasStatus(cublasLtMatmulPreferenceCreate(&preference), "preference"));
  const size_t workspace = workspace_.bytes();
  cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace,
                                       sizeof(workspace));
  std::vector<cublasLtMatmulHeuristicResult_t> results(kCandidateAlgos);
  int found = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(handle_, plan.op, plan.w, plan.x, plan.y, plan.y,
                                                               preference, kCandidateAlgos, results.data(), &found);
  cublasLtMatmulPreferenceDestroy(preference);
  SPECD_RETURN_IF_ERROR(CublasStatus(status, "cublasLtMatmulAlgoGetHeuristic"));
  std::vector<cublasLtMatmulAlgo_t> candidates;
  for (int i = 0; i < found; ++i) {
    const cublasLtMatmulAlgo_t& algo = results[static_cast<size_t>(i)].algo;
    if (!batch_invariant_ || !HasSplitK(algo)) candidates.push_back(algo);
  }
  if (candidates.empty()) {
    return InternalError("cuBLASLt has no " + std::string(batch_invariant_ ? "split-K-free " : "") +
                         "algorithm for " + Describe(rows, in, out));
  }
  return candidates;
}

// The candidate with the least time over a few runs on the real operands (the output is
// overwritten by the real product right after).
StatusOr<cublasLtMatmulAlgo_t> LtGemm::Fastest(const Plan& plan, const std::vector<cublasLtMatmulAlgo_t>& candidates,
                                               const Operands& operands) {
  constexpr int kRuns = 5;
  cudaEvent_t start = nullptr, stop = nullptr;
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventCreate(&start), "creating a timing event"));
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventCreate(&stop), "creating a timing event"));
  cublasLtMatmulAlgo_t best = candidates.front();
  float best_ms = -1.0f;
  for (const cublasLtMatmulAlgo_t& algo : candidates) {
    bool ran = Matmul(plan, algo, operands).ok();  // warm-up; a candidate may refuse the operands
    cudaEventRecord(start, operands.stream);
    for (int i = 0; i < kRuns && ran; ++i) ran = Matmul(plan, algo, operands).ok();
    cudaEventRecord(stop, operands.stream);
    float ms = 0.0f;
    if (cudaEventSynchronize(stop) != cudaSuccess || cudaEventElapsedTime(&ms, start, stop) != cudaSuccess || !ran) {
      continue;
    }
    if (best_ms < 0 || ms < best_ms) {
      best = algo;
      best_ms = ms;
    }
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return best;
}

// One algorithm per (in, out, output type), chosen for the largest row count and checked for
// each smaller one.
StatusOr<cublasLtMatmulAlgo_t> LtGemm::InvariantAlgo(const Shape& shape) {
  const auto [rows, in, out, f32_out] = shape;
  const Shape key{0, in, out, f32_out};
  if (auto it = invariant_algos_.find(key); it != invariant_algos_.end()) return it->second;
  Plan largest;
  SPECD_RETURN_IF_ERROR(largest.Describe(max_rows_, in, out, f32_out));
  SPECD_ASSIGN_OR_RETURN(const auto candidates, Candidates(largest, {max_rows_, in, out, f32_out}));
  invariant_algos_.emplace(key, candidates.front());
  return candidates.front();
}

StatusOr<const LtGemm::Plan*> LtGemm::PlanFor(const Shape& shape, const Operands& operands) {
  if (auto it = plans_.find(shape); it != plans_.end()) return it->second.get();
  const auto [rows, in, out, f32_out] = shape;
  auto plan = std::make_unique<Plan>();
  SPECD_RETURN_IF_ERROR(plan->Describe(rows, in, out, f32_out));
  if (batch_invariant_) {
    SPECD_ASSIGN_OR_RETURN(plan->algo, InvariantAlgo(shape));
    cublasLtMatmulHeuristicResult_t check{};
    SPECD_RETURN_IF_ERROR(CublasStatus(cublasLtMatmulAlgoCheck(handle_, plan->op, plan->w, plan->x, plan->y, plan->y,
                                                               &plan->algo, &check),
                                       "the batch-invariant algorithm for " + Describe(rows, in, out)));
  } else {
    SPECD_ASSIGN_OR_RETURN(const auto candidates, Candidates(*plan, shape));
    plan->algo = candidates.front();
    if (fast_small_ && rows <= kTunedRows && candidates.size() > 1) {
      SPECD_ASSIGN_OR_RETURN(plan->algo, Fastest(*plan, candidates, operands));
    }
  }
  const Plan* raw = plan.get();
  plans_.emplace(shape, std::move(plan));
  return raw;
}

Status LtGemm::Matmul(const Plan& plan, const cublasLtMatmulAlgo_t& algo, const Operands& operands) {
  const float alpha = 1.0f, beta = 0.0f;
  return CublasStatus(cublasLtMatmul(handle_, plan.op, &alpha, operands.w, plan.w, operands.x, plan.x, &beta,
                                     operands.y, plan.y, operands.y, plan.y, &algo, workspace_.get(),
                                     workspace_.bytes(), operands.stream),
                      "cublasLtMatmul");
}

Status LtGemm::Run(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y_bf16, float* y_f32,
                   int64_t rows, int64_t in, int64_t out, cudaStream_t stream) {
  if (rows == 0) return OkStatus();
  if (rows > max_rows_) {
    return InvalidArgumentError(Describe(rows, in, out) + " has more than the " + std::to_string(max_rows_) +
                                " rows LtGemm was sized for");
  }
  const kernels::SkinnyGemmParams skinny{x, w, y_bf16, y_f32, static_cast<int>(rows), static_cast<int>(in),
                                         static_cast<int>(out)};
  if (fast_small_ && kernels::SkinnyGemmSupports(skinny)) {
    return CudaStatus(kernels::LaunchSkinnyGemm(skinny, stream), "the skinny GEMM for " + Describe(rows, in, out));
  }
  void* y = y_f32 != nullptr ? static_cast<void*>(y_f32) : static_cast<void*>(y_bf16);
  const Operands operands{x, w, y, stream};
  SPECD_ASSIGN_OR_RETURN(const Plan* plan, PlanFor({rows, in, out, y_f32 != nullptr}, operands));
  return Matmul(*plan, plan->algo, operands);
}

}  // namespace specd
