#include "server/generation_service.h"

#include "server/generate_call.h"
#include "server/status_mapping.h"

namespace specd {
namespace {

// A stream that ends at once with `status` (used while the model loads).
class RefusedStream : public grpc::ServerWriteReactor<v1::GenerateResponse> {
 public:
  explicit RefusedStream(const Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context, const Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

grpc::ServerWriteReactor<v1::GenerateResponse>* GenerationService::Generate(
    grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  if (!serving_.ready()) {
    serving_.observer->OnRejected(serving_.NotReadyStatus());
    return new RefusedStream(serving_.NotReadyStatus());
  }
  return new GenerateCall(context, request, serving_);
}

grpc::ServerUnaryReactor* GenerationService::Tokenize(grpc::CallbackServerContext* context,
                                                      const v1::TokenizeRequest* request,
                                                      v1::TokenizeResponse* response) {
  if (!serving_.ready()) return Reply(context, serving_.NotReadyStatus());
  const bool add_special = !request->has_add_special_tokens() || request->add_special_tokens();
  auto ids = serving_.tokenizer->Encode(request->text(), add_special);
  if (!ids.ok()) return Reply(context, ids.status().WithContext("text"));
  response->mutable_token_ids()->Assign(ids->begin(), ids->end());
  return Reply(context, OkStatus());
}

grpc::ServerUnaryReactor* GenerationService::Detokenize(grpc::CallbackServerContext* context,
                                                        const v1::DetokenizeRequest* request,
                                                        v1::DetokenizeResponse* response) {
  if (!serving_.ready()) return Reply(context, serving_.NotReadyStatus());
  const std::vector<int32_t> ids(request->token_ids().begin(), request->token_ids().end());
  const bool skip_special = !request->has_skip_special_tokens() || request->skip_special_tokens();
  auto text = serving_.tokenizer->Decode(ids, skip_special);
  if (!text.ok()) return Reply(context, text.status().WithContext("token_ids"));
  response->set_text(*text);
  return Reply(context, OkStatus());
}

}  // namespace specd
