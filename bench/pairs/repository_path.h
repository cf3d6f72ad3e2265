// Where the pairs find the repository's files (models/, bench/shapes/, spec_configs/, tests/data/):
// relative to the current directory when there (the GPU machine runs specd-bench from a copy of
// the repository root), otherwise under the source tree this program was built from.
#pragma once

#include <string>

namespace specd::bench {

std::string RepositoryPath(const std::string& relative);

}  // namespace specd::bench
