#include "engine/runner/model_attention_modifier.h"

#include <algorithm>
#include <climits>

namespace specd {

kernels::AttentionModifier ModelAttentionModifier(const ModelConfig& config) {
  kernels::AttentionModifier modifier;
  if (config.sliding_window.has_value()) {
    modifier.kind = kernels::AttentionModifierKind::kSlidingWindow;
    modifier.window = static_cast<int>(std::min<int64_t>(*config.sliding_window, INT_MAX));  // past any context
  }
  return modifier;
}

}  // namespace specd
