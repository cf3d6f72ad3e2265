// CudaGraphCache: CUDA graphs of the CUDA runner's forward pass, one per step shape (tokens
// padded to a bucket, block-table stride), captured once and replayed. Capture records the work
// a callback enqueues on the runner's stream without running it; the callback must enqueue the
// same work for every batch of that shape, reading its inputs from fixed device addresses
// (step_inputs.h). Engine thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include <cuda_runtime.h>

#include "engine/base/status.h"

namespace specd {

class CudaGraphCache {
 public:
  using Key = std::pair<int64_t, int64_t>;  // (token capacity, table stride)

  CudaGraphCache() = default;
  ~CudaGraphCache();
  CudaGraphCache(const CudaGraphCache&) = delete;
  CudaGraphCache& operator=(const CudaGraphCache&) = delete;

  bool Has(const Key& key) const { return graphs_.count(key) > 0; }
  // A shape whose capture failed runs eagerly from then on (the failure is logged once).
  bool Failed(const Key& key) const { return failed_.count(key) > 0; }
  void MarkFailed(const Key& key) { failed_.insert(key); }
  // Captures what `enqueue` puts on `stream` as the graph of `key`. The stream must be idle of
  // other captures; work already queued on it is not part of the graph.
  Status Capture(const Key& key, cudaStream_t stream, const std::function<Status()>& enqueue);
  // Replays the graph of `key` (Has(key)) on `stream`.
  Status Launch(const Key& key, cudaStream_t stream) const;
  size_t size() const { return graphs_.size(); }

 private:
  std::map<Key, cudaGraphExec_t> graphs_;
  std::set<Key> failed_;
};

}  // namespace specd
