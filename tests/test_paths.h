// Where tests find committed data and scratch space.
#pragma once

#include <string>

namespace specd::testing {

// The repository root (models/ lives there).
std::string SourceDir();
// tests/data in the source tree.
std::string TestDataDir();
// A fresh, empty directory under the build tree, unique per call; removed by nobody (the build
// tree is disposable).
std::string MakeScratchDir(const std::string& name);

}  // namespace specd::testing
