#include "tests/test_paths.h"

#include <atomic>
#include <filesystem>

#include <unistd.h>

namespace specd::testing {

std::string SourceDir() { return SPECD_SOURCE_DIR; }

std::string TestDataDir() { return SPECD_TEST_DATA_DIR; }

std::string MakeScratchDir(const std::string& name) {
  static std::atomic<int> counter{0};
  const auto dir = std::filesystem::path(SPECD_BINARY_DIR) / "test_scratch" /
                   (name + "_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace specd::testing
