// A process-wide switch for programmatic dependent launch (pdl.cuh), on by default. Off, every
// LaunchWithPdl is an ordinary launch (each kernel waits for the previous one to finish; the
// kernels' griddepcontrol instructions then return at once), with the same results bit for bit.
// For benchmarks (specd-bench's tiny_gemm_pdl pair); set it before a CUDA runner captures its
// graphs: a graph keeps the launches it captured. Any thread; read at every launch.
#pragma once

namespace specd::kernels {

void SetProgrammaticDependentLaunch(bool enabled);
bool ProgrammaticDependentLaunchEnabled();

}  // namespace specd::kernels
