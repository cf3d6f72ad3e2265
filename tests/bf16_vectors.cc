#include "tests/bf16_vectors.h"

#include "engine/model/dtype.h"

namespace specd::testing {

std::vector<uint16_t> RandomBF16(size_t count, std::mt19937& rng, float mean, float stddev) {
  std::normal_distribution<float> normal(mean, stddev);
  std::vector<uint16_t> values(count);
  for (auto& value : values) value = FloatToBF16(normal(rng));
  return values;
}

std::vector<float> BF16ToFloats(const std::vector<uint16_t>& bits) {
  std::vector<float> values(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) values[i] = BF16ToFloat(bits[i]);
  return values;
}

}  // namespace specd::testing
