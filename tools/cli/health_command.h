// HealthCommand: `specd-cli health [--service NAME]`: grpc.health.v1.Health/Check.
//
// Writes the serving status ("SERVING", "NOT_SERVING", ...). The default service "" is the
// server's liveness; "specd.v1.Generation" is its readiness. Anything but SERVING is an error
// (UNAVAILABLE), so scripts can use the exit code as a probe.
#pragma once

#include "tools/cli/cli_command.h"

namespace specd::cli {

class HealthCommand : public CliCommand {
 public:
  std::set<std::string> ValueFlags() const override { return {"service"}; }
  Status Configure(const FlagParser& flags) override;
  Status Run(ServerConnection& server, std::ostream& out) override;

 private:
  grpc::health::v1::HealthCheckRequest request_;
};

}  // namespace specd::cli
