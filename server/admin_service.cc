#include "server/admin_service.h"

#include "server/status_mapping.h"

namespace specd {
namespace {

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context, const Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::GetModelInfo(grpc::CallbackServerContext* context,
                                                     const v1::GetModelInfoRequest*,
                                                     v1::ModelInfo* response) {
  if (!serving_.accepting) return Reply(context, serving_.NotReadyStatus());
  const ModelConfig& model = *serving_.model;
  response->set_model_path(identity_.model_path);
  response->set_architecture(ArchitectureName(model.architecture));
  response->set_context_length(static_cast<uint32_t>(model.max_position_embeddings));
  response->set_vocab_size(static_cast<uint32_t>(model.vocab_size));
  response->mutable_eos_token_ids()->Assign(model.eos_token_ids.begin(), model.eos_token_ids.end());
  response->set_dtype(model.torch_dtype);
  response->set_runner(identity_.runner);
  response->set_draft_model_path(serving_.draft_model_path);
  return Reply(context, OkStatus());
}

grpc::ServerUnaryReactor* AdminService::GetServerInfo(grpc::CallbackServerContext* context,
                                                      const v1::GetServerInfoRequest*,
                                                      v1::ServerInfo* response) {
  response->set_version(identity_.version);
  response->set_effective_config_json(identity_.effective_config_json);
  response->set_uptime_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - identity_.started).count());
  return Reply(context, OkStatus());
}

grpc::ServerUnaryReactor* AdminService::GetLoad(grpc::CallbackServerContext* context,
                                                const v1::GetLoadRequest*, v1::Load* response) {
  if (!serving_.accepting) return Reply(context, serving_.NotReadyStatus());
  const EngineStats stats = serving_.engine->stats();
  response->set_running(static_cast<uint32_t>(stats.num_running));
  response->set_waiting(static_cast<uint32_t>(stats.num_waiting));
  response->set_kv_cache_usage(stats.kv_usage);
  response->set_finished(static_cast<uint64_t>(stats.num_finished));
  return Reply(context, OkStatus());
}

grpc::ServerUnaryReactor* AdminService::Abort(grpc::CallbackServerContext* context,
                                              const v1::AbortRequest* request, v1::AbortResponse*) {
  if (!serving_.accepting) return Reply(context, serving_.NotReadyStatus());
  if (!serving_.engine->IsInFlight(request->request_id())) {
    return Reply(context, NotFoundError("no request '" + request->request_id() + "' in flight"));
  }
  serving_.engine->Abort(request->request_id(), FinishReason::kAbort);
  return Reply(context, OkStatus());
}

}  // namespace specd
