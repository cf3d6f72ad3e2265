// The SM count of a device, asked once per device and cached (the persistent kernels' grids, the
// split-KV plan). Thread-safe.
#pragma once

namespace specd::kernels {

// The SM count of `device`, or 0 when the runtime cannot tell (the error is cleared: not sticky).
int MultiprocessorCount(int device);

// The same for the calling thread's current device.
int CurrentMultiprocessorCount();

}  // namespace specd::kernels
