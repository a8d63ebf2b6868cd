#pragma once
// Process-wide set-up for long jobs: threads, BLAS, allocator, device. Internal to the engine.

#include <torch/torch.h>

#include <string>

namespace genphys::engine {

/// Physical cores (unique core ids in /proc/cpuinfo), or the hardware concurrency.
int physical_cores();

/// Sets torch's intra-op threads (0: physical cores), pins OpenBLAS to one thread, raises glibc's
/// mmap/trim thresholds, flushes denormals, and parses and checks the device (OptionError for cuda
/// without CUDA). Returns the device; the start-up line is engine_description's.
torch::Device setup_runtime(const std::string& device, int threads);

/// Memory the system can give this process now (MemAvailable), in bytes.
double available_memory_bytes();

/// Refuses a job that would need more memory than available_memory_bytes(): OptionError naming
/// `field`, e.g. "batch": "= 100000000 needs about 95.4 GiB for activations; 21.3 GiB is available".
/// Called with an estimate before allocating, so the refusal is one line instead of an out-of-memory
/// kill or an allocator trace.
void check_memory(double bytes, const std::string& field, const std::string& what);

}  // namespace genphys::engine
