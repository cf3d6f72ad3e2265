#include "server/specd_server.h"

#include <cstdio>
#include <filesystem>
#include <random>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "engine/base/logging.h"
#include "engine/model/model_weights.h"
#include "engine/runner/runner_factory.h"
#ifdef SPECD_WITH_CUDA_RUNNER
#include "engine/runner/cuda/cuda_runner.h"
#endif
#include "engine/spec/draft_model_proposer.h"
#include "engine/spec/ngram_proposer.h"

namespace specd {
namespace {

constexpr int kOutputWorkers = 4;
constexpr auto kLivenessPeriod = std::chrono::milliseconds(500);
// The engine ticks at least every 500 ms while idle; this much silence means it is stuck.
constexpr auto kLivenessTimeout = std::chrono::seconds(10);
// After the drain, how long the last writes of finished streams may take.
constexpr auto kFinalRpcGrace = std::chrono::milliseconds(500);

// Bytes per weight and KV element: the CPU runner keeps fp32, the CUDA runner bf16.
double ElementBytes(const std::string& runner) { return runner == "cuda" ? 2.0 : 4.0; }

double WeightMegabytes(const ModelConfig& model, const std::string& runner) {
  double elements = 0;
  for (const WeightSpec& spec : ExpectedWeights(model)) elements += static_cast<double>(NumElements(spec.shape));
  return elements * ElementBytes(runner) / (1 << 20);
}

double KvCacheMegabytes(const ModelConfig& model, const KvCacheConfig& cache, const std::string& runner) {
  const double elements = 2.0 * static_cast<double>(model.num_hidden_layers) * cache.num_blocks * cache.block_size *
                          static_cast<double>(model.kv_size());
  return elements * ElementBytes(runner) / (1 << 20);
}

}  // namespace

SpecdServer::SpecdServer(const ServerConfig& config)
    : config_(config),
      started_(std::chrono::steady_clock::now()),
      metrics_(&metrics_registry_, [this] { return EngineSnapshot(); }),
      telemetry_(metrics_) {
  serving_.observer = &telemetry_;
  serving_.default_qos_class = config.engine.default_qos_class;
  char tag[17];
  std::snprintf(tag, sizeof(tag), "%016llx", static_cast<unsigned long long>(std::random_device{}()) << 32 |
                                              std::random_device{}());
  serving_.instance_tag = tag;
}

StatusOr<std::unique_ptr<SpecdServer>> SpecdServer::Start(const ServerConfig& config) {
  std::unique_ptr<SpecdServer> server(new SpecdServer(config));
  SPECD_RETURN_IF_ERROR(server->Listen());
  SPECD_RETURN_IF_ERROR(server->ServeMetrics());
  SPECD_RETURN_IF_ERROR(server->Load());
  return server;
}

Status SpecdServer::Listen() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  generation_service_ = std::make_unique<GenerationService>(serving_);
  admin_service_ = std::make_unique<AdminService>(
      serving_, ServerIdentity{SPECD_VERSION, config_.ToJson().dump(), config_.model, config_.runner, started_});
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config_.listen, grpc::InsecureServerCredentials(), &grpc_port_);
  builder.RegisterService(generation_service_.get());
  builder.RegisterService(admin_service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    return UnavailableError("cannot listen on " + config_.listen + " (address in use or invalid?)");
  }
  auto* health = server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(kReadinessService, false);
  liveness_thread_ = std::thread([this] { WatchLiveness(); });
  return OkStatus();
}

Status SpecdServer::ServeMetrics() {
  if (config_.metrics_port < 0) return OkStatus();
  const std::string host = config_.listen.substr(0, config_.listen.rfind(':'));
  metrics_http_ = std::make_unique<metrics::MetricsHttpServer>(&metrics_registry_, host, config_.metrics_port);
  return metrics_http_->Start();
}

// The runner the config names, over `model_dir`, with `num_blocks` KV blocks (0: from memory);
// on the GPU, verify steps of verify_step_tokens tokens get CUDA graphs of their exact size.
StatusOr<std::unique_ptr<ModelRunner>> SpecdServer::MakeRunner(const std::string& model_dir, int64_t num_blocks,
                                                               int64_t reserved_bytes_per_block,
                                                               const std::vector<int64_t>& verify_step_tokens) const {
  return specd::MakeRunner({.kind = config_.runner, .model_dir = model_dir,
                            .block_size = config_.engine.kv_cache.block_size, .num_blocks = num_blocks,
                            .reserved_bytes_per_block = reserved_bytes_per_block,
                            .gpu_memory_utilization = config_.gpu_memory_utilization,
                            .max_num_tokens = config_.engine.max_num_batched_tokens,
                            .batch_invariant = config_.batch_invariant, .cuda_graphs = config_.cuda_graphs,
                            .extra_graph_token_buckets = verify_step_tokens});
}

// A draft model on the GPU needs its share of every KV block the target's auto-sized cache has.
StatusOr<int64_t> SpecdServer::DraftKvBytesPerBlock() const {
  if (config_.spec_config.empty() || config_.runner != "cuda") return int64_t{0};
  SPECD_ASSIGN_OR_RETURN(const SpecConfig spec, LoadSpecConfig(config_.spec_config));
  if (spec.method != SpecMethod::kDraftModel) return int64_t{0};
  SPECD_ASSIGN_OR_RETURN(const ModelConfig draft, LoadModelConfig(spec.draft_model));
#ifdef SPECD_WITH_CUDA_RUNNER
  return CudaRunner::KvCacheBytesPerBlock(draft, config_.engine.kv_cache.block_size);
#else
  static_cast<void>(draft);
  return int64_t{0};  // MakeRunner refuses the cuda runner in this build
#endif
}

// The target's verify steps in which every request drafts the spec config's chunk_size tokens.
StatusOr<std::vector<int64_t>> SpecdServer::VerifyStepTokens() const {
  if (config_.spec_config.empty()) return std::vector<int64_t>{};
  SPECD_ASSIGN_OR_RETURN(const SpecConfig spec, LoadSpecConfig(config_.spec_config));
  return FullDraftStepTokens(spec);
}

// The proposer the spec config asks for, wired into the engine (before it starts).
Status SpecdServer::EnableSpeculation() {
  if (config_.spec_config.empty()) return OkStatus();
  SPECD_ASSIGN_OR_RETURN(const SpecConfig spec, LoadSpecConfig(config_.spec_config));
  std::unique_ptr<Proposer> proposer;
  if (spec.method == SpecMethod::kNgramLookup) {
    proposer = std::make_unique<NgramProposer>(spec.ngram_min, spec.ngram_max);
  } else if (spec.method == SpecMethod::kDraftModel) {
    SPECD_ASSIGN_OR_RETURN(proposer, LoadDraftProposer(spec));
  }
  if (proposer == nullptr) return OkStatus();  // "none"
  GetLogger("server")->info("speculative decoding: {} from {}, {} draft tokens per step (up to {}), "
                            "off above {} running requests",
                            spec.method == SpecMethod::kDraftModel ? "draft model " + spec.draft_model : "n-gram lookup",
                            config_.spec_config, spec.chunk_size, spec.max_spec_tokens, spec.max_batch_size);
  engine_->EnableSpeculation(std::make_unique<SpecDecoder>(spec, std::move(proposer), model_.max_position_embeddings));
  serving_.draft_model_path = spec.method == SpecMethod::kDraftModel ? spec.draft_model : "";
  return OkStatus();
}

StatusOr<std::unique_ptr<Proposer>> SpecdServer::LoadDraftProposer(const SpecConfig& spec) {
  std::error_code ec;
  if (!spec.verifier_model.empty() && !std::filesystem::equivalent(spec.verifier_model, config_.model, ec)) {
    return InvalidArgumentError(config_.spec_config + ": verifier_model " + spec.verifier_model +
                                " is not the served model " + config_.model);
  }
  SPECD_ASSIGN_OR_RETURN(const ModelConfig draft_config, LoadModelConfig(spec.draft_model));
  SPECD_ASSIGN_OR_RETURN(const auto draft_tokenizer, Tokenizer::FromFile(spec.draft_model + "/tokenizer.json"));
  SPECD_RETURN_IF_ERROR(CheckDraftMatchesTarget(spec.draft_model, draft_config, *draft_tokenizer,
                                                config_.model, model_, *tokenizer_));
  // The draft's KV cache has the target's shape: the same block ids index both.
  SPECD_ASSIGN_OR_RETURN(auto runner, MakeRunner(spec.draft_model, engine_config_.kv_cache.num_blocks));
  return std::unique_ptr<Proposer>(std::make_unique<DraftModelProposer>(std::move(runner), model_.eos_token_ids));
}

// Engine-derived metrics, read at scrape time (zeros while loading).
metrics::EngineStatsSnapshot SpecdServer::EngineSnapshot() const {
  if (!serving_.accepting) return {};
  const EngineStats stats = engine_->stats();
  return {.running = stats.num_running, .waiting = stats.num_waiting, .kv_usage = stats.kv_usage,
          .prefix_queried_tokens = stats.prefix_queried_tokens,
          .prefix_hit_tokens = stats.prefix_hit_tokens, .preemptions = stats.num_preemptions,
          .spec_drafts = stats.spec_verify_steps, .spec_draft_tokens = stats.spec_drafted_tokens,
          .spec_accepted_tokens = stats.spec_accepted_tokens};
}

Status SpecdServer::Load() {
  const auto logger = GetLogger("server");
  SPECD_ASSIGN_OR_RETURN(tokenizer_, Tokenizer::FromFile(config_.model + "/tokenizer.json"));
  SPECD_ASSIGN_OR_RETURN(model_, LoadModelConfig(config_.model));
  SPECD_ASSIGN_OR_RETURN(const int64_t draft_block_bytes, DraftKvBytesPerBlock());
  SPECD_ASSIGN_OR_RETURN(const std::vector<int64_t> verify_steps, VerifyStepTokens());
  SPECD_ASSIGN_OR_RETURN(auto runner,
                         MakeRunner(config_.model, config_.engine.kv_cache.num_blocks, draft_block_bytes, verify_steps));
  // The runner may have sized the KV cache itself (num_blocks 0 on the GPU).
  engine_config_ = config_.engine;
  engine_config_.kv_cache.num_blocks = static_cast<int32_t>(runner->kv_cache_shape().num_blocks);
  const KvCacheConfig& cache = engine_config_.kv_cache;
  engine_ = std::make_unique<EngineCore>(engine_config_, std::move(runner), model_);
  SPECD_RETURN_IF_ERROR(EnableSpeculation());
  engine_->Start();
  workers_ = std::make_unique<WorkerPool>(kOutputWorkers);
  serving_.engine = engine_.get();
  serving_.tokenizer = tokenizer_.get();
  serving_.model = &model_;
  serving_.workers = workers_.get();
  serving_.accepting = true;
  server_->GetHealthCheckService()->SetServingStatus(kReadinessService, true);
  logger->info("specd {} serving {} ({}, {} layers, hidden {}, vocab {}, context {}) on the {} runner, "
               "weights {:.1f} MiB", SPECD_VERSION, config_.model, ArchitectureName(model_.architecture),
               model_.num_hidden_layers, model_.hidden_size, model_.vocab_size,
               model_.max_position_embeddings, config_.runner, WeightMegabytes(model_, config_.runner));
  logger->info("KV cache: {} blocks of {} tokens ({:.1f} MiB), prefix caching {}; gRPC port {}, "
               "metrics port {}", cache.num_blocks, cache.block_size, KvCacheMegabytes(model_, cache, config_.runner),
               cache.enable_prefix_caching ? "on" : "off", grpc_port_, metrics_port());
  return OkStatus();
}

void SpecdServer::WatchLiveness() {
  while (!stopping_) {
    std::this_thread::sleep_for(kLivenessPeriod);
    if (!serving_.accepting || stopping_) continue;
    const bool alive = Clock::now() - engine_->stats().last_tick < kLivenessTimeout;
    server_->GetHealthCheckService()->SetServingStatus("", alive);
  }
}

void SpecdServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  const auto logger = GetLogger("server");
  serving_.draining = true;
  if (server_) server_->GetHealthCheckService()->SetServingStatus(kReadinessService, false);
  if (engine_) {
    logger->info("draining: {} requests in flight, up to {} s", engine_->num_unfinished(),
                 config_.drain_timeout_seconds);
    engine_->Drain(std::chrono::milliseconds(static_cast<int64_t>(config_.drain_timeout_seconds * 1000)));
  }
  stopping_ = true;
  if (liveness_thread_.joinable()) liveness_thread_.join();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + kFinalRpcGrace);
  if (engine_) engine_->Stop();
  if (metrics_http_) metrics_http_->Stop();
  logger->info("stopped");
}

SpecdServer::~SpecdServer() { Shutdown(); }

}  // namespace specd
