// ServerConfig: what `specd serve` runs, from a JSON preset (configs/*.json) plus command-line
// overrides. Unknown keys are refused with the key named.
//
// {
//   "model": "models/specd-code-target",  a Hugging Face folder; relative paths are resolved
//                                          against the directory `specd serve` runs in
//   "runner": "cpu",                       "cpu", or "cuda" (builds with CUDA)
//   "gpu_memory_utilization": 0.9,         cuda: fraction of GPU memory for weights, activations
//                                          and the KV cache (engine.kv_cache.num_blocks 0: all
//                                          that is left goes to KV blocks)
//   "batch_invariant": false,              cuda: each token's result independent of the batch
//                                          (greedy output the same alone or batched), slower
//   "cuda_graphs": true,                   cuda: replay captured CUDA graphs for decode and
//                                          verify steps (false: launch every kernel each step);
//                                          with a spec config, verify steps of chunk_size + 1
//                                          tokens a request get graphs of their exact size
//   "listen": "127.0.0.1:50051",           gRPC address; port 0 picks a free port
//   "metrics_port": 9400,                  Prometheus /metrics on the listen host; 0: a free
//                                          port; -1: no metrics endpoint
//   "drain_timeout_seconds": 30,           SIGTERM: how long running streams may finish
//   "log_level": "info",
//   "spec_config": "spec_configs/draft_and_verify.json",  speculative decoding preset; empty: off
//   "engine": { ... }                      EngineConfig (engine/core/engine_config.h)
// }
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/base/status.h"
#include "engine/core/engine_config.h"

namespace specd {

struct ServerConfig {
  std::string model = "models/specd-code-target";
  std::string runner = "cpu";
  double gpu_memory_utilization = 0.9;
  bool batch_invariant = false;
  bool cuda_graphs = true;
  std::string listen = "127.0.0.1:50051";
  int32_t metrics_port = 9400;
  double drain_timeout_seconds = 30.0;
  std::string log_level = "info";
  std::string spec_config;
  EngineConfig engine;

  // The config after defaults and overrides, as JSON (Admin.GetServerInfo).
  nlohmann::json ToJson() const;
};

StatusOr<ServerConfig> ParseServerConfig(const std::string& json_text, const std::string& source);
StatusOr<ServerConfig> LoadServerConfig(const std::string& path);

// The engine config as JSON, in the preset's own schema.
nlohmann::json EngineConfigToJson(const EngineConfig& config);

}  // namespace specd
