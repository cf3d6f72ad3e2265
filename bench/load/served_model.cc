// Asking the server about its model, and tokenizing prompt files (see served_model.h).
#include "bench/load/served_model.h"

#include <chrono>

#include "tools/cli/grpc_status_conversion.h"

namespace specd::bench {
namespace {

void SetWait(grpc::ClientContext& context, double wait_s) {
  context.set_wait_for_ready(true);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(wait_s)));
}

StatusOr<std::vector<int32_t>> Tokenize(cli::ServerConnection& server, const std::string& text, bool special_tokens) {
  grpc::ClientContext context;
  server.Prepare(context);
  v1::TokenizeRequest request;
  request.set_text(text);
  request.set_add_special_tokens(special_tokens);
  v1::TokenizeResponse response;
  SPECD_RETURN_IF_ERROR(cli::FromGrpcStatus(server.generation().Tokenize(&context, request, &response)));
  return std::vector<int32_t>(response.token_ids().begin(), response.token_ids().end());
}

StatusOr<PromptSource> TokenizeDocuments(const std::vector<std::string>& documents, cli::ServerConnection& server) {
  std::vector<std::vector<int32_t>> tokenized;
  for (const std::string& document : documents) {
    SPECD_ASSIGN_OR_RETURN(std::vector<int32_t> ids, Tokenize(server, document, /*special_tokens=*/false));
    tokenized.push_back(std::move(ids));
  }
  SPECD_ASSIGN_OR_RETURN(std::vector<int32_t> prefix, Tokenize(server, "", /*special_tokens=*/true));
  return PromptSource::Corpus(std::move(prefix), tokenized);
}

}  // namespace

nlohmann::json ServedModel::ToJson() const {
  return {{"model_path", model_path}, {"draft_model_path", draft_model_path}, {"runner", runner},
          {"context_length", context_length}, {"vocab_size", vocab_size}, {"server_version", server_version},
          {"server_config", server_config}};
}

StatusOr<ServedModel> DescribeServedModel(cli::ServerConnection& server, double wait_s) {
  grpc::ClientContext model_context;
  SetWait(model_context, wait_s);
  v1::ModelInfo info;
  const Status answered = cli::FromGrpcStatus(server.admin().GetModelInfo(&model_context, {}, &info));
  if (!answered.ok()) return answered.WithContext("Admin.GetModelInfo on " + server.address());
  ServedModel model;
  model.model_path = info.model_path();
  model.draft_model_path = info.draft_model_path();
  model.runner = info.runner();
  model.context_length = info.context_length();
  model.vocab_size = static_cast<int32_t>(info.vocab_size());
  model.eos_token_ids.assign(info.eos_token_ids().begin(), info.eos_token_ids().end());
  grpc::ClientContext server_context;
  SetWait(server_context, wait_s);
  v1::ServerInfo server_info;
  SPECD_RETURN_IF_ERROR(cli::FromGrpcStatus(server.admin().GetServerInfo(&server_context, {}, &server_info)));
  model.server_version = server_info.version();
  model.server_config = nlohmann::json::parse(server_info.effective_config_json(), nullptr, /*allow_exceptions=*/false);
  return model;
}

Status CheckFitsContext(const WorkloadSpec& workload, const ServedModel& model) {
  const int64_t longest = workload.prompt.tokens.max() + workload.output.tokens.max();
  if (longest <= model.context_length) return OkStatus();
  return InvalidArgumentError("workload '" + workload.name + "': prompts of up to " +
                              std::to_string(workload.prompt.tokens.max()) + " tokens plus outputs of up to " +
                              std::to_string(workload.output.tokens.max()) + " exceed the context of " +
                              std::to_string(model.context_length) + " tokens of the served model " + model.model_path);
}

StatusOr<PromptSource> MakePromptSource(const PromptSpec& prompt, const std::vector<std::string>& documents,
                                        const ServedModel& model, cli::ServerConnection& server) {
  if (prompt.source == PromptSpec::Source::kTextFile) return TokenizeDocuments(documents, server);
  if (model.vocab_size <= static_cast<int32_t>(model.eos_token_ids.size())) {
    return FailedPreconditionError("the served model's vocabulary (" + std::to_string(model.vocab_size) +
                                   " tokens) has no token to draw random prompts from");
  }
  return PromptSource::RandomTokens(model.vocab_size, model.eos_token_ids);
}

}  // namespace specd::bench
