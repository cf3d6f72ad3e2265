// `specd-cli generate` (see generate_command.h).
#include "tools/cli/generate_command.h"

#include <cstdint>
#include <limits>

#include "tools/cli/generation_summary.h"
#include "tools/cli/grpc_status_conversion.h"

namespace specd::cli {

std::set<std::string> GenerateCommand::ValueFlags() const {
  return {"prompt", "max-tokens", "temperature", "seed", "stop"};
}

Status GenerateCommand::Configure(const FlagParser& flags) {
  if (!flags.Has("prompt")) return InvalidArgumentError("--prompt is required");
  request_.set_text(flags.GetString("prompt", ""));
  json_ = flags.GetSwitch("json");
  SPECD_RETURN_IF_ERROR(ConfigureSampling(flags));
  return ConfigureStopping(flags);
}

Status GenerateCommand::ConfigureSampling(const FlagParser& flags) {
  if (flags.Has("temperature")) {
    SPECD_ASSIGN_OR_RETURN(const double temperature, flags.GetDouble("temperature", 1.0));
    request_.mutable_sampling()->set_temperature(static_cast<float>(temperature));
  }
  if (flags.Has("seed")) {
    SPECD_ASSIGN_OR_RETURN(const int64_t seed, flags.GetInt("seed", 0));
    if (seed < 0) return InvalidArgumentError("--seed must be >= 0, got " + std::to_string(seed));
    request_.mutable_sampling()->set_seed(static_cast<uint64_t>(seed));
  }
  return OkStatus();
}

Status GenerateCommand::ConfigureStopping(const FlagParser& flags) {
  if (flags.Has("max-tokens")) {
    SPECD_ASSIGN_OR_RETURN(const int64_t max_tokens, flags.GetInt("max-tokens", 0));
    if (max_tokens < 0 || max_tokens > std::numeric_limits<uint32_t>::max()) {
      return InvalidArgumentError("--max-tokens must be in [0, 2^32), got " + std::to_string(max_tokens));
    }
    request_.mutable_stopping()->set_max_tokens(static_cast<uint32_t>(max_tokens));
  }
  if (flags.Has("stop")) request_.mutable_stopping()->add_stop(flags.GetString("stop", ""));
  return OkStatus();
}

Status GenerateCommand::Run(ServerConnection& server, std::ostream& out) {
  grpc::ClientContext context;
  server.Prepare(context);
  auto reader = server.generation().Generate(&context, request_);
  GenerationSummary summary;
  v1::GenerateResponse response;
  while (reader->Read(&response)) {
    summary.Add(response);
    if (!json_ && response.has_delta()) out << response.delta().text() << std::flush;
  }
  const Status status = FromGrpcStatus(reader->Finish());
  if (!json_ && !summary.text().empty()) out << "\n";
  if (!status.ok()) return status;
  if (!summary.finished()) return InternalError("the stream ended without a finish message");
  if (json_) out << summary.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return OkStatus();
}

}  // namespace specd::cli
