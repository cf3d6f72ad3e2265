// Activation functions shared by the elementwise kernels and the skinny GEMM's fused epilogue, so
// that both give the same bits.
#pragma once

namespace specd::kernels {

// silu(g) = g * sigmoid(g), in fp32 with the accurate expf; large negative g gives -0, not NaN.
__device__ __forceinline__ float Silu(float g) { return g / (1.0f + expf(-g)); }

}  // namespace specd::kernels
