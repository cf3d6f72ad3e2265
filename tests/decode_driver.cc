#include "tests/decode_driver.h"

#include <string>

namespace specd::testing {
namespace {

// Each sequence's one sampled token; INTERNAL unless each sampled exactly one.
StatusOr<std::vector<int32_t>> OneTokenEach(const StatusOr<ModelOutput>& output, size_t sequences) {
  SPECD_RETURN_IF_ERROR(output.status());
  if (output->sampled.size() != sequences) return InternalError("the step sampled for the wrong number of sequences");
  std::vector<int32_t> tokens;
  for (const auto& sampled : output->sampled) {
    if (sampled.size() != 1) return InternalError("a sequence sampled " + std::to_string(sampled.size()) + " tokens");
    tokens.push_back(sampled.front().token);
  }
  return tokens;
}

}  // namespace

ScheduledSequence DecodeDriver::Sampled(size_t s, std::span<const int32_t> output) const {
  const DecodeSequence& sequence = sequences_[s];
  ScheduledSequence seq;
  seq.block_table = sequence.block_table;
  seq.sampling = SamplingRow{.logits = {}, .params = &sequence.sampling, .seed = sequence.seed,
                             .prompt_token_ids = sequence.prompt, .output_token_ids = output, .eos_token_ids = {}};
  return seq;
}

SchedulerOutput DecodeDriver::PrefillStep() const {
  SchedulerOutput batch;
  for (size_t s = 0; s < sequences_.size(); ++s) {
    ScheduledSequence seq = Sampled(s, {});
    seq.token_ids = sequences_[s].prompt;
    seq.logits_indices = {static_cast<int32_t>(sequences_[s].prompt.size() - 1)};
    batch.sequences.push_back(seq);
  }
  return batch;
}

SchedulerOutput DecodeDriver::DecodeStep(const std::vector<std::vector<int32_t>>& outputs, bool fed) const {
  SchedulerOutput batch;
  for (size_t s = 0; s < sequences_.size(); ++s) {
    ScheduledSequence seq = Sampled(s, outputs[s]);
    seq.token_ids = std::span<const int32_t>(outputs[s]).last(1);
    seq.start_position = static_cast<int64_t>(sequences_[s].prompt.size() + outputs[s].size() - 1);
    seq.logits_indices = {0};
    if (fed) seq.fed_from_sequence = static_cast<int32_t>(s);
    batch.sequences.push_back(seq);
  }
  return batch;
}

StatusOr<std::vector<std::vector<int32_t>>> DecodeDriver::RunSynchronous(ModelRunner& runner, int decode_steps) const {
  std::vector<std::vector<int32_t>> outputs(sequences_.size());
  for (int step = 0; step <= decode_steps; ++step) {
    const SchedulerOutput batch = step == 0 ? PrefillStep() : DecodeStep(outputs, /*fed=*/false);
    SPECD_ASSIGN_OR_RETURN(const std::vector<int32_t> tokens, OneTokenEach(runner.Execute(batch), sequences_.size()));
    for (size_t s = 0; s < outputs.size(); ++s) outputs[s].push_back(tokens[s]);
  }
  return outputs;
}

// Each sequence's output ends in placeholders for the tokens of the steps in flight.
StatusOr<std::vector<std::vector<int32_t>>> DecodeDriver::RunOverlapped(ModelRunner& runner, int decode_steps) const {
  std::vector<std::vector<int32_t>> outputs(sequences_.size());
  SPECD_RETURN_IF_ERROR(runner.Launch(PrefillStep()));
  for (auto& output : outputs) output.push_back(0);
  for (int step = 0; step <= decode_steps; ++step) {
    if (step < decode_steps) {
      SPECD_RETURN_IF_ERROR(runner.Launch(DecodeStep(outputs, /*fed=*/true)));
      for (auto& output : outputs) output.push_back(0);
    }
    SPECD_ASSIGN_OR_RETURN(const std::vector<int32_t> tokens, OneTokenEach(runner.Collect(), sequences_.size()));
    const size_t in_flight = step < decode_steps ? 1 : 0;  // the step launched after the collected one
    for (size_t s = 0; s < outputs.size(); ++s) outputs[s][outputs[s].size() - 1 - in_flight] = tokens[s];
  }
  return outputs;
}

}  // namespace specd::testing
