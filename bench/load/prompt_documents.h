// The documents of a prompt text file (the "text_file" prompt source): the file's text split at
// lines equal to a separator ("%%" by default, as in fortune files). Documents that are empty or
// only whitespace are dropped; each document keeps its own line breaks, the separator lines go.
// Pure functions; any thread.
#pragma once

#include <string>
#include <vector>

#include "engine/base/status.h"

namespace specd::bench {

std::vector<std::string> SplitDocuments(const std::string& text, const std::string& separator);

// FAILED_PRECONDITION when the file cannot be read, INVALID_ARGUMENT when it has no document.
StatusOr<std::vector<std::string>> ReadDocuments(const std::string& path, const std::string& separator);

}  // namespace specd::bench
