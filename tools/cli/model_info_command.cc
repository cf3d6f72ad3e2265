// `specd-cli model-info` (see model_info_command.h).
#include "tools/cli/model_info_command.h"

#include "tools/cli/grpc_status_conversion.h"

namespace specd::cli {

Status ModelInfoCommand::Run(ServerConnection& server, std::ostream& out) {
  grpc::ClientContext context;
  server.Prepare(context);
  v1::ModelInfo info;
  SPECD_RETURN_IF_ERROR(FromGrpcStatus(server.admin().GetModelInfo(&context, {}, &info)));
  out << "model_path: " << info.model_path() << "\n"
      << "architecture: " << info.architecture() << "\n"
      << "context_length: " << info.context_length() << "\n"
      << "vocab_size: " << info.vocab_size() << "\n"
      << "eos_token_ids:";
  for (const int32_t id : info.eos_token_ids()) out << " " << id;
  out << "\n"
      << "dtype: " << info.dtype() << "\n"
      << "runner: " << info.runner() << "\n"
      << "draft_model_path: " << info.draft_model_path() << "\n";
  return OkStatus();
}

}  // namespace specd::cli
