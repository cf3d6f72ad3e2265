// `specd-cli health` (see health_command.h).
#include "tools/cli/health_command.h"

#include "tools/cli/grpc_status_conversion.h"

namespace specd::cli {

using grpc::health::v1::HealthCheckResponse;

Status HealthCommand::Configure(const FlagParser& flags) {
  request_.set_service(flags.GetString("service", ""));
  return OkStatus();
}

Status HealthCommand::Run(ServerConnection& server, std::ostream& out) {
  grpc::ClientContext context;
  server.Prepare(context);
  HealthCheckResponse response;
  SPECD_RETURN_IF_ERROR(FromGrpcStatus(server.health().Check(&context, request_, &response)));
  const std::string name = HealthCheckResponse::ServingStatus_Name(response.status());
  out << name << "\n";
  if (response.status() == HealthCheckResponse::SERVING) return OkStatus();
  return UnavailableError("service '" + request_.service() + "' is " + name);
}

}  // namespace specd::cli
