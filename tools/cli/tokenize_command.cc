// `specd-cli tokenize` (see tokenize_command.h).
#include "tools/cli/tokenize_command.h"

#include "tools/cli/grpc_status_conversion.h"

namespace specd::cli {

Status TokenizeCommand::Configure(const FlagParser& flags) {
  if (!flags.Has("text")) return InvalidArgumentError("--text is required");
  request_.set_text(flags.GetString("text", ""));
  return OkStatus();
}

Status TokenizeCommand::Run(ServerConnection& server, std::ostream& out) {
  grpc::ClientContext context;
  server.Prepare(context);
  v1::TokenizeResponse response;
  SPECD_RETURN_IF_ERROR(FromGrpcStatus(server.generation().Tokenize(&context, request_, &response)));
  for (int i = 0; i < response.token_ids_size(); ++i) {
    out << (i == 0 ? "" : " ") << response.token_ids(i);
  }
  out << "\n";
  return OkStatus();
}

}  // namespace specd::cli
