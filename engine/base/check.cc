#include "engine/base/check.h"

#include <cstdlib>

#include <spdlog/spdlog.h>

namespace specd::internal {

CheckFailure::CheckFailure(const char* file, int line, const char* condition)
    : file_(file), line_(line), condition_(condition) {}

CheckFailure::~CheckFailure() {
  spdlog::critical("CHECK failed at {}:{}: {} {}", file_, line_, condition_, detail_.str());
  spdlog::default_logger()->flush();
  std::abort();
}

}  // namespace specd::internal
