#include "engine/runner/cuda/cuda_graph_cache.h"

#include <string>

#include "engine/runner/cuda/cuda_status.h"

namespace specd {
namespace {

std::string Name(const CudaGraphCache::Key& key) {
  return "the CUDA graph for " + std::to_string(key.first) + " tokens, tables of " + std::to_string(key.second);
}

}  // namespace

CudaGraphCache::~CudaGraphCache() {
  for (auto& [key, exec] : graphs_) cudaGraphExecDestroy(exec);
}

Status CudaGraphCache::Capture(const Key& key, cudaStream_t stream, const std::function<Status()>& enqueue) {
  // Thread-local mode: other threads' CUDA calls (none today) cannot invalidate the capture.
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal),
                                   "starting to capture " + Name(key)));
  const Status enqueued = enqueue();
  cudaGraph_t graph = nullptr;
  // Capture must end whether or not enqueueing worked, or the stream stays in capture mode.
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  if (!enqueued.ok()) {
    if (graph != nullptr) cudaGraphDestroy(graph);
    return enqueued;
  }
  SPECD_RETURN_IF_ERROR(CudaStatus(ended, "capturing " + Name(key)));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t instantiated = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  SPECD_RETURN_IF_ERROR(CudaStatus(instantiated, "instantiating " + Name(key)));
  graphs_[key] = exec;
  return OkStatus();
}

Status CudaGraphCache::Launch(const Key& key, cudaStream_t stream) const {
  return CudaStatus(cudaGraphLaunch(graphs_.at(key), stream), "replaying " + Name(key));
}

}  // namespace specd
