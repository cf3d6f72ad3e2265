// kFreedBlock: the block table entry of a block that KvCacheManager::FreeOutsideWindow returned to
// the pool (sliding-window models). Runners accept it only where attention never reads: wholly
// before the first key any of the step's queries sees. Header-only, shared by engine/kv and
// engine/runner.
#pragma once

#include <cstdint>

namespace specd {

constexpr int32_t kFreedBlock = -1;

}  // namespace specd
