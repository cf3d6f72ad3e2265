#include "server/serve_command.h"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/base/flag_parser.h"
#include "engine/base/logging.h"
#include "server/specd_server.h"

namespace specd {
namespace {

constexpr char kDefaultConfig[] = "configs/serve_cpu.json";
// Containers and orchestrators choose the preset through the environment (deploy/Dockerfile).
constexpr char kConfigEnvironmentVariable[] = "SPECD_CONFIG";

// --config, else $SPECD_CONFIG, else the CPU preset when run from the repository root, else ""
// (built-in defaults).
std::string ConfigPath(const FlagParser& flags) {
  const std::string flag = flags.GetString("config", "");
  if (!flag.empty()) return flag;
  const char* environment = std::getenv(kConfigEnvironmentVariable);
  if (environment != nullptr && *environment != '\0') return environment;
  return std::filesystem::exists(kDefaultConfig) ? kDefaultConfig : "";
}

StatusOr<ServerConfig> ConfigFromFlags(const FlagParser& flags) {
  ServerConfig config;
  const std::string path = ConfigPath(flags);
  if (!path.empty()) {
    SPECD_ASSIGN_OR_RETURN(config, LoadServerConfig(path));
  }
  config.model = flags.GetString("model", config.model);
  config.listen = flags.GetString("listen", config.listen);
  config.log_level = flags.GetString("log-level", config.log_level);
  config.spec_config = flags.GetString("spec-config", config.spec_config);
  SPECD_ASSIGN_OR_RETURN(const int64_t metrics_port, flags.GetInt("metrics-port", config.metrics_port));
  if (metrics_port < -1 || metrics_port > 65535) return InvalidArgumentError("--metrics-port must be in [-1, 65535]");
  config.metrics_port = static_cast<int32_t>(metrics_port);
  SPECD_ASSIGN_OR_RETURN(config.drain_timeout_seconds, flags.GetDouble("drain-timeout-s", config.drain_timeout_seconds));
  if (config.drain_timeout_seconds <= 0) return InvalidArgumentError("--drain-timeout-s must be positive");
  if (!SetLogLevel(config.log_level)) return InvalidArgumentError("unknown log level '" + config.log_level + "'");
  return config;
}

Status WritePortFile(const std::string& path, int grpc_port, int metrics_port) {
  const std::string temporary = path + ".tmp";
  std::ofstream out(temporary);
  out << nlohmann::json{{"grpc_port", grpc_port}, {"metrics_port", metrics_port}}.dump() << "\n";
  out.close();
  std::error_code ec;
  if (!out || (std::filesystem::rename(temporary, path, ec), ec)) {
    return FailedPreconditionError(path + ": cannot write the port file");
  }
  return OkStatus();
}

// Blocks SIGTERM and SIGINT in this thread and every thread it starts later, so that
// WaitForSignal receives them synchronously.
sigset_t BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace

Status RunServeCommand(const std::vector<std::string>& args) {
  FlagParser flags({"config", "model", "listen", "metrics-port", "drain-timeout-s", "log-level",
                    "port-file", "spec-config"}, {});
  SPECD_RETURN_IF_ERROR(flags.Parse(args));
  SPECD_ASSIGN_OR_RETURN(const ServerConfig config, ConfigFromFlags(flags));
  const sigset_t signals = BlockShutdownSignals();
  SPECD_ASSIGN_OR_RETURN(auto server, SpecdServer::Start(config));
  if (flags.Has("port-file")) {
    SPECD_RETURN_IF_ERROR(WritePortFile(flags.GetString("port-file", ""), server->grpc_port(),
                                        server->metrics_port()));
  }
  int signal = 0;
  sigwait(&signals, &signal);
  GetLogger("server")->info("received {}, shutting down", signal == SIGTERM ? "SIGTERM" : "SIGINT");
  server->Shutdown();
  return OkStatus();
}

}  // namespace specd
