#include "kernels/pdl_switch.h"

#include <atomic>

namespace specd::kernels {
namespace {

std::atomic<bool> programmatic_dependent_launch{true};

}  // namespace

void SetProgrammaticDependentLaunch(bool enabled) { programmatic_dependent_launch.store(enabled); }

bool ProgrammaticDependentLaunchEnabled() { return programmatic_dependent_launch.load(std::memory_order_relaxed); }

}  // namespace specd::kernels
