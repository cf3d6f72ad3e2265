#include "engine/runner/cuda/step_inputs.h"

#include <algorithm>

#include "engine/base/logging.h"

namespace specd {
namespace {

// Bytes per token of the per-token arrays: one int64 and five int32.
constexpr int64_t kTokenBytes = sizeof(int64_t) + 5 * sizeof(int32_t);

int64_t TableBytes(int64_t rows, int64_t stride) { return rows * stride * static_cast<int64_t>(sizeof(int32_t)); }

}  // namespace

StatusOr<std::unique_ptr<StepInputs>> StepInputs::Create(int64_t max_tokens, int64_t max_table_stride) {
  std::unique_ptr<StepInputs> inputs(new StepInputs(max_tokens, max_table_stride));
  // At most one sequence per token, so max_tokens block-table rows.
  const int64_t bytes = max_tokens * kTokenBytes + TableBytes(max_tokens, max_table_stride);
  SPECD_RETURN_IF_ERROR(inputs->device_.Allocate(static_cast<size_t>(bytes), "step inputs"));
  for (PinnedBuffer<uint8_t>& host : inputs->host_) {
    SPECD_RETURN_IF_ERROR(host.Allocate(static_cast<size_t>(bytes), "step inputs"));
  }
  return inputs;
}

StepInputs::StepInputs(int64_t max_tokens, int64_t max_table_stride)
    : max_tokens_(max_tokens), max_table_stride_(max_table_stride) {}

StepInputs::Shape StepInputs::ExactShape(const SchedulerOutput& batch) {
  Shape shape;
  for (const ScheduledSequence& seq : batch.sequences) {
    shape.capacity += static_cast<int64_t>(seq.token_ids.size());
    shape.table_stride = std::max(shape.table_stride, static_cast<int64_t>(seq.block_table.size()));
  }
  return shape;
}

int64_t StepInputs::Offset(Array array) const {
  const int64_t c = shape_.capacity;
  switch (array) {
    case Array::kSlots: return 0;  // first: 8-byte aligned
    case Array::kTokenIds: return 8 * c;
    case Array::kPositions: return 12 * c;
    case Array::kTokenSeq: return 16 * c;
    case Array::kLogitRows: return 20 * c;
    case Array::kFedRows: return 24 * c;
    case Array::kBlockTables: return kTokenBytes * c;
  }
  return 0;
}

void StepInputs::AddAttentionRun(int64_t first, int64_t count, bool tensor_cores) {
  if (count == 0) return;
  if (!runs_.empty() && runs_.back().tensor_cores == tensor_cores) {
    runs_.back().count += count;
  } else {
    runs_.push_back({first, count, tensor_cores});
  }
}

void StepInputs::Pack(const SchedulerOutput& batch, int64_t block_size, Shape shape, int64_t tensor_core_tokens,
                      std::span<const int32_t> fed_rows_by_sequence) {
  const Shape exact = ExactShape(batch);
  SPECD_CHECK(exact.capacity <= shape.capacity && shape.capacity <= max_tokens_ &&
              exact.table_stride <= shape.table_stride && shape.table_stride <= max_table_stride_)
      << "step shape " << shape.capacity << " x " << shape.table_stride << " for a batch of " << exact.capacity
      << " tokens and tables of " << exact.table_stride;
  shape_ = shape;
  host_index_ = 1 - host_index_;
  num_tokens_ = 0;
  num_rows_ = 0;
  num_sequences_ = static_cast<int64_t>(batch.sequences.size());
  runs_.clear();
  int32_t* token_ids = HostArray<int32_t>(Array::kTokenIds);
  int32_t* positions = HostArray<int32_t>(Array::kPositions);
  int32_t* token_seq = HostArray<int32_t>(Array::kTokenSeq);
  int32_t* logit_rows = HostArray<int32_t>(Array::kLogitRows);
  int32_t* fed_rows = HostArray<int32_t>(Array::kFedRows);
  int64_t* slots = HostArray<int64_t>(Array::kSlots);
  int32_t* tables = HostArray<int32_t>(Array::kBlockTables);
  for (size_t s = 0; s < batch.sequences.size(); ++s) {
    const ScheduledSequence& seq = batch.sequences[s];
    const int64_t first_token = num_tokens_;
    for (size_t i = 0; i < seq.token_ids.size(); ++i, ++num_tokens_) {
      const int64_t position = seq.start_position + static_cast<int64_t>(i);
      token_ids[num_tokens_] = seq.token_ids[i];
      positions[num_tokens_] = static_cast<int32_t>(position);
      token_seq[num_tokens_] = static_cast<int32_t>(s);
      fed_rows[num_tokens_] =
          seq.fed_from_sequence < 0 ? -1 : fed_rows_by_sequence[static_cast<size_t>(seq.fed_from_sequence)];
      slots[num_tokens_] = static_cast<int64_t>(seq.block_table[static_cast<size_t>(position / block_size)]) * block_size +
                           position % block_size;
    }
    const auto count = static_cast<int64_t>(seq.token_ids.size());
    AddAttentionRun(first_token, count, tensor_core_tokens > 0 && count >= tensor_core_tokens);
    int32_t* row = tables + static_cast<int64_t>(s) * shape.table_stride;
    std::fill(std::copy(seq.block_table.begin(), seq.block_table.end(), row), row + shape.table_stride, 0);
    for (int32_t index : seq.logits_indices) logit_rows[num_rows_++] = static_cast<int32_t>(first_token + index);
  }
  // Padding: token 0 at position 0 of sequence 0, no KV write (slot -1), logits of row 0.
  std::fill(token_ids + num_tokens_, token_ids + shape.capacity, 0);
  std::fill(positions + num_tokens_, positions + shape.capacity, 0);
  std::fill(token_seq + num_tokens_, token_seq + shape.capacity, 0);
  std::fill(fed_rows + num_tokens_, fed_rows + shape.capacity, -1);
  std::fill(slots + num_tokens_, slots + shape.capacity, -1);
  std::fill(logit_rows + num_rows_, logit_rows + shape.capacity, 0);
  AddAttentionRun(num_tokens_, shape.capacity - num_tokens_, false);
}

Status StepInputs::Upload(cudaStream_t stream) const {
  const int64_t bytes = Offset(Array::kBlockTables) + TableBytes(num_sequences_, shape_.table_stride);
  return CudaStatus(cudaMemcpyAsync(device_.get(), host_[host_index_].get(), static_cast<size_t>(bytes),
                                    cudaMemcpyHostToDevice, stream),
                    "uploading the step's inputs");
}

}  // namespace specd
