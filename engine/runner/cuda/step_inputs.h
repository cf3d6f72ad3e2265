// StepInputs: a CUDA runner step's metadata (token ids, positions, KV slots, sequences, logits
// rows, fed tokens' rows, block tables), packed on the host in pinned memory and uploaded to the
// device in one copy.
// The arrays' capacity and the block tables' row stride are the step's Shape: exactly the batch
// for an eager step, or a CUDA-graph bucket, whose padding tokens compute garbage that nothing
// reads and write nothing to the KV cache:
//
//   pinned host / device bytes (C = capacity, W = table stride, S = sequences):
//   | slots[C] (int64) | token_ids[C] | positions[C] | token_seq[C] | logit_rows[C] | fed_rows[C] |
//   | block_tables[S][W] |
//
// fed_rows[t]: for a token fed from the previous step (ScheduledSequence::fed_from_sequence), the
// row of that step's sampled tokens on the device that holds it; -1 otherwise.
//
// The device pointers depend on the shape only, never on the batch, so a captured CUDA graph
// reads each step's inputs from the same addresses. Two host buffers, used in turn, so that a
// step can be packed while the one before it runs: Pack must not run while the copy of the
// Upload two Packs before is in flight (the runner has at most two steps in flight and waits for
// the older one's end first). Owned by the CUDA runner (engine thread).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <cuda_runtime.h>

#include "engine/base/status.h"
#include "engine/runner/cuda/device_buffer.h"
#include "engine/runner/model_runner.h"

namespace specd {

class StepInputs {
 public:
  struct Shape {
    int64_t capacity = 0;      // tokens (and logits rows) the arrays hold: >= the batch's tokens
    int64_t table_stride = 0;  // entries per block-table row: >= the batch's longest table
    bool operator==(const Shape&) const = default;
  };
  // Consecutive tokens whose attention one kernel computes.
  struct AttentionRun {
    int64_t first = 0;
    int64_t count = 0;
    bool tensor_cores = false;  // prompt chunks; otherwise decode / verify tokens (split-KV)
  };

  // Room for steps of up to max_tokens tokens and tables of up to max_table_stride entries.
  static StatusOr<std::unique_ptr<StepInputs>> Create(int64_t max_tokens, int64_t max_table_stride);
  StepInputs(const StepInputs&) = delete;
  StepInputs& operator=(const StepInputs&) = delete;

  // The smallest shape that holds the batch exactly (an eager step).
  static Shape ExactShape(const SchedulerOutput& batch);

  // Packs the batch into `shape` (which must hold it and fit Create's limits). Sequences with at
  // least tensor_core_tokens new tokens get tensor-core attention runs (0: never); padding tokens
  // join the last split-KV run. fed_rows_by_sequence: for each sequence of the previous step, the
  // device row of the token it sampled (read for fed sequences only, which must name one >= 0).
  void Pack(const SchedulerOutput& batch, int64_t block_size, Shape shape, int64_t tensor_core_tokens,
            std::span<const int32_t> fed_rows_by_sequence = {});
  // One host-to-device copy of the packed bytes, on `stream`.
  Status Upload(cudaStream_t stream) const;

  const Shape& shape() const { return shape_; }
  int64_t num_rows() const { return num_rows_; }  // logits rows the batch asked for
  const std::vector<AttentionRun>& attention_runs() const { return runs_; }

  // Device arrays of the current shape (valid after Upload).
  const int* token_ids() const { return DeviceArray<int>(Array::kTokenIds); }
  const int* positions() const { return DeviceArray<int>(Array::kPositions); }
  const int* token_seq() const { return DeviceArray<int>(Array::kTokenSeq); }
  const int* logit_rows() const { return DeviceArray<int>(Array::kLogitRows); }
  const int* fed_rows() const { return DeviceArray<int>(Array::kFedRows); }
  const int64_t* slots() const { return DeviceArray<int64_t>(Array::kSlots); }
  const int* block_tables() const { return DeviceArray<int>(Array::kBlockTables); }

 private:
  enum class Array { kSlots, kTokenIds, kPositions, kTokenSeq, kLogitRows, kFedRows, kBlockTables };

  StepInputs(int64_t max_tokens, int64_t max_table_stride);
  // Byte offset of an array in the current shape's layout.
  int64_t Offset(Array array) const;
  template <typename T>
  T* HostArray(Array array) const {
    return reinterpret_cast<T*>(host_[host_index_].get() + Offset(array));
  }
  template <typename T>
  const T* DeviceArray(Array array) const {
    return reinterpret_cast<const T*>(device_.get() + Offset(array));
  }
  void AddAttentionRun(int64_t first, int64_t count, bool tensor_cores);

  int64_t max_tokens_;
  int64_t max_table_stride_;
  PinnedBuffer<uint8_t> host_[2];  // each as large as device_; Pack takes them in turn
  int host_index_ = 0;             // the one the last Pack filled
  DeviceBuffer<uint8_t> device_;
  Shape shape_;
  int64_t num_tokens_ = 0;
  int64_t num_rows_ = 0;
  int64_t num_sequences_ = 0;
  std::vector<AttentionRun> runs_;
};

}  // namespace specd
