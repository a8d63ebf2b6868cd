// Process set-up for the LibTorch commands.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "genphys/engine.hpp"
#include "genphys/errors.hpp"
#include "torch_cli.hpp"

namespace genphys::cli {

void prefer_passive_openmp() {
  if (std::getenv("OMP_WAIT_POLICY")) return;
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (std::size_t start = 0; start < cmdline.size();) {
    const std::size_t end = cmdline.find('\0', start);
    args.push_back(cmdline.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (args.empty()) return;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv.data());
  // exec failed: carry on with the policy already loaded.
}

void require_bfloat16_cpu() {
  if (!cpu_has_bfloat16())
    throw InputError("--bf16: this CPU has no bfloat16 instructions (avx512_bf16 or amx_bf16); emulated, the network "
                     "would run slower than in float32");
}

}  // namespace genphys::cli
