// What the load generator learns from the server before a run (Admin.GetModelInfo and
// GetServerInfo), and the prompt source it builds with the server's tokenizer (Tokenize).
// Called on the load command's thread, before any request is sent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/load/prompt_source.h"
#include "bench/load/workload_spec.h"
#include "tools/cli/server_connection.h"

namespace specd::bench {

struct ServedModel {
  std::string model_path;
  std::string draft_model_path;
  std::string runner;
  int64_t context_length = 0;
  int32_t vocab_size = 0;
  std::vector<int32_t> eos_token_ids;
  std::string server_version;
  nlohmann::json server_config;  // the server's effective config (spec_config included)

  // For reports: everything above.
  nlohmann::json ToJson() const;
};

// Waits up to `wait_s` seconds for the server to answer (it may still be starting).
StatusOr<ServedModel> DescribeServedModel(cli::ServerConnection& server, double wait_s);

// INVALID_ARGUMENT when the workload's longest prompt plus longest output exceeds the model's
// context (every such request would be refused), naming the lengths and the model.
Status CheckFitsContext(const WorkloadSpec& workload, const ServedModel& model);

// Random tokens from the model's vocabulary, or the text_file source's `documents` tokenized by
// the server (no special tokens), after the tokenizer's own prefix (the special tokens it adds
// to an empty text, e.g. <bos>).
StatusOr<PromptSource> MakePromptSource(const PromptSpec& prompt, const std::vector<std::string>& documents,
                                        const ServedModel& model, cli::ServerConnection& server);

}  // namespace specd::bench
