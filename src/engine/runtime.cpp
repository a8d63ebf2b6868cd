#include "engine/runtime.hpp"

#include <malloc.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "genphys/engine.hpp"
#include "genphys/errors.hpp"

// Present when OpenBLAS is loaded (torch's BLAS or a dependency); weak so that other BLAS work.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" char* openblas_get_config(void) __attribute__((weak));

namespace genphys {

namespace engine {

int physical_cores() {
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, physical = "0";
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "physical id") physical = value;
    if (key == "core id") cores.insert({physical, value});
  }
  const int hw = int(std::thread::hardware_concurrency());
  if (cores.empty()) return std::max(1, hw);
  return std::max(1, std::min<int>(int(cores.size()), hw > 0 ? hw : int(cores.size())));
}

torch::Device setup_runtime(const std::string& device_name, int threads) {
  // Big tensors are freed and re-allocated every step; without this glibc returns them to the
  // kernel each time and the page faults cost as much as the convolutions.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // 32 MB is the highest threshold glibc takes, and larger buffers (B = 256: 51 MB activations)
  // would still be mapped and unmapped on every use: the heap serves every size instead
  // (forward at B = 256: 0.61-0.64 against 0.77-0.94 s; 133k against 550k page faults over 5
  // passes and start-up).
  mallopt(M_MMAP_MAX, 0);
  // torch parallelises above BLAS; a threaded OpenBLAS underneath oversubscribes the cores.
  if (openblas_set_num_threads) openblas_set_num_threads(1);
  if (threads < 0) throw OptionError("threads", "must be >= 0 (0: physical cores)");
  // Far more threads than cores only spin (100000 never finished starting up).
  const int most = 4 * std::max(1, int(std::thread::hardware_concurrency()));
  if (threads > most)
    throw OptionError("threads", fmt::format("must be <= {} (4x this machine's {} hardware threads), got {}", most,
                                             most / 4, threads));
  const int n = threads > 0 ? threads : physical_cores();
  torch::set_num_threads(n);
  // Denormals appear in heavy-tailed batches (PFGM's D = 1) and cost ~100x per operation.
  at::globalContext().setFlushDenormal(true);
  std::optional<torch::Device> device;
  try {
    device.emplace(device_name);
  } catch (const std::exception&) {
    throw OptionError("device", "'" + device_name + "' is unknown (valid: cpu, cuda, cuda:K)");
  }
  if (device->is_cuda()) {
    if (!torch::cuda::is_available())
      throw OptionError("device", device_name + ": CUDA is not available (this LibTorch build or machine has no GPU)");
    if (device->has_index() && device->index() >= int(torch::cuda::device_count()))
      throw OptionError("device", device_name + ": only " + std::to_string(torch::cuda::device_count()) +
                       " CUDA device(s)");
  } else if (!device->is_cpu()) {
    throw OptionError("device", "'" + device_name + "' is not supported (valid: cpu, cuda, cuda:K)");
  }
  return *device;
}

}  // namespace engine

bool cpu_has_bfloat16() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;  // the first CPU's flags stand for all
    std::istringstream words(line.substr(line.find(':') + 1));
    std::string w;
    while (words >> w)
      if (w == "avx512_bf16" || w == "amx_bf16") return true;
    return false;
  }
  return false;
}

std::string engine_description(const std::string& device, int threads) {
  std::string blas = "BLAS unknown";
  if (openblas_get_config) {
    // "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...": name and version only.
    const std::string cfg = openblas_get_config();
    const auto second_space = cfg.find(' ', cfg.find(' ') + 1);
    blas = cfg.substr(0, second_space) + " (1 thread)";
  }
  std::string line = "genphys engine: LibTorch " + std::string(TORCH_VERSION) + ", device " + device + ", " +
                     std::to_string(threads) + " thread" + (threads == 1 ? "" : "s") + ", " + blas;
  line += at::hasMKLDNN() ? ", oneDNN" : "";
  return line;
}

namespace engine {

double available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  double kib = 0;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024.0;
  return double(sysconf(_SC_AVPHYS_PAGES)) * double(sysconf(_SC_PAGESIZE));
}

void check_memory(double bytes, const std::string& field, const std::string& what) {
  const double available = available_memory_bytes();
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  if (!(bytes <= 0.9 * available))
    throw OptionError(field, fmt::format("needs about {:.3g} GiB for {}; {:.3g} GiB is available", bytes / kGiB, what,
                                         available / kGiB));
}

}  // namespace engine
}  // namespace genphys
