// ServerConnection: channel, stubs and deadline (see server_connection.h).
#include "tools/cli/server_connection.h"

#include <chrono>
#include <cmath>

namespace specd::cli {

StatusOr<ConnectionOptions> ConnectionOptionsFromFlags(const FlagParser& flags, const std::string& address_flag) {
  ConnectionOptions options;
  options.address = flags.GetString(address_flag, kDefaultServer);
  if (options.address.empty()) return InvalidArgumentError("--" + address_flag + " must be HOST:PORT, got ''");
  if (flags.Has("timeout-s")) {
    SPECD_ASSIGN_OR_RETURN(const double seconds, flags.GetDouble("timeout-s", 0.0));
    if (!(seconds > 0.0) || !std::isfinite(seconds)) {
      return InvalidArgumentError("--timeout-s must be a positive number of seconds");
    }
    options.timeout_seconds = seconds;
  }
  return options;
}

ServerConnection::ServerConnection(ConnectionOptions options)
    : options_(std::move(options)),
      channel_(grpc::CreateChannel(options_.address, grpc::InsecureChannelCredentials())),
      generation_(v1::Generation::NewStub(channel_)),
      admin_(v1::Admin::NewStub(channel_)),
      health_(grpc::health::v1::Health::NewStub(channel_)) {}

void ServerConnection::Prepare(grpc::ClientContext& context) const {
  if (!options_.timeout_seconds) return;
  const auto timeout = std::chrono::duration<double>(*options_.timeout_seconds);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout));
}

}  // namespace specd::cli
