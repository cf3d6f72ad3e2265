#include "engine/model/model_weights.h"

#include <set>

#include "engine/base/logging.h"

namespace specd {
namespace {

std::string LayerPrefix(int64_t layer) { return "model.layers." + std::to_string(layer) + "."; }

void AppendLayerWeights(const ModelConfig& config, int64_t layer, std::vector<WeightSpec>& specs) {
  const LayerWeightNames names = LayerNames(layer);
  const int64_t hidden = config.hidden_size;
  const int64_t inter = config.intermediate_size;
  specs.push_back({names.input_norm, {hidden}});
  specs.push_back({names.q_proj, {config.q_size(), hidden}});
  specs.push_back({names.k_proj, {config.kv_size(), hidden}});
  specs.push_back({names.v_proj, {config.kv_size(), hidden}});
  if (config.qkv_bias) {
    specs.push_back({names.q_bias, {config.q_size()}});
    specs.push_back({names.k_bias, {config.kv_size()}});
    specs.push_back({names.v_bias, {config.kv_size()}});
  }
  specs.push_back({names.o_proj, {hidden, config.q_size()}});
  if (config.o_proj_bias) specs.push_back({names.o_bias, {hidden}});
  specs.push_back({names.post_attention_norm, {hidden}});
  specs.push_back({names.gate_proj, {inter, hidden}});
  specs.push_back({names.up_proj, {inter, hidden}});
  specs.push_back({names.down_proj, {hidden, inter}});
  if (config.mlp_bias) {
    specs.push_back({names.gate_bias, {inter}});
    specs.push_back({names.up_bias, {inter}});
    specs.push_back({names.down_bias, {hidden}});
  }
}

// Tensors some checkpoints carry that specd recomputes or never needs.
bool IsIgnorable(const std::string& name) {
  return name.find("rotary_emb.inv_freq") != std::string::npos || name == kLmHeadName;
}

}  // namespace

LayerWeightNames LayerNames(int64_t layer) {
  const std::string p = LayerPrefix(layer);
  return LayerWeightNames{
      .input_norm = p + "input_layernorm.weight",
      .q_proj = p + "self_attn.q_proj.weight",
      .k_proj = p + "self_attn.k_proj.weight",
      .v_proj = p + "self_attn.v_proj.weight",
      .o_proj = p + "self_attn.o_proj.weight",
      .q_bias = p + "self_attn.q_proj.bias",
      .k_bias = p + "self_attn.k_proj.bias",
      .v_bias = p + "self_attn.v_proj.bias",
      .o_bias = p + "self_attn.o_proj.bias",
      .post_attention_norm = p + "post_attention_layernorm.weight",
      .gate_proj = p + "mlp.gate_proj.weight",
      .up_proj = p + "mlp.up_proj.weight",
      .down_proj = p + "mlp.down_proj.weight",
      .gate_bias = p + "mlp.gate_proj.bias",
      .up_bias = p + "mlp.up_proj.bias",
      .down_bias = p + "mlp.down_proj.bias",
  };
}

std::vector<WeightSpec> ExpectedWeights(const ModelConfig& config) {
  std::vector<WeightSpec> specs;
  specs.push_back({kEmbeddingName, {config.vocab_size, config.hidden_size}});
  for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    AppendLayerWeights(config, layer, specs);
  }
  specs.push_back({kFinalNormName, {config.hidden_size}});
  if (!config.tie_word_embeddings) {
    specs.push_back({kLmHeadName, {config.vocab_size, config.hidden_size}});
  }
  return specs;
}

StatusOr<std::unique_ptr<ModelWeights>> ModelWeights::Load(const std::string& model_dir,
                                                           const ModelConfig& config) {
  SPECD_ASSIGN_OR_RETURN(auto store, WeightStore::Open(model_dir));
  std::unique_ptr<ModelWeights> weights(new ModelWeights(std::move(store)));
  std::set<std::string> expected;
  for (const WeightSpec& spec : ExpectedWeights(config)) {
    SPECD_RETURN_IF_ERROR(weights->CheckTensor(spec));
    expected.insert(spec.name);
  }
  std::vector<std::string> unused;
  for (const auto& name : weights->store_->TensorNames()) {
    if (expected.count(name) == 0 && !IsIgnorable(name)) unused.push_back(name);
  }
  if (!unused.empty()) {
    GetLogger("model")->warn("{}: ignoring {} tensor(s) the config does not use, such as '{}'",
                             weights->store_->source(), unused.size(), unused.front());
  }
  return weights;
}

Status ModelWeights::CheckTensor(const WeightSpec& spec) const {
  const TensorView* tensor = store_->Find(spec.name);
  const std::string& source = store_->source();
  if (tensor == nullptr) return NotFoundError(source + ": missing tensor '" + spec.name + "'");
  if (tensor->shape != spec.shape) {
    return InvalidArgumentError(source + ": tensor '" + spec.name + "' has shape " +
                                ShapeToString(tensor->shape) + " but the config needs " +
                                ShapeToString(spec.shape));
  }
  if (!IsWeightDType(tensor->dtype)) {
    return UnimplementedError(source + ": tensor '" + spec.name + "' has dtype " +
                              std::string(DTypeName(tensor->dtype)) +
                              " (supported: BF16, F16, F32)");
  }
  return OkStatus();
}

const TensorView& ModelWeights::Get(const std::string& name) const {
  const TensorView* tensor = store_->Find(name);
  SPECD_CHECK(tensor != nullptr) << "weight '" << name << "' was not checked at load";
  return *tensor;
}

}  // namespace specd
