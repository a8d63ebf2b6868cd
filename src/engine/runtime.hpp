#pragma once
// Process-wide set-up for long jobs: threads, BLAS, allocator, device. Internal to the engine.

#include <torch/torch.h>

#include <string>

namespace genphys::engine {

/// Physical cores (unique core ids in /proc/cpuinfo), or the hardware concurrency.
int physical_cores();

/// Sets torch's intra-op threads (0: physical cores), pins OpenBLAS to one thread, raises glibc's
/// mmap/trim thresholds, parses and checks the device (InputError for cuda without CUDA), and
/// unless `quiet` prints the start-up line on stderr. Returns the device.
torch::Device setup_runtime(const std::string& device, int threads);

}  // namespace genphys::engine
