// genphys sample --ckpt: the trained-network path (needs the LibTorch engine).
#include <iostream>

#include "cli.hpp"
#include "torch_cli.hpp"
#include "genphys/engine.hpp"
#include "genphys/io.hpp"
#include "sample_cli.hpp"

namespace genphys::cli {

int run_network_sample(const SampleCliOptions& o) {
  if (o.ckpt.empty()) throw InputError("--ckpt RUN_DIR/last.ckpt is required");
  prefer_passive_openmp();
  if (o.grid.empty() && o.out.empty()) throw InputError("nothing to write: give --grid F.png and/or --out F.pt|.bin|.csv");
  // Refuse bad output paths before the (long) integration.
  if (!o.grid.empty()) check_writable(o.grid);
  if (!o.out.empty()) check_writable(o.out);
  SampleOptions s;
  s.checkpoint = o.ckpt;
  s.solver = parse_solver(o.solver);
  s.nfe = o.nfe;
  s.rtol = o.rtol;
  s.atol = o.atol;
  s.seeds = parse_seed_list(o.seeds);
  s.seed = o.seed;
  s.batch = o.batch;
  s.use_ema = !o.no_ema;
  s.sigma_min = o.sigma_min;
  s.sigma_max = o.sigma_max;
  s.device = o.device;
  s.threads = o.threads;
  s.messages = print_to_stderr;
  const SampleResult r = sample(s);
  if (!o.grid.empty()) save_sample_grid(r, o.grid);
  if (!o.out.empty()) save_samples(r, o.out);
  std::cout << "samples " << r.count << ", nfe " << r.nfe << ", shape";
  for (auto d : r.shape) std::cout << " " << d;
  if (!o.grid.empty()) std::cout << ", grid " << o.grid;
  if (!o.out.empty()) std::cout << ", out " << o.out;
  std::cout << "\n";
  return 0;
}

}  // namespace genphys::cli
