#include "bench/pairs/repository_path.h"

#include <filesystem>

namespace specd::bench {

std::string RepositoryPath(const std::string& relative) {
  if (std::filesystem::exists(relative)) return relative;
  return std::string(SPECD_SOURCE_DIR) + "/" + relative;
}

}  // namespace specd::bench
