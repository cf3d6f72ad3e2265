// The attention modifier a model's config.json asks for (kernels/attention_modifier.h), shared by
// the CPU and CUDA runners: Mistral's sliding_window becomes the sliding-window modifier, every
// other supported model is plain causal. Stateless.
#pragma once

#include "engine/model/model_config.h"
#include "kernels/attention_modifier.h"

namespace specd {

kernels::AttentionModifier ModelAttentionModifier(const ModelConfig& config);

}  // namespace specd
