#include "bench/harness/benchmark_pair.h"

namespace specd::bench {

const char* VariantName(Variant variant) { return variant == Variant::kBaseline ? "baseline" : "optimized"; }

}  // namespace specd::bench
