#include "engine/spec/draft_model_proposer.h"

#include "engine/base/logging.h"
#include "engine/sampling/sampler.h"

namespace specd {
namespace {

// The draft's random stream for a request: a different seed, so that its draws are independent
// of the target's (Sampler::Uniform mixes the seed before use).
constexpr uint64_t kDraftSeedSalt = 0xD1B54A32D192ED03ull;

}  // namespace

DraftModelProposer::DraftModelProposer(std::unique_ptr<ModelRunner> draft_runner,
                                       std::vector<int32_t> eos_token_ids)
    : runner_(std::move(draft_runner)), eos_token_ids_(std::move(eos_token_ids)) {}

std::optional<ModelOutput> DraftModelProposer::Run(const SchedulerOutput& batch) {
  auto output = runner_->Execute(batch);
  if (!output.ok()) {
    GetLogger("spec")->error("draft model step failed, no drafts this step: {}", output.status().ToString());
    return std::nullopt;
  }
  return std::move(output).value();
}

// The request's sampling row for the draft's next token: the draft sees its earlier drafts as
// output so far (penalties, min_tokens). `history` must outlive the row.
SamplingRow DraftModelProposer::DraftRow(const Request& request, const Draft& draft,
                                         std::vector<int32_t>& history) const {
  history = request.output_token_ids;
  history.insert(history.end(), draft.tokens.begin(), draft.tokens.end());
  return SamplingRow{.logits = {},
                     .params = &request.sampling,
                     .seed = request.seed ^ kDraftSeedSalt,
                     .prompt_token_ids = request.prompt_token_ids,
                     .output_token_ids = history,
                     .eos_token_ids = eos_token_ids_};
}

// A sampled request's draft token drawn on the host, with the distribution q it came from.
void DraftModelProposer::Draw(const float* logits, int64_t vocab, const Request& request, Draft& draft) const {
  std::vector<int32_t> history;
  SamplingRow row = DraftRow(request, draft, history);
  row.logits = std::span<const float>(logits, static_cast<size_t>(vocab));
  draft.tokens.push_back(Sampler::Sample(row).token);
  const std::vector<float> q = Sampler::Probabilities(row);
  draft.probs.insert(draft.probs.end(), q.begin(), q.end());
}

// Greedy requests' draft tokens are sampled by the runner (on the GPU for the CUDA runner, whose
// logits then need not come to the host); sampled requests need q too, so theirs are drawn here.
void DraftModelProposer::AddSampling(std::span<const DraftRequest> requests, const std::vector<Draft>& drafts,
                                     const std::vector<size_t>& active, SchedulerOutput& batch,
                                     std::vector<std::vector<int32_t>>& histories) const {
  histories.assign(active.size(), {});
  for (size_t row = 0; row < active.size(); ++row) {
    const size_t i = active[row];
    const Request& request = *requests[i].request;
    if (request.sampling.greedy()) batch.sequences[row].sampling = DraftRow(request, drafts[i], histories[row]);
  }
}

std::vector<Draft> DraftModelProposer::Propose(std::span<const DraftRequest> requests) {
  std::vector<Draft> drafts(requests.size());
  // Pass 1: catch up on the tokens the draft has not seen, and draw the first draft.
  SchedulerOutput batch;
  for (const DraftRequest& dr : requests) {
    const Request& request = *dr.request;
    SPECD_CHECK(request.draft_num_computed < request.num_tokens())
        << request.request_id << ": the draft model is ahead of the request";
    ScheduledSequence seq;
    seq.token_ids = std::span<const int32_t>(request.all_token_ids).subspan(static_cast<size_t>(request.draft_num_computed));
    seq.start_position = request.draft_num_computed;
    seq.block_table = dr.block_table;
    seq.logits_indices = {static_cast<int32_t>(seq.token_ids.size()) - 1};
    batch.sequences.push_back(seq);
  }
  std::vector<size_t> active(requests.size());
  for (size_t i = 0; i < active.size(); ++i) active[i] = i;
  std::vector<std::vector<int32_t>> histories;  // the sampling rows' output so far, per row
  for (int32_t pass = 0; !active.empty(); ++pass) {
    AddSampling(requests, drafts, active, batch, histories);
    auto output = Run(batch);
    if (!output) return std::vector<Draft>(requests.size());
    for (size_t row = 0; row < active.size(); ++row) {
      const size_t i = active[row];
      Request& request = *requests[i].request;
      if (batch.sequences[row].sampling.has_value()) {
        drafts[i].tokens.push_back(output->sampled[row].at(0).token);
      } else {
        Draw(output->row(static_cast<int64_t>(row)), output->vocab_size, request, drafts[i]);
      }
      request.draft_num_computed = request.num_tokens() + pass;
    }
    // Next pass: each request still short of its length feeds its newest draft.
    std::vector<size_t> next;
    batch.sequences.clear();
    for (const size_t i : active) {
      if (static_cast<int32_t>(drafts[i].tokens.size()) >= requests[i].max_tokens) continue;
      ScheduledSequence seq;
      seq.token_ids = std::span<const int32_t>(&drafts[i].tokens.back(), 1);
      seq.start_position = requests[i].request->num_tokens() + pass;
      seq.block_table = requests[i].block_table;
      seq.logits_indices = {0};
      batch.sequences.push_back(seq);
      next.push_back(i);
    }
    active = std::move(next);
  }
  return drafts;
}

Status CheckDraftMatchesTarget(const std::string& draft_dir, const ModelConfig& draft_config,
                               const Tokenizer& draft_tokenizer, const std::string& target_dir,
                               const ModelConfig& target_config, const Tokenizer& target_tokenizer) {
  const std::string pair = "draft model " + draft_dir + " and target " + target_dir;
  if (draft_config.vocab_size != target_config.vocab_size ||
      draft_tokenizer.vocab_size() != target_tokenizer.vocab_size()) {
    return InvalidArgumentError(pair + " have different vocabularies (" +
                                std::to_string(draft_config.vocab_size) + " vs " +
                                std::to_string(target_config.vocab_size) + " tokens)");
  }
  for (int32_t id = 0; id < target_tokenizer.vocab_size(); ++id) {
    if (draft_tokenizer.IdToToken(id) != target_tokenizer.IdToToken(id)) {
      return InvalidArgumentError(pair + " have different tokenizers: token " + std::to_string(id) +
                                  " is '" + draft_tokenizer.IdToToken(id).value_or("") + "' vs '" +
                                  target_tokenizer.IdToToken(id).value_or("") + "'");
    }
  }
  return OkStatus();
}

}  // namespace specd
