#include "engine/base/logging.h"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace specd {
namespace {

std::mutex& LoggerMutex() {
  static std::mutex mutex;
  return mutex;
}

spdlog::level::level_enum& DefaultLevel() {
  static spdlog::level::level_enum level = spdlog::level::info;
  return level;
}

}  // namespace

std::shared_ptr<spdlog::logger> GetLogger(const std::string& module) {
  std::lock_guard<std::mutex> lock(LoggerMutex());
  if (auto existing = spdlog::get(module)) return existing;
  auto logger = spdlog::stderr_color_mt(module);
  logger->set_level(DefaultLevel());
  return logger;
}

bool SetLogLevel(const std::string& level_name) {
  const auto level = spdlog::level::from_str(level_name);
  if (level == spdlog::level::off && level_name != "off") return false;
  std::lock_guard<std::mutex> lock(LoggerMutex());
  DefaultLevel() = level;
  spdlog::set_level(level);
  return true;
}

}  // namespace specd
