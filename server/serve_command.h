// `specd serve`: loads a config preset, applies command-line overrides, runs SpecdServer until
// SIGTERM or SIGINT, drains, exits 0.
#pragma once

#include <string>
#include <vector>

#include "engine/base/status.h"

namespace specd {

Status RunServeCommand(const std::vector<std::string>& args);

inline constexpr char kServeUsage[] =
    "usage: specd serve [--config FILE] [--model DIR] [--listen HOST:PORT] [--metrics-port N]\n"
    "                   [--drain-timeout-s X] [--log-level LEVEL] [--port-file FILE]\n"
    "                   [--spec-config spec_configs/NAME.json]\n"
    "  --config defaults to $SPECD_CONFIG when set, else configs/serve_cpu.json when it exists,\n"
    "  else built-in defaults; the other flags override the config's values;\n"
    "  --port-file: once ready, write {\"grpc_port\": N, \"metrics_port\": M} there.\n";

}  // namespace specd
