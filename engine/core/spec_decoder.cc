#include "engine/core/spec_decoder.h"

#include <algorithm>

namespace specd {
namespace {

// Weight of the newest verification in a request's running acceptance.
constexpr double kAcceptanceSmoothing = 0.5;

}  // namespace

SpecDecoder::SpecDecoder(const SpecConfig& config, std::unique_ptr<Proposer> proposer,
                         int64_t max_model_len)
    : config_(config), proposer_(std::move(proposer)), max_model_len_(max_model_len) {}

void SpecDecoder::AdaptLength(Request& request) const {
  if (request.spec_length == 0) request.spec_length = config_.chunk_size;
  if (request.last_drafted == 0) return;
  const double rate = static_cast<double>(request.last_accepted) / request.last_drafted;
  request.spec_acceptance = (1 - kAcceptanceSmoothing) * request.spec_acceptance + kAcceptanceSmoothing * rate;
  request.spec_length = request.spec_acceptance < config_.acceptance_target
                            ? config_.fallback_chunk_size
                            : std::min(request.spec_length + 1, config_.max_spec_tokens);
  request.last_drafted = 0;
}

int32_t SpecDecoder::DraftLength(Request& request, size_t num_running) const {
  if (!request.spec_enabled || num_running > static_cast<size_t>(config_.max_batch_size)) return 0;
  AdaptLength(request);
  int64_t length = request.spec_length;
  if (request.spec_max_draft_tokens > 0) length = std::min<int64_t>(length, request.spec_max_draft_tokens);
  // Drafts plus the bonus token must fit in max_tokens and in the context.
  length = std::min<int64_t>(length, request.sampling.max_tokens - request.num_output_tokens() - 1);
  length = std::min<int64_t>(length, max_model_len_ - request.num_tokens() - 1);
  return static_cast<int32_t>(std::max<int64_t>(length, 0));
}

bool SpecDecoder::MayDraft(const Scheduler& scheduler) const {
  if (scheduler.num_running() > static_cast<size_t>(config_.max_batch_size)) return false;
  const std::vector<Request*>& running = scheduler.RunningRequests();
  return std::any_of(running.begin(), running.end(), [](const Request* request) { return request->spec_enabled; });
}

void SpecDecoder::ProposeDrafts(Scheduler& scheduler) {
  const std::vector<Request*> decoding = scheduler.DecodingRequests();
  std::vector<DraftRequest> wanted;
  for (Request* request : decoding) {
    // Drafts still waiting for a step that had no budget for them stay as they are.
    if (!request->draft_token_ids.empty()) continue;
    const int32_t length = DraftLength(*request, scheduler.num_running());
    if (length == 0 || !scheduler.AllocateDraftSlots(*request, length)) continue;
    wanted.push_back({request, length, scheduler.kv_cache().BlockTable(request->request_id)});
  }
  if (wanted.empty()) return;
  std::vector<Draft> drafts = proposer_->Propose(wanted);
  for (size_t i = 0; i < wanted.size(); ++i) {
    wanted[i].request->draft_token_ids = std::move(drafts[i].tokens);
    wanted[i].request->draft_probs = std::move(drafts[i].probs);
  }
}

}  // namespace specd
