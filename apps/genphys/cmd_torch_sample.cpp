// genphys sample --ckpt: the trained-network path (needs the LibTorch engine).
#include <iostream>

#include "cli.hpp"
#include "eval_cli.hpp"
#include "torch_cli.hpp"
#include "genphys/engine.hpp"
#include "genphys/io.hpp"
#include "sample_cli.hpp"

namespace genphys::cli {

int run_network_sample(const SampleCliOptions& o) {
  if (o.ckpt.empty()) throw InputError("--ckpt RUN_DIR (or its last.ckpt) is required");
  prefer_passive_openmp();
  if (o.grid.empty() && o.out.empty()) throw InputError("nothing to write: give --grid F.png and/or --out F.pt|.bin|.csv");
  // Refuse bad output paths before the (long) integration.
  // Both outputs or neither: checked before the (long) integration, written together at the end.
  OutputSet outputs;
  if (!o.grid.empty()) {
    check_png_path(o.grid, "--grid");
    outputs.add(o.grid);
  }
  if (!o.out.empty()) {
    const auto dot = o.out.rfind('.');
    const std::string ext = dot == std::string::npos ? "" : o.out.substr(dot);
    if (ext != ".pt" && ext != ".bin" && ext != ".csv")
      throw InputError("--out " + o.out + ": unknown format (use .pt, .bin or .csv)");
    outputs.add(o.out);
  }
  SampleOptions s;
  s.checkpoint = resolve_checkpoint(o.ckpt);
  s.solver = parse_solver(o.solver);
  s.stepping = parse_stepping(o.stepping);
  s.nfe = o.nfe;
  s.rtol = o.rtol;
  s.atol = o.atol;
  s.rho = o.stochastic.rho;
  s.churn = o.stochastic.churn;
  s.seeds = parse_seed_list(o.seeds);
  s.seed = o.seed;
  s.batch = o.batch;
  s.use_ema = !o.no_ema;
  s.sigma_min = o.sigma_min;
  s.sigma_max = o.sigma_max;
  s.device = o.device;
  s.threads = o.threads;
  if (!o.classes.empty()) s.classes = parse_class_list(o.classes);
  s.guidance = o.guidance;
  if (o.bf16) require_bfloat16_cpu();
  s.bfloat16 = o.bf16;
  s.messages = print_to_stderr;
  const SampleResult r = sample(s);
  if (process_rank() != 0) return 0;  // the ranks sampled together; rank 0 writes
  if (!o.grid.empty()) outputs.set_from_file(o.grid, [&](const std::string& path) { save_sample_grid(r, path); });
  if (!o.out.empty()) outputs.set_from_file(o.out, [&](const std::string& path) { save_samples(r, path); });
  outputs.commit();
  std::cout << "samples " << r.count << ", nfe " << r.nfe << ", shape";
  for (auto d : r.shape) std::cout << " " << d;
  if (!o.grid.empty()) std::cout << ", grid " << o.grid;
  if (!o.out.empty()) std::cout << ", out " << o.out;
  std::cout << "\n";
  return 0;
}

}  // namespace genphys::cli
