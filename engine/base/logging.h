// One spdlog logger per module ("model", "tokenizer", "runner", ...), all writing to stderr so
// that a program's stdout carries only its output (generated text, JSON).
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace specd {

// The module's logger, created on first use. Thread-safe.
std::shared_ptr<spdlog::logger> GetLogger(const std::string& module);

// Sets the level of every logger, present and future ("trace" ... "off"). Returns false for an
// unknown level name.
bool SetLogLevel(const std::string& level_name);

}  // namespace specd
