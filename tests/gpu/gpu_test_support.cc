#include "tests/gpu/gpu_test_support.h"

#include <cmath>


namespace specd::testing {

double RelativeError(const std::vector<double>& exact, const std::vector<float>& got) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < exact.size(); ++i) {
    diff += (got[i] - exact[i]) * (got[i] - exact[i]);
    norm += exact[i] * exact[i];
  }
  return std::sqrt(diff / norm);
}

void RequireAllFinite(const std::vector<float>& got) {
  size_t non_finite = 0;
  for (float value : got) non_finite += std::isfinite(value) ? 0 : 1;
  REQUIRE(non_finite == 0);
}

void CheckErrorNearReference(const std::vector<double>& exact, const std::vector<float>& same_precision,
                             const std::vector<float>& got) {
  const double kernel_error = RelativeError(exact, got);
  const double reference_error = RelativeError(exact, same_precision);
  CAPTURE(kernel_error, reference_error);
  CHECK(kernel_error <= 2.0 * reference_error + 1e-6);
}

}  // namespace specd::testing
