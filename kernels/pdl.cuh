// Programmatic dependent launch (PDL, sm_90): a kernel launched with LaunchWithPdl may start while
// the kernel before it on the stream is still running, so its launch latency and whatever it does
// before WaitForPrerequisites (a skinny GEMM's first weight loads) hide behind that kernel's tail.
//
//   kernel n:    [ AllowDependentLaunch ... work ............ ]
//   kernel n+1:          [ prologue: constants only | WaitForPrerequisites | work ... ]
//
// Every kernel launched with LaunchWithPdl must call WaitForPrerequisites before it reads or
// writes memory that earlier kernels on the stream write or read: it returns once those kernels
// have finished and their writes are visible (at once when the launch was an ordinary one).
// AllowDependentLaunch lets the next kernel's CTAs be scheduled once every CTA of this one has
// called it or exited. Small kernels call it first thing; paged attention once its first K/V
// tiles are on their way (paged_attention_kernel.cuh); the skinny GEMM only after its main loop,
// unless it has two waves or more or leaves slots free for a product next (skinny_gemm.cu,
// EarlyDependents): dependents launched early hold SM slots and bandwidth while it streams its
// weights (Llama-3.1-8B shape, batch 1, H200: 5.31 ms a token triggering first in every product,
// 4.84 after the loop, 5.04 without PDL).
#pragma once

#include <cuda_runtime.h>

#include "kernels/pdl_switch.h"

namespace specd::kernels {

__device__ __forceinline__ void AllowDependentLaunch() { asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory"); }
__device__ __forceinline__ void WaitForPrerequisites() { asm volatile("griddepcontrol.wait;\n" ::: "memory"); }

// kernel<<<grid, block, smem, stream>>>(args...) as a programmatic dependent of the stream's
// previous kernel (an ordinary launch while pdl_switch.h has it off). Returns the launch's error.
template <typename... Params, typename... Args>
cudaError_t LaunchWithPdl(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                          Args... args) {
  cudaLaunchAttribute attribute = {};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = ProgrammaticDependentLaunchEnabled() ? 1 : 0;
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = 1;
  return cudaLaunchKernelEx(&config, kernel, static_cast<Params>(args)...);
}

}  // namespace specd::kernels
