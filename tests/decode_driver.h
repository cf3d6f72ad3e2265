// DecodeDriver: runs sequences through a ModelRunner the way the engine does (one prefill step,
// then single-token decode steps), either synchronously (each step launched after the one before
// it was collected, its tokens from the host) or overlapped (model_runner.h: each decode step
// launched before the one before it is collected, its tokens fed from that step's sampling), and
// returns every sequence's sampled tokens. The two must agree token for token.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/base/status.h"
#include "engine/runner/model_runner.h"

namespace specd::testing {

struct DecodeSequence {
  std::vector<int32_t> prompt;
  std::vector<int32_t> block_table;  // room for the prompt and every decode step
  SamplingParams sampling;
  uint64_t seed = 0;
};

class DecodeDriver {
 public:
  explicit DecodeDriver(std::vector<DecodeSequence> sequences) : sequences_(std::move(sequences)) {}

  // The prefill's token and decode_steps more, per sequence. Precondition: no step in flight.
  StatusOr<std::vector<std::vector<int32_t>>> RunSynchronous(ModelRunner& runner, int decode_steps) const;
  StatusOr<std::vector<std::vector<int32_t>>> RunOverlapped(ModelRunner& runner, int decode_steps) const;

 private:
  SchedulerOutput PrefillStep() const;
  // Each sequence brings the last token of its output so far (outputs[s]); fed: that token is
  // a placeholder, fed from the previous step's same sequence.
  SchedulerOutput DecodeStep(const std::vector<std::vector<int32_t>>& outputs, bool fed) const;
  // Sequence s sampling one token after `output` (its history, the RNG's counter).
  ScheduledSequence Sampled(size_t s, std::span<const int32_t> output) const;

  std::vector<DecodeSequence> sequences_;
};

}  // namespace specd::testing
